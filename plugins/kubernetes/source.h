// A running feed of Kubernetes objects into an ObjectSink: the API server (api/) or a manifests
// directory (manifests/). Main loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "plugins/kubernetes/object_sink.h"

namespace petdns::plugins::kubernetes {

// Cumulative counters of one resource's feed, for metrics.
struct SourceStats {
  Resource resource = Resource::kServices;
  uint64_t lists = 0;           // complete lists (or directory reads)
  uint64_t relists = 0;         // lists after the first
  uint64_t watch_restarts = 0;  // watches begun again without a relist
  uint64_t events = 0;          // watch events applied
  uint64_t errors = 0;          // failed requests
  // When the resource was last known to be in sync (a list, an event or a bookmark).
  std::optional<std::chrono::system_clock::time_point> last_sync;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual void Start() = 0;
  virtual void Stop() = 0;
  virtual std::vector<SourceStats> Stats() const { return {}; }
  // Problems found in the source's own input so far (the manifests directory's files).
  virtual uint64_t InputErrors() const { return 0; }
};

}  // namespace petdns::plugins::kubernetes
