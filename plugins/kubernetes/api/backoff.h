// Exponential backoff with jitter, as client-go's Reflector uses between list/watch attempts:
// delay d starts at `initial`, doubles per step up to `cap`; each wait is random in [d, 2d); after
// `reset_after` without a backoff the next one starts from `initial` again. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace petdns::plugins::kubernetes::api {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  double factor = 2.0;
  std::chrono::milliseconds cap{30'000};
  std::chrono::milliseconds reset_after{120'000};
  bool jitter = true;  // off: exactly d (tests)
};

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(BackoffPolicy policy, uint64_t seed = std::random_device{}());

  // The next wait, at time `now`.
  std::chrono::milliseconds Next(Clock::time_point now);
  // The un-jittered delay the next call would start from (for tests and logs).
  std::chrono::milliseconds current() const noexcept { return current_; }
  void Reset() noexcept { current_ = policy_.initial; }

 private:
  BackoffPolicy policy_;
  std::chrono::milliseconds current_;
  Clock::time_point last_{};
  bool used_ = false;
  std::mt19937_64 rng_;
};

}  // namespace petdns::plugins::kubernetes::api
