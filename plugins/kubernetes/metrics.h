// The kubernetes plugin's metric families, in the process-wide registry. Updated on the main loop
// only (control plane): when an update is published, and once a second from the source's stats.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

#include "plugins/kubernetes/source.h"

namespace petdns::plugins::kubernetes {

class KubernetesMetrics {
 public:
  explicit KubernetesMetrics(prometheus::Registry& registry);

  // A change reached petdns `seconds` before the answer it changes was published.
  void ObserveProgramming(double seconds) { programming_->Observe(seconds); }
  void Published(bool batch, size_t services, size_t endpoints);
  void DecodeErrors(uint64_t total);
  void ManifestErrors(uint64_t total);
  // The source's cumulative counters; counters move by the difference since the last call.
  void SourceStats(const std::vector<kubernetes::SourceStats>& stats);

 private:
  struct PerResource {
    prometheus::Counter* lists = nullptr;
    prometheus::Counter* relists = nullptr;
    prometheus::Counter* watch_restarts = nullptr;
    prometheus::Counter* events = nullptr;
    prometheus::Counter* errors = nullptr;
    prometheus::Gauge* last_sync_age = nullptr;
    kubernetes::SourceStats seen;
  };

  prometheus::Histogram* programming_ = nullptr;
  prometheus::Counter* rebuilds_ = nullptr;
  prometheus::Counter* updates_ = nullptr;
  prometheus::Counter* decode_errors_ = nullptr;
  uint64_t decode_errors_seen_ = 0;
  prometheus::Counter* manifest_errors_ = nullptr;
  uint64_t manifest_errors_seen_ = 0;
  prometheus::Gauge* services_ = nullptr;
  prometheus::Gauge* endpoints_ = nullptr;
  std::array<PerResource, 4> resources_;
};

}  // namespace petdns::plugins::kubernetes
