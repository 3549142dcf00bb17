#include "server/rrl/rate_limiter.h"

#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace petdns::rrl {
namespace {

// FNV-1a: the keys are short and the table only needs an even spread, not secrecy (an attacker
// who forces collisions only makes two accounts share one slot, which limits them both more).
constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Mix(uint64_t hash, std::span<const uint8_t> bytes) noexcept {
  for (uint8_t b : bytes) hash = (hash ^ b) * kFnvPrime;
  return hash;
}

}  // namespace

RateLimiter::RateLimiter(RateLimiterSettings settings) : settings_(std::move(settings)) {
  const uint64_t size = std::bit_ceil(uint64_t{std::max<uint32_t>(settings_.table_size, 1)});
  table_ = std::make_unique<Account[]>(size);
  mask_ = size - 1;
  settings_.window_seconds = std::max<uint32_t>(settings_.window_seconds, 1);
}

bool RateLimiter::Exempt(const sockaddr* client) const noexcept {
  return client != nullptr && settings_.exempt.Contains(client);
}

uint64_t RateLimiter::Key(const sockaddr* client, std::span<const uint8_t> answer) const noexcept {
  uint8_t block[17] = {};  // family byte + address masked to the netblock
  size_t length = 1;
  const uint8_t* address = nullptr;
  unsigned bits = 0;
  if (client != nullptr && client->sa_family == AF_INET) {
    block[0] = 4;
    address = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(client)->sin_addr.s_addr);
    bits = settings_.ipv4_prefix_length;
    length += 4;
  } else if (client != nullptr && client->sa_family == AF_INET6) {
    block[0] = 6;
    address = reinterpret_cast<const sockaddr_in6*>(client)->sin6_addr.s6_addr;
    bits = settings_.ipv6_prefix_length;
    length += 16;
  }
  for (size_t i = 0; i + 1 < length; ++i) {
    const unsigned have =
        bits > i * 8 ? std::min<unsigned>(bits - static_cast<unsigned>(i * 8), 8) : 0;
    const auto mask = static_cast<uint8_t>(have == 0 ? 0 : 0xff << (8 - have));
    block[i + 1] = address[i] & mask;
  }
  uint64_t hash = Mix(kFnvOffset, std::span<const uint8_t>(block, length));
  hash = Mix(hash, answer);
  return hash == 0 ? 1 : hash;  // 0 marks an empty slot
}

Action RateLimiter::Check(const sockaddr* client, std::span<const uint8_t> answer,
                          uint32_t now_seconds) noexcept {
  const int64_t rate = settings_.responses_per_second;
  if (rate == 0) return Action::kSend;
  const uint64_t key = Key(client, answer);
  Account& account = table_[key & mask_];
  if (account.key != key) {
    // A new answer, or another one that hashed to this slot: it starts with a full second of
    // credit. The table size bounds memory; an evicted account simply starts over.
    account = Account{key, static_cast<int32_t>(rate), now_seconds, 0};
  } else if (now_seconds != account.last_second) {
    const int64_t elapsed = static_cast<uint32_t>(now_seconds - account.last_second);
    const int64_t earned = std::min<int64_t>(elapsed, settings_.window_seconds + 1) * rate;
    account.balance = static_cast<int32_t>(std::min<int64_t>(account.balance + earned, rate));
    account.last_second = now_seconds;
  }
  const int64_t floor = -rate * (settings_.window_seconds - 1);
  if (account.balance > 0) {
    --account.balance;
    return Action::kSend;
  }
  account.balance = static_cast<int32_t>(std::max<int64_t>(account.balance - 1, floor));
  ++account.limited;
  if (settings_.slip != 0 && account.limited % settings_.slip == 0) {
    ++slipped_;
    return Action::kSlip;
  }
  ++dropped_;
  return Action::kDrop;
}

}  // namespace petdns::rrl
