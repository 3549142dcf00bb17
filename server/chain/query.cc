#include "server/chain/query.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zones/answer_writer.h"

namespace petdns::chain {

using wire::Section;

Query::Query(const wire::Request& request, std::span<const uint8_t> packet,
             const listener::ClientInfo& client, listener::ResponseSink& sink,
             QueryScratch& scratch, uint16_t max_udp_payload) noexcept
    : request_(request),
      packet_(packet),
      client_(client),
      sink_(sink),
      scratch_(scratch),
      max_udp_payload_(max_udp_payload) {
  if (client.transport == listener::Transport::kTcp) {
    response_limit_ = wire::kMaxMessageSize;
  } else if (request.edns.present) {
    // RFC 6891 §6.2.5: below 512 is treated as 512; above our own limit we use ours.
    response_limit_ = std::clamp<size_t>(request.edns.udp_payload, wire::kMinUdpPayload,
                                         std::max<uint16_t>(max_udp_payload, wire::kMinUdpPayload));
  } else {
    response_limit_ = wire::kMinUdpPayload;
  }
}

Outcome Query::Reply(const zones::Answer& answer) noexcept {
  wire::MessageWriter writer(scratch_.response);
  writer.BeginResponse(request_);
  writer.SetLimit(response_limit_);
  if (request_.edns.present) writer.Reserve(wire::kOptRecordSize);
  writer.SetRcode(answer.rcode);
  if (answer.authoritative) writer.SetFlags(wire::flags::kAa);

  zones::WriteAnswerSections(writer, answer);
  rcode_ = answer.rcode;
  Finish(writer);
  return Outcome::kReplied;
}

bool Query::TryReplyPrecompiled(const zones::PrecompiledAnswer& answer) noexcept {
  wire::MessageWriter writer(scratch_.response);
  writer.BeginResponse(request_);
  writer.SetLimit(response_limit_);
  if (request_.edns.present) writer.Reserve(wire::kOptRecordSize);
  if (!writer.AppendEncoded(answer.records, answer.counts)) return false;
  writer.SetFlags(wire::flags::kAa);
  rcode_ = wire::Rcode::kNoError;
  Finish(writer);
  return true;
}

Outcome Query::ReplyRcode(wire::Rcode rcode) noexcept {
  wire::MessageWriter writer(scratch_.response);
  writer.BeginResponse(request_);
  writer.SetLimit(response_limit_);
  if (request_.edns.present) writer.Reserve(wire::kOptRecordSize);
  writer.SetRcode(rcode);
  rcode_ = rcode;
  Finish(writer);
  return Outcome::kReplied;
}

void Query::Finish(wire::MessageWriter& writer) noexcept {
  if (request_.edns.present) {
    // The DO bit is echoed (RFC 3225 §3); petdns signs nothing, so no RRSIGs follow it.
    (void)writer.AppendOpt(max_udp_payload_, request_.edns.dnssec_ok);
  }
  sink_.Send(writer.Message());
  replied_ = true;
  Notify(writer.Message());
}

void Query::Notify(std::span<const uint8_t> message) noexcept {
  if (replied_by_.empty()) replied_by_ = serving_;  // the plugin whose Serve is sending this
  for (size_t i = 0; i < observer_count_; ++i) observers_[i]->OnReply(*this, message);
}

bool Query::Observe(ReplyObserver* observer) noexcept {
  if (observer_count_ == kMaxObservers) return false;
  observers_[observer_count_++] = observer;
  return true;
}

Outcome Query::ReplyWire(std::span<uint8_t> message) noexcept {
  if (message.size() < wire::kHeaderSize) return ReplyRcode(wire::Rcode::kServFail);
  wire::WriteU16(message.data(), request_.id);
  rcode_ = static_cast<wire::Rcode>(wire::ReadU16(message.data() + 2) & wire::flags::kRcodeMask);
  if (message.size() <= response_limit_) {
    sink_.Send(message);
    replied_ = true;
    Notify(message);
    return Outcome::kReplied;
  }
  // Too big for this UDP client: header and question only, TC set; it retries over TCP.
  wire::MessageWriter writer(scratch_.response);
  writer.BeginResponse(request_);
  writer.SetLimit(response_limit_);
  if (request_.edns.present) writer.Reserve(wire::kOptRecordSize);
  uint16_t flags = wire::ReadU16(message.data() + 2);
  writer.SetFlags((flags & (wire::flags::kAa | wire::flags::kRa | wire::flags::kAd)) |
                  wire::flags::kTc);
  writer.SetRcode(rcode_);
  Finish(writer);
  return Outcome::kReplied;
}

namespace {

// Where late answers go when the client can no longer be reached.
class DroppingSink final : public listener::ResponseSink {
 public:
  void Send(std::span<const uint8_t>) noexcept override {}
};

}  // namespace

struct Deferred::State {
  std::vector<uint8_t> packet;
  wire::Request request;
  sockaddr_storage address{};
  listener::ClientInfo client;
  std::unique_ptr<listener::ResponseSink> sink;
  DroppingSink dropping;
  std::string zone;
  std::optional<Query> query;
};

Deferred Query::Detach(std::string_view plugin) noexcept {
  Deferred held;
  auto state = std::make_unique<Deferred::State>();
  state->packet.assign(packet_.begin(), packet_.end());
  state->request = request_;
  if (client_.address != nullptr) {
    std::memcpy(
        &state->address, client_.address,
        client_.address->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  }
  state->client.address = reinterpret_cast<const sockaddr*>(&state->address);
  state->client.transport = client_.transport;
  state->sink = sink_.Retain();
  state->zone.assign(zone_);
  listener::ResponseSink& sink =
      state->sink ? *state->sink : static_cast<listener::ResponseSink&>(state->dropping);
  Query& q = state->query.emplace(state->request, state->packet, state->client, sink, scratch_,
                                  max_udp_payload_);
  q.zone_ = state->zone;
  q.observers_ = observers_;
  q.observer_count_ = observer_count_;
  q.replied_by_ = plugin;  // the plugin that will answer
  q.received_at_ = received_at_;
  detached_ = true;
  held.state_ = std::move(state);
  return held;
}

Deferred::Deferred() = default;
Deferred::Deferred(Deferred&&) noexcept = default;

Query& Deferred::query() noexcept { return *state_->query; }

Deferred& Deferred::operator=(Deferred&& other) noexcept {
  if (this != &other) {
    Deferred dropped(std::move(*this));  // answers SERVFAIL if it was pending
    state_ = std::move(other.state_);
  }
  return *this;
}

Deferred::~Deferred() {
  if (state_ != nullptr && !state_->query->replied()) {
    (void)state_->query->ReplyRcode(wire::Rcode::kServFail);
  }
}

void Query::SendRaw(std::span<uint8_t> message) noexcept {
  if (message.size() >= 2) wire::WriteU16(message.data(), request_.id);
  sink_.Send(message);
}

Outcome Next::operator()(Query& q) const noexcept {
  if (rest_.empty()) {
    // Past the last plugin: nobody replied; the chain itself answers SERVFAIL.
    std::string_view outer = std::exchange(q.serving_, std::string_view());
    Outcome outcome = q.ReplyRcode(wire::Rcode::kServFail);
    q.serving_ = outer;
    return outcome;
  }
  Plugin* plugin = rest_.front();
  // While a plugin's Serve runs it is the one that replies, unless it hands the query on; the
  // name is what metrics and logs call "who replied".
  std::string_view outer = std::exchange(q.serving_, plugin->Name());
  Outcome outcome = plugin->Serve(q, Next(rest_.subspan(1)));
  q.serving_ = outer;
  return outcome;
}

}  // namespace petdns::chain
