#include "server/dispatch/dispatcher.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "server/wire/name.h"

namespace petdns::dispatch {

using wire::Rcode;
using wire::Verdict;

// Wraps a UDP client's sink: every answer is debited from its rate-limit account first, and is
// sent, dropped, or cut down to a truncated header+question (a "slip") accordingly. Lives on the
// stack for one HandlePacket; answers that come later (forward) are not limited.
class Dispatcher::RateLimitedSink final : public listener::ResponseSink {
 public:
  RateLimitedSink(Dispatcher& owner, const listener::ClientInfo& client,
                  listener::ResponseSink& inner, uint32_t now_seconds)
      : owner_(owner), client_(client), inner_(inner), now_seconds_(now_seconds) {}

  void Send(std::span<const uint8_t> message) noexcept override {
    if (message.size() < wire::kHeaderSize) return inner_.Send(message);
    switch (owner_.limiter_->Check(client_.address, AnswerKey(message), now_seconds_)) {
      case rrl::Action::kSend:
        return inner_.Send(message);
      case rrl::Action::kDrop:
        if (owner_.metrics_ != nullptr) owner_.metrics_->CountRrlDropped();
        return;
      case rrl::Action::kSlip:
        if (owner_.metrics_ != nullptr) owner_.metrics_->CountRrlSlipped();
        return SendSlip(message);
    }
  }
  std::unique_ptr<ResponseSink> Retain() noexcept override { return inner_.Retain(); }

 private:
  // What the account is for: rcode and type, then the zone for NXDOMAIN (so random names under
  // one zone share one account, as BIND does) or else the query name.
  std::span<const uint8_t> AnswerKey(std::span<const uint8_t> message) noexcept {
    const wire::Request& r = owner_.request_;
    const auto rcode = static_cast<uint8_t>(message[3] & wire::flags::kRcodeMask);
    key_[0] = rcode;
    wire::WriteU16(&key_[1], r.has_question ? static_cast<uint16_t>(r.qtype) : 0);
    size_t length = 3;
    std::string_view name;
    if (rcode == static_cast<uint8_t>(wire::Rcode::kNxDomain) && owner_.route_ != nullptr) {
      name = owner_.route_->zone;
    } else if (r.has_question) {
      name = r.qname_lower.view();
    }
    name = name.substr(0, key_.size() - length);
    std::memcpy(&key_[length], name.data(), name.size());
    return std::span<const uint8_t>(key_.data(), length + name.size());
  }

  // The header with TC set and only the question: tells a real client to ask again over TCP.
  void SendSlip(std::span<const uint8_t> message) noexcept {
    const wire::Request& r = owner_.request_;
    size_t length = wire::kHeaderSize;
    const size_t question = r.has_question ? r.qname.length + 4 : 0;
    const bool with_question = question != 0 && wire::ReadU16(message.data() + 4) == 1 &&
                               message.size() >= wire::kHeaderSize + question &&
                               question <= slip_.size() - length;
    std::memcpy(slip_.data(), message.data(), wire::kHeaderSize);
    wire::WriteU16(&slip_[2], wire::ReadU16(&slip_[2]) | wire::flags::kTc);
    wire::WriteU16(&slip_[4], with_question ? 1 : 0);
    std::memset(&slip_[6], 0, 6);  // no answer, authority or additional records
    if (with_question) {
      std::memcpy(&slip_[length], message.data() + length, question);
      length += question;
    }
    inner_.Send(std::span<const uint8_t>(slip_.data(), length));
  }

  Dispatcher& owner_;
  const listener::ClientInfo& client_;
  listener::ResponseSink& inner_;
  uint32_t now_seconds_;
  std::array<uint8_t, 3 + wire::kMaxNameLength> key_{};
  std::array<uint8_t, wire::kHeaderSize + wire::kMaxNameLength + 4> slip_{};
};

Dispatcher::Dispatcher(const std::vector<chain::Chain*>& chains, uint16_t max_udp_payload,
                       DispatchMetrics* metrics)
    : max_udp_payload_(max_udp_payload),
      metrics_(metrics),
      scratch_(std::make_unique<chain::QueryScratch>()) {
  SetChains(chains);
}

void Dispatcher::OnDroppedInput(listener::DroppedInput why) noexcept {
  if (metrics_ != nullptr) metrics_->Count(ReasonOf(why));
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
  route_ = nullptr;
  if (limiter_ != nullptr && client.transport == listener::Transport::kUdp &&
      !limiter_->Exempt(client.address)) {
    // Seconds are enough: accounts earn credit once per second.
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    RateLimitedSink limited(*this, client, sink, static_cast<uint32_t>(now.count()));
    return Handle(packet, client, limited);
  }
  Handle(packet, client, sink);
}

void Dispatcher::Handle(std::span<const uint8_t> packet, const listener::ClientInfo& client,
                        listener::ResponseSink& sink) noexcept {
  ++stats_.queries;
  const Verdict verdict = wire::ParseRequest(packet, request_);
  if ((verdict == Verdict::kDrop || verdict == Verdict::kFormErr) && metrics_ != nullptr) {
    metrics_->Count(ReasonOf(request_.malformed));
  }
  switch (verdict) {
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
  route_ = route;
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
