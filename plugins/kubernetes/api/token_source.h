// The bearer token for API requests: a static token and/or a token file that is re-read at most
// every `refresh` (projected service-account tokens rotate) and at once after a 401. Main loop
// thread only; a read is one small local file (the kubelet's tmpfs), done inline like client-go.
#pragma once

#include <chrono>
#include <string>

namespace petdns::plugins::kubernetes::api {

class TokenSource {
 public:
  using Clock = std::chrono::steady_clock;

  TokenSource(std::string static_token, std::string token_file,
              std::chrono::milliseconds refresh = std::chrono::seconds(60));

  // The token to send now ("" = none). Re-reads the file when it was never read, when `refresh`
  // passed since the last read, or after Invalidate(). A failed read keeps the last good token
  // (or the static one) and logs a warning.
  const std::string& Get(Clock::time_point now);
  // Forces a re-read at the next Get() (after a 401 Unauthorized).
  void Invalidate() noexcept { stale_ = true; }
  bool has_file() const noexcept { return !file_.empty(); }

 private:
  std::string token_;
  std::string file_;
  std::chrono::milliseconds refresh_;
  Clock::time_point last_read_{};
  bool stale_ = true;
  bool last_read_failed_ = false;
};

}  // namespace petdns::plugins::kubernetes::api
