#include "server/chain/query.h"

#include <algorithm>

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

  // Answer and authority must arrive whole: the first RRset that does not fit is dropped with
  // everything after it, and TC tells the client to retry over TCP (RFC 2181 §9).
  auto append = [&](Section section, const zones::AnswerRRset& item) {
    auto mark = writer.Mark();
    for (const std::string& rdata : item.rrset->rdatas) {
      if (!writer.AppendRecord(section, item.owner, item.rrset->type, item.rrset->rclass, item.ttl,
                               zones::RRset::Bytes(rdata))) {
        writer.Rollback(mark);
        return false;
      }
    }
    return true;
  };
  bool truncated = false;
  for (const auto& item : answer.answer) {
    if (!append(Section::kAnswer, item)) {
      truncated = true;
      break;
    }
  }
  if (!truncated) {
    for (const auto& item : answer.authority) {
      if (!append(Section::kAuthority, item)) {
        truncated = true;
        break;
      }
    }
  }
  // Additional data is optional: what does not fit is left out without TC.
  if (!truncated) {
    for (const auto& item : answer.additional) {
      if (!append(Section::kAdditional, item)) break;
    }
  }
  if (truncated) writer.SetFlags(wire::flags::kTc);
  rcode_ = answer.rcode;
  Finish(writer);
  return Outcome::kReplied;
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
}

void Query::SendRaw(std::span<uint8_t> message) noexcept {
  if (message.size() >= 2) wire::WriteU16(message.data(), request_.id);
  sink_.Send(message);
}

Outcome Next::operator()(Query& q) const noexcept {
  if (rest_.empty()) return q.ReplyRcode(wire::Rcode::kServFail);
  return rest_.front()->Serve(q, Next(rest_.subspan(1)));
}

}  // namespace petdns::chain
