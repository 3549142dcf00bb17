// The log plugin: one CoreDNS-style line per answered query on stdout, for the response classes
// chosen in the config. It observes the query (q.Observe) and passes it on; the line is written
// when the reply goes out, deferred replies included. Runs on the worker loop; each line is
// formatted into a stack buffer and written with one write(2), so lines never interleave.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include "plugins/log/response_class.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"

namespace petdns::plugins::log {

class LogPlugin final : public chain::Plugin, public chain::ReplyObserver {
 public:
  // `classes`: a mask of ResponseClass bits. `fd`: where lines go (stdout; tests pass a pipe).
  explicit LogPlugin(uint8_t classes, int fd = STDOUT_FILENO) noexcept
      : classes_(classes), fd_(fd) {}

  std::string_view Name() const noexcept override { return "log"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept override;

  // Longest line written; longer ones (only with very long names) are cut.
  static constexpr size_t kMaxLine = 1536;
  // Formats the line for `q` answered by `message` `duration` after it arrived, newline included,
  // into `out`; returns its length.
  static size_t FormatLine(const chain::Query& q, std::span<const uint8_t> message,
                           std::chrono::nanoseconds duration, std::span<char> out) noexcept;

 private:
  uint8_t classes_;
  int fd_;
};

}  // namespace petdns::plugins::log
