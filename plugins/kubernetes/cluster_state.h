// The decoded cluster: every Service, EndpointSlice, Pod and Namespace DNS cares about, fed by a
// source through the ObjectSink interface, with an index of slices by the service they belong to.
// Objects are immutable and shared, so a Snapshot (to build records on a pool thread) copies
// pointers, not objects. Every change reports which services it touched, so only their records
// are rebuilt. Main loop thread only.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "plugins/kubernetes/object_sink.h"
#include "plugins/kubernetes/objects.h"

namespace petdns::plugins::kubernetes {

// What a change touched: services by "namespace/name", or everything of a resource (a relist).
struct ClusterChange {
  Resource resource = Resource::kServices;
  bool everything = false;
  std::vector<std::string> services;  // "namespace/name" of services whose records may differ
};

class ClusterState final : public ObjectSink {
 public:
  // Keyed by "namespace/name" ("name" for namespaces), so iteration order is stable.
  struct Snapshot {
    std::map<std::string, std::shared_ptr<const Service>> services;
    std::map<std::string, std::shared_ptr<const EndpointSlice>> slices;
    std::map<std::string, std::shared_ptr<const Pod>> pods;
    std::map<std::string, std::shared_ptr<const Namespace>> namespaces;
    // "namespace/service" → keys of the slices labelled with that service.
    std::map<std::string, std::set<std::string>> slices_by_service;

    // The slices of a service, for BuildServiceRecords.
    std::vector<const EndpointSlice*> SlicesOf(const std::string& service_key) const;
  };

  // `on_change` runs after every change that may alter DNS data.
  explicit ClusterState(std::function<void(const ClusterChange&)> on_change);

  void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) override;
  void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) override;

  const Snapshot& snapshot() const noexcept { return snapshot_; }
  bool synced(Resource resource) const noexcept { return synced_[static_cast<size_t>(resource)]; }
  // Objects that could not be decoded (each also logged).
  uint64_t decode_errors() const noexcept { return decode_errors_; }

 private:
  void IndexSlice(const std::string& key, const EndpointSlice* slice, bool add);
  void Notify(const ClusterChange& change) {
    if (on_change_) on_change_(change);
  }

  std::function<void(const ClusterChange&)> on_change_;
  Snapshot snapshot_;
  std::array<bool, 4> synced_{};
  uint64_t decode_errors_ = 0;
};

}  // namespace petdns::plugins::kubernetes
