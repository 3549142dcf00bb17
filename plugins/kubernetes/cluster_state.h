// The decoded cluster: every Service, EndpointSlice, Pod and Namespace DNS cares about, fed by a
// source through the ObjectSink interface. Objects are immutable and shared, so taking a Snapshot
// (to build zones on a pool thread) copies pointers, not objects. Main loop thread only.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "plugins/kubernetes/object_sink.h"
#include "plugins/kubernetes/objects.h"

namespace petdns::plugins::kubernetes {

class ClusterState final : public ObjectSink {
 public:
  // Keyed by "namespace/name" ("name" for namespaces), so iteration order is stable.
  struct Snapshot {
    std::map<std::string, std::shared_ptr<const Service>> services;
    std::map<std::string, std::shared_ptr<const EndpointSlice>> slices;
    std::map<std::string, std::shared_ptr<const Pod>> pods;
    std::map<std::string, std::shared_ptr<const Namespace>> namespaces;
  };

  // `on_change` runs after every change that may alter DNS data.
  explicit ClusterState(std::function<void()> on_change);

  void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) override;
  void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) override;

  const Snapshot& snapshot() const noexcept { return snapshot_; }
  bool synced(Resource resource) const noexcept { return synced_[static_cast<size_t>(resource)]; }
  // Objects that could not be decoded (each also logged).
  uint64_t decode_errors() const noexcept { return decode_errors_; }

 private:
  std::function<void()> on_change_;
  Snapshot snapshot_;
  std::array<bool, 4> synced_{};
  uint64_t decode_errors_ = 0;
};

}  // namespace petdns::plugins::kubernetes
