// The cache plugin: answers repeated queries from stored response wire (see response_cache.h),
// stores what the rest of the chain answers, refreshes popular entries before they expire
// (prefetch) and serves expired entries when the rest of the chain fails (serve_stale).
// Serve and OnReply run on the worker loop (petdns runs one loop, so no locking).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "plugins/cache/metrics.h"
#include "plugins/cache/response_cache.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"

namespace petdns::plugins::cache {

struct CacheOptions {
  size_t capacity = 10000;  // entries
  TtlPolicy ttl;            // success/denial caps and the floor
  uint32_t prefetch = 10;   // hits in the last 10% of the TTL that trigger a refresh; 0 = off
  std::chrono::seconds serve_stale{3600};  // how long past expiry an entry may be served; 0 = off
  uint32_t stale_ttl = 30;                 // TTL of a stale answer (RFC 8767 §4)
};

// The time source, injectable for tests.
using CacheClock = std::function<TimePoint()>;

class CachePlugin final : public chain::Plugin, public chain::ReplyObserver {
 public:
  CachePlugin(CacheOptions options, CacheMetrics metrics, CacheClock clock = nullptr);

  std::string_view Name() const noexcept override { return "cache"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept override;

  const ResponseCache& store() const noexcept { return store_; }
  const CacheMetrics& metrics() const noexcept { return metrics_; }

  // Completes stored wire copied into `buffer` (first `length` bytes) for the query `q`: echoes
  // the question's case and the RD bit, appends an OPT record when the query had EDNS. Returns
  // the new length (0 if it does not fit).
  static size_t FinishForQuery(const chain::Query& q, std::span<uint8_t> buffer,
                               size_t length) noexcept;
  // Counts a stale answer (also used by a relay that outlives the current Serve).
  void CountStale() noexcept { metrics_.served_stale->Increment(); }

 private:
  chain::Outcome ReplyFromEntry(chain::Query& q, const ResponseCache::Entry& entry, TimePoint now,
                                const uint32_t* fixed_ttl) noexcept;
  void Refresh(chain::Query& q, chain::Next next) noexcept;
  chain::Outcome Revalidate(chain::Query& q, chain::Next next,
                            const ResponseCache::Entry& stale) noexcept;
  void UpdateGauges() noexcept;

  CacheOptions options_;
  CacheMetrics metrics_;
  CacheClock clock_;
  ResponseCache store_;
  std::vector<uint8_t> render_;  // one message, reused by every hit
  uint64_t evictions_seen_ = 0;
};

}  // namespace petdns::plugins::cache
