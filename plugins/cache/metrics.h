// The cache plugin's metric families (CoreDNS's cache metrics with the petdns_ prefix). Counters
// are resolved once at setup so the query path only increments. Built on the main thread; the
// counters are incremented on the worker loop.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace petdns::plugins::cache {

struct CacheMetrics {
  std::shared_ptr<prometheus::Registry> registry;      // keeps the counters below alive
  prometheus::Gauge* entries[2] = {nullptr, nullptr};  // by EntryType: success, denial
  prometheus::Counter* hits[2] = {nullptr, nullptr};
  prometheus::Counter* misses = nullptr;
  prometheus::Counter* prefetch = nullptr;
  prometheus::Counter* served_stale = nullptr;
  prometheus::Counter* evictions = nullptr;

  // Adds (or joins, for a second server block) the families; may throw (prometheus-cpp).
  static CacheMetrics Create(std::shared_ptr<prometheus::Registry> registry,
                             const std::string& server) {
    CacheMetrics m;
    m.registry = std::move(registry);
    prometheus::Registry& r = *m.registry;
    auto& entries = prometheus::BuildGauge()
                        .Name("petdns_cache_entries")
                        .Help("Responses in the cache, by type (success or denial).")
                        .Register(r);
    auto& hits = prometheus::BuildCounter()
                     .Name("petdns_cache_hits_total")
                     .Help("Queries answered from the cache, by type.")
                     .Register(r);
    m.entries[0] = &entries.Add({{"server", server}, {"type", "success"}});
    m.entries[1] = &entries.Add({{"server", server}, {"type", "denial"}});
    m.hits[0] = &hits.Add({{"server", server}, {"type", "success"}});
    m.hits[1] = &hits.Add({{"server", server}, {"type", "denial"}});
    auto counter = [&](const char* name, const char* help) {
      return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(
          {{"server", server}});
    };
    m.misses = counter("petdns_cache_misses_total", "Queries the cache could not answer.");
    m.prefetch = counter("petdns_cache_prefetch_total", "Entries refreshed before they expired.");
    m.served_stale = counter("petdns_cache_served_stale_total",
                             "Expired entries served because the rest of the chain failed.");
    m.evictions =
        counter("petdns_cache_evictions_total", "Entries removed to make room for new ones.");
    return m;
  }
};

}  // namespace petdns::plugins::cache
