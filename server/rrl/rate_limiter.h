// Response rate limiting (RRL) for UDP answers, so petdns is useless as a DNS amplifier: answers
// to one client netblock (/24 IPv4, /56 IPv6 by default) for one answer (name and type; for
// NXDOMAIN the zone, so random names share one account) are limited to `responses_per_second`.
// A limited answer is dropped, except every `slip`th, which goes out truncated (TC=1) so a real
// client behind a spoofed flood retries over TCP, which is never limited.
//
// Accounts live in a fixed-size table allocated once: Check never allocates and takes no lock.
// One RateLimiter per Dispatcher (one worker loop); not thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>

#include "server/common/cidr.h"

namespace petdns::rrl {

struct RateLimiterSettings {
  uint32_t responses_per_second = 5;
  // A flood's debt is capped at (window - 1) seconds of credit: with 1 the limit is a plain
  // rate; with more, a client that keeps flooding stays limited that much longer (as in BIND).
  uint32_t window_seconds = 1;
  uint32_t slip = 2;  // 0: never slip; 1: every limited answer is slipped
  uint8_t ipv4_prefix_length = 24;
  uint8_t ipv6_prefix_length = 56;
  uint32_t table_size = 65536;  // rounded up to a power of two
  CidrSet exempt;
};

enum class Action : uint8_t { kSend, kDrop, kSlip };

class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterSettings settings);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Whether the client is on the exempt list (checked once per query, before any answer).
  bool Exempt(const sockaddr* client) const noexcept;

  // Debits one answer from the account of (client netblock, `answer`) and says what to do with
  // it. `answer` is any bytes naming the answer (the caller's choice); `now_seconds` a monotonic
  // count of seconds.
  Action Check(const sockaddr* client, std::span<const uint8_t> answer,
               uint32_t now_seconds) noexcept;

  uint64_t dropped() const noexcept { return dropped_; }
  uint64_t slipped() const noexcept { return slipped_; }

 private:
  struct Account {
    uint64_t key = 0;  // hash of netblock and answer; 0 = empty slot
    int32_t balance = 0;
    uint32_t last_second = 0;
    uint32_t limited = 0;  // limited answers so far, for slip
  };

  uint64_t Key(const sockaddr* client, std::span<const uint8_t> answer) const noexcept;

  RateLimiterSettings settings_;
  std::unique_ptr<Account[]> table_;
  uint64_t mask_ = 0;
  uint64_t dropped_ = 0;
  uint64_t slipped_ = 0;
};

}  // namespace petdns::rrl
