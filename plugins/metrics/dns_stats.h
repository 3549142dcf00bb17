// Lock-free DNS request/response counters of one server block and the prometheus Collectable that
// exports every block's counters (plus petdns_build_info and process_* metrics) at scrape time.
// Record() runs on worker loops: relaxed atomic adds into fixed arrays whose shape (zones, plugins)
// is fixed at setup, so no allocation and no lock per query. Collect() runs on the exposer's
// threads; Attach() on the main thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/listener/packet_handler.h"
#include "server/wire/dns.h"

namespace petdns::plugins::metrics {

// What one reply contributes to the counters.
struct ReplySample {
  std::string_view zone;  // matched zone, lower-case wire form
  listener::Transport transport = listener::Transport::kUdp;
  bool ipv6 = false;
  uint16_t qtype = 0;
  uint16_t rcode = 0;
  std::string_view plugin;  // who replied; "" when none did
  size_t request_size = 0;
  size_t response_size = 0;
  std::chrono::nanoseconds duration{0};
};

class BlockStats {
 public:
  // `server` is the label value ("dns://127.0.0.1:53"); `zones` are lower-case wire names;
  // `plugins` the names a reply may be attributed to.
  BlockStats(std::string server, std::vector<std::string> zones, std::vector<std::string> plugins);
  BlockStats(const BlockStats&) = delete;
  BlockStats& operator=(const BlockStats&) = delete;

  // Counts requests, durations and sizes; any thread, lock-free.
  void Record(const ReplySample& sample) noexcept;
  // Counts the response by rcode and replier (petdns_dns_responses_total); lock-free.
  void RecordResponse(std::string_view zone, uint16_t rcode, std::string_view plugin) noexcept;

  // Appends this block's non-zero series to the five DNS families (in ExportFamilies order).
  void Export(std::span<prometheus::MetricFamily> families) const;

  // Whether a block set up again (reload) can keep counting into this object.
  bool SameShape(const std::string& server, const std::vector<std::string>& zones,
                 const std::vector<std::string>& plugins) const noexcept;

  // For tests: the request count of one (zone, proto, family, type) cell.
  uint64_t Requests(std::string_view zone, listener::Transport transport, bool ipv6,
                    uint16_t qtype) const noexcept;
  uint64_t Responses(std::string_view zone, uint16_t rcode, std::string_view plugin) const noexcept;

 private:
  using Counter = std::atomic<uint64_t>;
  size_t ZoneIndex(std::string_view zone) const noexcept;
  size_t PluginIndex(std::string_view plugin) const noexcept;

  std::string server_;
  std::vector<std::string> zones_;  // wire; one extra slot at the end for an unknown zone
  std::vector<std::string> zone_labels_;
  std::vector<std::string> plugins_;  // slot 0 is "" (no plugin replied)
  size_t z_, p_;
  std::unique_ptr<Counter[]> requests_;        // [zone][proto][family][type]
  std::unique_ptr<Counter[]> responses_;       // [zone][rcode][plugin]
  std::unique_ptr<Counter[]> duration_;        // [zone][type][bucket] (+Inf last)
  std::unique_ptr<Counter[]> duration_ns_;     // [zone][type]
  std::unique_ptr<Counter[]> request_size_;    // [zone][proto][bucket]
  std::unique_ptr<Counter[]> request_bytes_;   // [zone][proto]
  std::unique_ptr<Counter[]> response_size_;   // [zone][proto][bucket]
  std::unique_ptr<Counter[]> response_bytes_;  // [zone][proto]
};

// The process-wide exporter of every block's BlockStats, kept by the server so reloads keep the
// counters growing.
class DnsCollector final : public prometheus::Collectable {
 public:
  DnsCollector();
  // The stats for a block of this shape: the existing object after a reload, else a new one.
  std::shared_ptr<BlockStats> Attach(const std::string& server, std::vector<std::string> zones,
                                     std::vector<std::string> plugins);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mutex_;  // guards blocks_ (setup vs scrape; never taken per query)
  std::vector<std::shared_ptr<BlockStats>> blocks_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, … read from /proc/self now.
std::vector<prometheus::MetricFamily> ProcessFamilies();

// The names of the query types with their own `type` label value; others are "other".
std::string_view TypeName(uint16_t qtype) noexcept;
std::string_view RcodeName(uint16_t rcode) noexcept;

}  // namespace petdns::plugins::metrics
