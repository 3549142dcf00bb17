// One query in flight through a plugin chain: the parsed request, who asked and how, and the
// ways to reply. Lives on a worker loop's stack/arena for the duration of HandlePacket; replies
// are encoded into the worker's buffer and sent through the listener's sink before returning.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "server/chain/plugin.h"
#include "server/listener/packet_handler.h"
#include "server/wire/message_writer.h"
#include "server/wire/request.h"
#include "zones/answer.h"
#include "zones/compiled_zone.h"

namespace petdns::chain {

class Query;

// Told about every reply a query sends (metrics, log, cache). Observers are plugins: they outlive
// the queries they observe, deferred ones included. Called on the worker loop.
class ReplyObserver {
 public:
  virtual ~ReplyObserver() = default;
  // `message` is the reply as sent (truncated if it had to be).
  virtual void OnReply(const Query& q, std::span<const uint8_t> message) noexcept = 0;
};

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
  // Sends a positive answer a zone encoded ahead of time for this question name, when it fits
  // this client's size limit; otherwise sends nothing and returns false (the caller then takes
  // the general path, which truncates properly).
  bool TryReplyPrecompiled(const zones::PrecompiledAnswer& answer) noexcept;
  // Sends a complete response encoded elsewhere (a cache hit, an upstream's answer): the ID is
  // set to the request's, and over UDP a message larger than the client allows is replaced by
  // its header and question with TC set.
  Outcome ReplyWire(std::span<uint8_t> message) noexcept;
  // Sends an already-encoded message (zone transfers send several). The caller sets every header
  // field but the ID, which is taken from the request. Observers are not told (see Replied).
  void SendRaw(std::span<uint8_t> message) noexcept;
  // Marks the query answered after SendRaw.
  Outcome Replied() noexcept {
    replied_ = true;
    return Outcome::kReplied;
  }

  // Adds an observer told about this query's reply; false when there are already kMaxObservers.
  bool Observe(ReplyObserver* observer) noexcept;
  static constexpr size_t kMaxObservers = 4;

  bool replied() const noexcept { return replied_; }
  // The plugin that replied ("" until one did, or when the chain ran out).
  std::string_view replied_by() const noexcept { return replied_by_; }
  void set_replied_by(std::string_view plugin) noexcept {
    if (replied_by_.empty()) replied_by_ = plugin;
  }
  // Duration accounting starts here (set by the dispatcher when the packet arrives).
  std::chrono::steady_clock::time_point received_at() const noexcept { return received_at_; }
  void set_received_at(std::chrono::steady_clock::time_point t) noexcept { received_at_ = t; }
  const listener::ClientInfo& client() const noexcept { return client_; }
  std::span<const uint8_t> packet() const noexcept { return packet_; }
  QueryScratch& scratch() noexcept { return scratch_; }
  listener::ResponseSink& sink() noexcept { return sink_; }

  // Takes the query off the stack for an answer that comes later (forward): copies what it needs
  // and keeps a retained sink. The returned object answers SERVFAIL if destroyed unanswered.
  // `plugin` (the caller's Name()) is who will have replied. This Query must not reply after.
  class Deferred Detach(std::string_view plugin) noexcept;
  wire::Rcode rcode() const noexcept { return rcode_; }
  // The scratch response buffer, for plugins that encode messages themselves (AXFR).
  std::span<uint8_t> buffer() noexcept { return scratch_.response; }
  // Largest response allowed for this query: 65535 over TCP, the EDNS/512 size over UDP.
  size_t response_limit() const noexcept { return response_limit_; }
  uint16_t edns_payload() const noexcept { return max_udp_payload_; }

 private:
  void Finish(wire::MessageWriter& writer) noexcept;
  void Notify(std::span<const uint8_t> message) noexcept;
  friend class Deferred;
  friend class Next;

  const wire::Request& request_;
  std::span<const uint8_t> packet_;
  const listener::ClientInfo& client_;
  listener::ResponseSink& sink_;
  QueryScratch& scratch_;
  uint16_t max_udp_payload_;
  size_t response_limit_;
  std::string_view zone_;
  bool replied_ = false;
  bool detached_ = false;
  wire::Rcode rcode_ = wire::Rcode::kNoError;
  std::string_view replied_by_;
  std::string_view serving_;  // the plugin whose Serve is running (set by Next)
  std::chrono::steady_clock::time_point received_at_{};
  std::array<ReplyObserver*, kMaxObservers> observers_{};
  size_t observer_count_ = 0;
};

// A query held for a later answer. Movable, not copyable; answer through query(). Destroying an
// unanswered one sends SERVFAIL (if the client can still be reached).
class Deferred {
 public:
  Deferred();
  Deferred(Deferred&&) noexcept;
  Deferred& operator=(Deferred&& other) noexcept;
  ~Deferred();

  bool valid() const noexcept { return state_ != nullptr; }
  Query& query() noexcept;

 private:
  friend class Query;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace petdns::chain
