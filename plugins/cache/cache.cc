#include "plugins/cache/cache.h"

#include <cstring>
#include <memory>
#include <utility>

#include "server/wire/dns.h"

namespace petdns::plugins::cache {
namespace {

using chain::Outcome;
using chain::Query;

CacheKey KeyOf(const Query& q) noexcept {
  return CacheKey{q.qname(), static_cast<uint16_t>(q.qtype()), q.request().qclass,
                  q.request().edns.dnssec_ok, q.request().checking_disabled()};
}

bool Cacheable(const Query& q) noexcept {
  wire::RrType t = q.qtype();
  return t != wire::RrType::kAxfr && t != wire::RrType::kIxfr && q.request().has_question;
}

uint16_t RcodeOf(std::span<const uint8_t> message) noexcept {
  if (message.size() < wire::kHeaderSize) return static_cast<uint16_t>(wire::Rcode::kServFail);
  return wire::ReadU16(message.data() + 2) & wire::flags::kRcodeMask;
}

// Where a refresh's answer goes: nowhere (the cache learns it through OnReply).
class DiscardSink final : public listener::ResponseSink {
 public:
  void Send(std::span<const uint8_t>) noexcept override {}
  std::unique_ptr<ResponseSink> Retain() noexcept override {
    return std::make_unique<DiscardSink>();
  }
};

// Takes the rest of the chain's answer for a query whose entry has expired, once a plugin further
// down has deferred it: passes it on to the held client query, or serves the stale copy if the
// answer is SERVFAIL (a plugin that gives up on a deadline answers SERVFAIL, as does a destroyed
// deferred query).
class StaleRelay final : public listener::ResponseSink {
 public:
  StaleRelay(CachePlugin& plugin, chain::Deferred held, std::vector<uint8_t> stale, size_t length)
      : plugin_(plugin), held_(std::move(held)), stale_(std::move(stale)), length_(length) {}
  void Send(std::span<const uint8_t> message) noexcept override {
    if (!held_.valid() || held_.query().replied()) return;
    Query& q = held_.query();
    if (RcodeOf(message) == static_cast<uint16_t>(wire::Rcode::kServFail)) {
      size_t n = CachePlugin::FinishForQuery(q, stale_, length_);
      if (n != 0) {
        plugin_.CountStale();
        (void)q.ReplyWire(std::span<uint8_t>(stale_.data(), n));
        return;
      }
    }
    copy_.assign(message.begin(), message.end());
    (void)q.ReplyWire(copy_);
  }

 private:
  CachePlugin& plugin_;
  chain::Deferred held_;
  std::vector<uint8_t> stale_;
  size_t length_;
  std::vector<uint8_t> copy_;
};

// The sink of a revalidation probe: keeps a synchronous answer for Revalidate to judge, and if a
// plugin defers the probe, detaches the client's query into a StaleRelay.
class ProbeSink final : public listener::ResponseSink {
 public:
  ProbeSink(CachePlugin& plugin, Query& client, std::vector<uint8_t>& stale, size_t length)
      : plugin_(plugin), client_(client), stale_(stale), length_(length) {}
  void Send(std::span<const uint8_t> message) noexcept override {
    answer.assign(message.begin(), message.end());
    answered = true;
  }
  std::unique_ptr<ResponseSink> Retain() noexcept override {
    if (detached) return nullptr;
    detached = true;
    return std::make_unique<StaleRelay>(plugin_, client_.Detach(plugin_.Name()), std::move(stale_),
                                        length_);
  }

  std::vector<uint8_t> answer;
  bool answered = false;
  bool detached = false;

 private:
  CachePlugin& plugin_;
  Query& client_;
  std::vector<uint8_t>& stale_;
  size_t length_;
};

}  // namespace

CachePlugin::CachePlugin(CacheOptions options, CacheMetrics metrics, CacheClock clock)
    : options_(options),
      metrics_(std::move(metrics)),
      clock_(clock ? std::move(clock)
                   : CacheClock([] { return std::chrono::steady_clock::now(); })),
      store_(options.capacity, options.ttl),
      render_(wire::kMaxMessageSize) {}

Outcome CachePlugin::Serve(Query& q, chain::Next next) noexcept {
  if (!Cacheable(q)) return next(q);
  CacheKey key = KeyOf(q);
  TimePoint now = clock_();
  ResponseCache::Entry* entry = store_.Find(key);
  if (entry != nullptr && !entry->Expired(now)) {
    metrics_.hits[static_cast<int>(entry->type)]->Increment();
    bool refresh = false;
    if (options_.prefetch > 0 && !entry->prefetched &&
        uint64_t{entry->Remaining(now)} * 10 <= entry->ttl &&
        ++entry->late_hits >= options_.prefetch) {
      entry->prefetched = true;
      refresh = true;
    }
    Outcome outcome = ReplyFromEntry(q, *entry, now, nullptr);
    if (refresh) Refresh(q, next);  // the client has its answer; `entry` may be replaced now
    return outcome;
  }
  if (entry != nullptr) {
    if (options_.serve_stale.count() > 0 &&
        now - entry->stored_at < std::chrono::seconds(entry->ttl) + options_.serve_stale) {
      return Revalidate(q, next, *entry);
    }
    store_.Erase(entry);
    UpdateGauges();
  }
  metrics_.misses->Increment();
  (void)q.Observe(this);  // with no observer slot left the answer is simply not stored
  return next(q);
}

void CachePlugin::OnReply(const Query& q, std::span<const uint8_t> message) noexcept {
  if (!Cacheable(q)) return;
  // Insertion may allocate (the entry's copy of the wire); out of memory aborts, as everywhere.
  (void)store_.Insert(KeyOf(q), message, clock_());
  UpdateGauges();
}

size_t CachePlugin::FinishForQuery(const Query& q, std::span<uint8_t> buffer,
                                   size_t length) noexcept {
  const wire::Request& request = q.request();
  if (length < wire::kHeaderSize + size_t{request.qname.length} ||
      buffer.size() < length + wire::kOptRecordSize) {
    return 0;
  }
  // The stored question has the first asker's case; the key matched, so the length is the same.
  std::memcpy(buffer.data() + wire::kHeaderSize, request.qname.bytes.data(), request.qname.length);
  uint16_t flags = wire::ReadU16(buffer.data() + 2);
  flags = static_cast<uint16_t>((flags & ~wire::flags::kRd) | (request.flags & wire::flags::kRd));
  wire::WriteU16(buffer.data() + 2, flags);
  if (!request.edns.present) return length;
  uint8_t* opt = buffer.data() + length;  // root owner, OPT, payload, rcode/version/DO, no rdata
  opt[0] = 0;
  wire::WriteU16(opt + 1, static_cast<uint16_t>(wire::RrType::kOpt));
  wire::WriteU16(opt + 3, q.edns_payload());
  opt[5] = 0;
  opt[6] = 0;
  wire::WriteU16(opt + 7, request.edns.dnssec_ok ? wire::kEdnsDoBit : 0);
  wire::WriteU16(opt + 9, 0);
  wire::WriteU16(buffer.data() + 10, static_cast<uint16_t>(wire::ReadU16(buffer.data() + 10) + 1));
  return length + wire::kOptRecordSize;
}

Outcome CachePlugin::ReplyFromEntry(Query& q, const ResponseCache::Entry& entry, TimePoint now,
                                    const uint32_t* fixed_ttl) noexcept {
  size_t n = ResponseCache::Render(entry, now, render_, fixed_ttl);
  n = n == 0 ? 0 : FinishForQuery(q, render_, n);
  if (n == 0) return q.ReplyRcode(wire::Rcode::kServFail);  // cannot happen: entries fit
  return q.ReplyWire(std::span<uint8_t>(render_.data(), n));
}

void CachePlugin::Refresh(Query& q, chain::Next next) noexcept {
  metrics_.prefetch->Increment();
  DiscardSink sink;
  Query probe(q.request(), q.packet(), q.client(), sink, q.scratch(), q.edns_payload());
  probe.set_zone(q.zone());
  (void)probe.Observe(this);
  (void)next(probe);
}

Outcome CachePlugin::Revalidate(Query& q, chain::Next next,
                                const ResponseCache::Entry& stale) noexcept {
  // The stale copy must survive the probe: its answer may replace the entry. This path allocates,
  // but only for expired entries.
  std::vector<uint8_t> copy(stale.wire.size() + wire::kOptRecordSize);
  size_t length = ResponseCache::Render(stale, TimePoint{}, copy, &options_.stale_ttl);
  ProbeSink sink(*this, q, copy, length);
  {
    Query probe(q.request(), q.packet(), q.client(), sink, q.scratch(), q.edns_payload());
    probe.set_zone(q.zone());
    (void)probe.Observe(this);
    (void)next(probe);
  }
  if (sink.detached) return Outcome::kDeferred;  // the StaleRelay answers the client
  metrics_.misses->Increment();
  if (sink.answered && RcodeOf(sink.answer) != static_cast<uint16_t>(wire::Rcode::kServFail)) {
    return q.ReplyWire(sink.answer);
  }
  size_t n = FinishForQuery(q, copy, length);
  if (n == 0) return q.ReplyRcode(wire::Rcode::kServFail);
  CountStale();
  return q.ReplyWire(std::span<uint8_t>(copy.data(), n));
}

void CachePlugin::UpdateGauges() noexcept {
  metrics_.entries[0]->Set(static_cast<double>(store_.count(EntryType::kSuccess)));
  metrics_.entries[1]->Set(static_cast<double>(store_.count(EntryType::kDenial)));
  if (store_.evictions() != evictions_seen_) {
    metrics_.evictions->Increment(static_cast<double>(store_.evictions() - evictions_seen_));
    evictions_seen_ = store_.evictions();
  }
}

}  // namespace petdns::plugins::cache
