#include "plugins/kubernetes/api/backoff.h"

#include <algorithm>

namespace petdns::plugins::kubernetes::api {

Backoff::Backoff(BackoffPolicy policy, uint64_t seed)
    : policy_(policy), current_(policy.initial), rng_(seed) {}

std::chrono::milliseconds Backoff::Next(Clock::time_point now) {
  if (used_ && now - last_ >= policy_.reset_after) current_ = policy_.initial;
  used_ = true;
  last_ = now;
  const std::chrono::milliseconds d = std::min(current_, policy_.cap);
  const auto next = static_cast<int64_t>(static_cast<double>(current_.count()) * policy_.factor);
  current_ = std::min(std::chrono::milliseconds(std::max<int64_t>(next, 1)), policy_.cap);
  if (!policy_.jitter || d.count() <= 0) return d;
  std::uniform_int_distribution<int64_t> extra(0, d.count() - 1);
  return d + std::chrono::milliseconds(extra(rng_));
}

}  // namespace petdns::plugins::kubernetes::api
