// One query in flight through a plugin chain: the parsed request, who asked and how, and the
// ways to reply. Lives on a worker loop's stack/arena for the duration of HandlePacket; replies
// are encoded into the worker's buffer and sent through the listener's sink before returning.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "server/chain/plugin.h"
#include "server/listener/packet_handler.h"
#include "server/wire/message_writer.h"
#include "server/wire/request.h"
#include "zones/answer.h"

namespace petdns::chain {

// Per-worker scratch reused by every query: the response buffer and the answer lists.
struct QueryScratch {
  std::array<uint8_t, wire::kMaxMessageSize> response;
  zones::Answer answer;
};

class Query {
 public:
  Query(const wire::Request& request, std::span<const uint8_t> packet,
        const listener::ClientInfo& client, listener::ResponseSink& sink, QueryScratch& scratch,
        uint16_t max_udp_payload) noexcept;

  const wire::Request& request() const noexcept { return request_; }
  // The query name as lower-cased wire bytes (the lookup key) and as received (to echo).
  std::string_view qname() const noexcept { return request_.qname_lower.view(); }
  std::string_view qname_as_received() const noexcept { return request_.qname.view(); }
  wire::RrType qtype() const noexcept { return request_.qtype; }
  listener::Transport transport() const noexcept { return client_.transport; }
  const sockaddr* client_address() const noexcept { return client_.address; }
  // The matched zone of the server block (lower-cased wire), set by the dispatcher.
  std::string_view zone() const noexcept { return zone_; }
  void set_zone(std::string_view zone) noexcept { zone_ = zone; }

  // A reusable Answer, cleared, for plugins to fill and pass to Reply.
  zones::Answer& NewAnswer() noexcept {
    scratch_.answer.clear();
    return scratch_.answer;
  }

  // Encodes `answer` with the question echoed, EDNS handled and UDP truncation at an RRset
  // boundary (TC set), then sends it.
  Outcome Reply(const zones::Answer& answer) noexcept;
  // A reply with no records and the given rcode (AA clear).
  Outcome ReplyRcode(wire::Rcode rcode) noexcept;
  // Sends an already-encoded message (zone transfers send several). The caller sets every header
  // field but the ID, which is taken from the request.
  void SendRaw(std::span<uint8_t> message) noexcept;
  // Marks the query answered after SendRaw.
  Outcome Replied() noexcept {
    replied_ = true;
    return Outcome::kReplied;
  }

  bool replied() const noexcept { return replied_; }
  wire::Rcode rcode() const noexcept { return rcode_; }
  // The scratch response buffer, for plugins that encode messages themselves (AXFR).
  std::span<uint8_t> buffer() noexcept { return scratch_.response; }
  // Largest response allowed for this query: 65535 over TCP, the EDNS/512 size over UDP.
  size_t response_limit() const noexcept { return response_limit_; }
  uint16_t edns_payload() const noexcept { return max_udp_payload_; }

 private:
  void Finish(wire::MessageWriter& writer) noexcept;

  const wire::Request& request_;
  std::span<const uint8_t> packet_;
  const listener::ClientInfo& client_;
  listener::ResponseSink& sink_;
  QueryScratch& scratch_;
  uint16_t max_udp_payload_;
  size_t response_limit_;
  std::string_view zone_;
  bool replied_ = false;
  wire::Rcode rcode_ = wire::Rcode::kNoError;
};

}  // namespace petdns::chain
