#include "server/dispatch/dispatcher.h"

#include <algorithm>

#include "server/wire/name.h"

namespace petdns::dispatch {

using wire::Rcode;
using wire::Verdict;

Dispatcher::Dispatcher(const std::vector<chain::Chain*>& chains, uint16_t max_udp_payload)
    : max_udp_payload_(max_udp_payload), scratch_(std::make_unique<chain::QueryScratch>()) {
  SetChains(chains);
}

void Dispatcher::SetChains(const std::vector<chain::Chain*>& chains) {
  routes_.clear();
  for (chain::Chain* c : chains) {
    for (const std::string& zone : c->zones()) {
      // The first block to name a zone keeps it, as the config check requires unique zones.
      bool seen = std::any_of(routes_.begin(), routes_.end(),
                              [&](const Route& r) { return r.zone == zone; });
      if (!seen) routes_.push_back(Route{c, zone});
    }
  }
  std::stable_sort(routes_.begin(), routes_.end(),
                   [](const Route& a, const Route& b) { return a.zone.size() > b.zone.size(); });
}

const Dispatcher::Route* Dispatcher::Match(std::string_view qname) const noexcept {
  for (const Route& route : routes_) {
    if (wire::IsSubdomain(qname, route.zone)) return &route;
  }
  return nullptr;
}

void Dispatcher::ReplyError(std::span<const uint8_t> packet, const listener::ClientInfo& client,
                            listener::ResponseSink& sink, Rcode rcode) noexcept {
  chain::Query q(request_, packet, client, sink, *scratch_, max_udp_payload_);
  (void)q.ReplyRcode(rcode);
}

void Dispatcher::HandlePacket(std::span<const uint8_t> packet, const listener::ClientInfo& client,
                              listener::ResponseSink& sink) noexcept {
  ++stats_.queries;
  switch (wire::ParseRequest(packet, request_)) {
    case Verdict::kDrop:
      ++stats_.dropped;
      return;
    case Verdict::kFormErr:
      ++stats_.formerr;
      return ReplyError(packet, client, sink, Rcode::kFormErr);
    case Verdict::kNotImp:
      ++stats_.notimp;
      return ReplyError(packet, client, sink, Rcode::kNotImp);
    case Verdict::kRefused:
      ++stats_.refused;
      return ReplyError(packet, client, sink, Rcode::kRefused);
    case Verdict::kBadVers:
      ++stats_.badvers;
      return ReplyError(packet, client, sink, Rcode::kBadVers);
    case Verdict::kAnswer:
      break;
  }
  const Route* route = Match(request_.qname_lower.view());
  if (route == nullptr) {
    ++stats_.refused;
    return ReplyError(packet, client, sink, Rcode::kRefused);
  }
  chain::Query q(request_, packet, client, sink, *scratch_, max_udp_payload_);
  q.set_zone(route->zone);
  q.set_received_at(std::chrono::steady_clock::now());
  (void)route->chain->Serve(q);
}

}  // namespace petdns::dispatch
