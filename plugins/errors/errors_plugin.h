// The errors plugin: reports SERVFAIL replies (every internal failure ends in one) as
// "[ERROR] plugin/errors: 2 <name> <type>: ..." lines, at most `limit` per `interval`; the rest of
// an interval is counted and summed up in one "N more errors suppressed" line, like CoreDNS's
// `consolidate`. Observes queries on the worker loop; the interval timer runs on the main loop
// (the same loop while petdns runs one), so the counters sit behind a mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "server/chain/plugin.h"
#include "server/chain/query.h"
#include "server/chain/runtime.h"

namespace petdns::plugins::errors {

struct ErrorsOptions {
  uint32_t limit = 10;                       // lines per interval; 0: report nothing, only count
  std::chrono::milliseconds interval{1000};  // length of a rate-limit window
};

class ErrorsPlugin final : public chain::Plugin, public chain::ReplyObserver {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Output = std::function<void(std::string_view line)>;  // the message, without "[ERROR] …"

  // `clock` and `output` default to steady_clock and log::Error("plugin/errors", …).
  ErrorsPlugin(ErrorsOptions options, chain::Runtime* runtime, Clock clock = {},
               Output output = {});

  std::string_view Name() const noexcept override { return "errors"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept override;
  void OnStartup() override;

  // Ends the current window if it is over, writing the summary line (the timer calls this).
  void Tick() noexcept;
  uint64_t reported() const noexcept { return reported_; }
  uint64_t suppressed_total() const noexcept { return suppressed_total_; }

 private:
  void EndWindowIfOver(std::chrono::steady_clock::time_point now) noexcept;
  void Emit(std::string_view line) noexcept;

  ErrorsOptions options_;
  chain::Runtime* runtime_;
  Clock clock_;
  Output output_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
  uint64_t reported_ = 0;
  uint64_t suppressed_total_ = 0;
};

}  // namespace petdns::plugins::errors
