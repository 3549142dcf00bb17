#include "plugins/forward/upstream.h"

#include <utility>

namespace petdns::plugins::forward {

UpstreamSet::UpstreamSet(std::vector<Upstream> upstreams, Policy policy, uint32_t max_fails,
                         uint32_t seed)
    : upstreams_(std::move(upstreams)), policy_(policy), max_fails_(max_fails), rng_(seed) {
  if (upstreams_.size() > kMaxUpstreams) {
    upstreams_.erase(upstreams_.begin() + kMaxUpstreams, upstreams_.end());
  }
}

Order UpstreamSet::Select() noexcept {
  Order order;
  const size_t n = upstreams_.size();
  if (n == 0) return order;
  size_t start = 0;
  if (policy_ == Policy::kRoundRobin) start = next_++ % n;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    if (!upstreams_[i].Down(max_fails_)) order.index[order.size++] = static_cast<uint8_t>(i);
  }
  if (order.size == 0) {
    for (size_t i = 0; i < n; ++i) order.index[order.size++] = static_cast<uint8_t>(i);
    order.all_down = true;
    Shuffle(order);
    return order;
  }
  if (policy_ == Policy::kRandom) Shuffle(order);
  return order;
}

uint16_t UpstreamSet::RandomId() noexcept { return static_cast<uint16_t>(rng_() & 0xffff); }

void UpstreamSet::Shuffle(Order& order) noexcept {
  // Fisher-Yates with the member engine (std::shuffle's distribution may allocate nothing, but
  // spelling it out keeps it obviously noexcept).
  for (size_t i = order.size; i > 1; --i) {
    size_t j = rng_() % i;
    std::swap(order.index[i - 1], order.index[j]);
  }
}

}  // namespace petdns::plugins::forward
