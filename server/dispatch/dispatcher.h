// Turns a packet into a reply for one listen address: validates the request (FORMERR, NOTIMP,
// REFUSED, BADVERS, or silence for unreadable headers), picks the server block with the longest
// zone that contains the query name (none → REFUSED), and runs that block's chain. Malformed and
// dropped input is counted by reason; UDP answers pass the response rate limiter when one is set.
// One Dispatcher per worker loop; HandlePacket runs on that loop and does not allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/chain/chain.h"
#include "server/chain/query.h"
#include "server/dispatch/dispatch_metrics.h"
#include "server/listener/packet_handler.h"
#include "server/rrl/rate_limiter.h"
#include "server/wire/request.h"

namespace petdns::dispatch {

// Counters kept per dispatcher (one worker: no atomics needed).
struct DispatchStats {
  uint64_t queries = 0;
  uint64_t dropped = 0;
  uint64_t formerr = 0;
  uint64_t notimp = 0;
  uint64_t refused = 0;
  uint64_t badvers = 0;
};

class Dispatcher final : public listener::PacketHandler {
 public:
  // `chains` are the blocks listening on this address; they and `metrics` (may be null) must
  // outlive the dispatcher.
  Dispatcher(const std::vector<chain::Chain*>& chains, uint16_t max_udp_payload,
             DispatchMetrics* metrics = nullptr);

  void HandlePacket(std::span<const uint8_t> packet, const listener::ClientInfo& client,
                    listener::ResponseSink& sink) noexcept override;
  void OnDroppedInput(listener::DroppedInput why) noexcept override;

  // Routes to `chains` from now on (a configuration reload). Same thread as HandlePacket.
  void SetChains(const std::vector<chain::Chain*>& chains);
  // Limits UDP answers with `limiter` from now on; null turns limiting off. Same thread.
  void SetRateLimiter(std::unique_ptr<rrl::RateLimiter> limiter) noexcept {
    limiter_ = std::move(limiter);
  }

  const DispatchStats& stats() const noexcept { return stats_; }

 private:
  class RateLimitedSink;
  struct Route {
    chain::Chain* chain;
    std::string_view zone;  // view into the chain's zone list
  };
  // The block for `qname` (lower-cased wire) by longest zone match, or nullptr.
  const Route* Match(std::string_view qname) const noexcept;
  // HandlePacket after the rate limiter was put in front of `sink` (or not).
  void Handle(std::span<const uint8_t> packet, const listener::ClientInfo& client,
              listener::ResponseSink& sink) noexcept;
  void ReplyError(std::span<const uint8_t> packet, const listener::ClientInfo& client,
                  listener::ResponseSink& sink, wire::Rcode rcode) noexcept;

  // Longest zone first, so the first one that contains the name wins. A server has a handful of
  // zones: a scan of suffix compares beats hashing every suffix of the name.
  std::vector<Route> routes_;
  uint16_t max_udp_payload_;
  DispatchMetrics* metrics_;
  std::unique_ptr<rrl::RateLimiter> limiter_;
  const Route* route_ = nullptr;  // the block answering the packet being handled, if any
  wire::Request request_;
  std::unique_ptr<chain::QueryScratch> scratch_;
  DispatchStats stats_;
};

}  // namespace petdns::dispatch
