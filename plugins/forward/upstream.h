// The forward plugin's upstreams: each one's address and health (consecutive failures), and the
// policy that orders them for a query. Used on the loop that runs the plugin only.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace petdns::plugins::forward {

inline constexpr size_t kMaxUpstreams = 15;

enum class Policy : uint8_t { kRandom, kRoundRobin, kSequential };

class Upstream {
 public:
  Upstream(const sockaddr_storage& address, std::string text)
      : address_(address), text_(std::move(text)) {}

  const sockaddr_storage& address() const noexcept { return address_; }
  const std::string& text() const noexcept { return text_; }  // "127.0.0.1:53": the `to` label
  // Consecutive failures (queries and health probes) since the last good answer.
  uint32_t fails() const noexcept { return fails_; }
  // Down after `max_fails` consecutive failures; max_fails 0 never marks it down.
  bool Down(uint32_t max_fails) const noexcept { return max_fails != 0 && fails_ >= max_fails; }
  void RecordSuccess() noexcept { fails_ = 0; }
  void RecordFailure() noexcept {
    if (fails_ < UINT32_MAX) ++fails_;
  }

 private:
  sockaddr_storage address_;
  std::string text_;
  uint32_t fails_ = 0;
};

// The order in which one query tries the upstreams.
struct Order {
  std::array<uint8_t, kMaxUpstreams> index{};
  size_t size = 0;
  bool all_down = false;  // every upstream was down: all of them, in random order
};

class UpstreamSet {
 public:
  // 1..kMaxUpstreams upstreams.
  UpstreamSet(std::vector<Upstream> upstreams, Policy policy, uint32_t max_fails, uint32_t seed);

  // Healthy upstreams ordered by the policy (random: shuffled; round_robin: rotated by one per
  // query; sequential: as configured); down ones are skipped. When all are down, all are tried in
  // random order (as CoreDNS does) and `all_down` is set.
  Order Select() noexcept;

  size_t size() const noexcept { return upstreams_.size(); }
  Upstream& operator[](size_t i) noexcept { return upstreams_[i]; }
  const Upstream& operator[](size_t i) const noexcept { return upstreams_[i]; }
  uint32_t max_fails() const noexcept { return max_fails_; }
  bool Down(size_t i) const noexcept { return upstreams_[i].Down(max_fails_); }
  // A random 16-bit value (query IDs).
  uint16_t RandomId() noexcept;

 private:
  void Shuffle(Order& order) noexcept;

  std::vector<Upstream> upstreams_;
  Policy policy_;
  uint32_t max_fails_;
  size_t next_ = 0;  // round_robin
  std::mt19937 rng_;
};

}  // namespace petdns::plugins::forward
