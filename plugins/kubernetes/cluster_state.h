// The decoded cluster: every Service, EndpointSlice, Pod and Namespace DNS cares about, fed by a
// source through the ObjectSink interface. Each Service is kept together with the EndpointSlices
// labelled with its name, which is everything its records are built from. Every change reports
// the services whose records it may alter; a list (or relist) is compared with what is held, so
// an object that did not change keeps its decoded copy and touches nothing. Objects are immutable
// and shared, so a rebuild on a pool thread holds pointers, not copies. Main loop thread only.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/kubernetes/object_sink.h"
#include "plugins/kubernetes/objects.h"

namespace petdns::plugins::kubernetes {

// What a change touched. For services and slices: the services ("namespace/name") whose records
// may differ, possibly repeated; for pods and namespaces the resource says it all.
struct ClusterChange {
  Resource resource = Resource::kServices;
  std::vector<std::string> services;
};

class ClusterState final : public ObjectSink {
 public:
  // A Service and the EndpointSlices labelled with its name. Either may come first: an entry
  // whose Service is not known (yet) has slices only.
  struct ServiceEntry {
    std::shared_ptr<const Service> service;
    std::vector<std::shared_ptr<const EndpointSlice>> slices;  // ordered by slice name

    // The slices, for BuildServiceRecords.
    std::vector<const EndpointSlice*> SlicePointers() const;
  };
  // Keyed by "namespace/name" ("name" for namespaces), so iteration order is stable.
  using ServiceMap = std::map<std::string, ServiceEntry, std::less<>>;
  template <class T>
  using Map = std::map<std::string, std::shared_ptr<const T>, std::less<>>;

  // `on_change` runs after every change that may alter DNS data, and after every complete list.
  explicit ClusterState(std::function<void(const ClusterChange&)> on_change);
  ~ClusterState() override;

  void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) override;
  // Decodes each item as it arrives; Commit compares the result with what is held.
  std::unique_ptr<ListBuilder> BeginList(Resource resource) override;
  void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) override;

  const ServiceMap& services() const noexcept { return services_; }
  const ServiceEntry* FindService(std::string_view key) const;
  const Map<Pod>& pods() const noexcept { return pods_; }
  const Map<Namespace>& namespaces() const noexcept { return namespaces_; }
  size_t slice_count() const noexcept { return slices_.size(); }

  bool synced(Resource resource) const noexcept { return synced_[static_cast<size_t>(resource)]; }
  // Objects that could not be decoded (each also logged).
  uint64_t decode_errors() const noexcept { return decode_errors_; }

 private:
  class List;
  using Touched = std::vector<std::string>;

  // Store or remove one object, adding the services whose records change to `touched`. Storing
  // an object equal to the one held changes nothing. They return whether anything changed.
  bool PutService(std::shared_ptr<const Service> service, Touched& touched);
  bool EraseService(std::string_view key, Touched& touched);
  bool PutSlice(std::shared_ptr<const EndpointSlice> slice, Touched& touched);
  bool EraseSlice(std::string_view key, Touched& touched);
  void Index(const std::shared_ptr<const EndpointSlice>& slice, Touched& touched);
  void Unindex(const std::shared_ptr<const EndpointSlice>& slice, Touched& touched);

  void Notify(const ClusterChange& change) {
    if (on_change_) on_change_(change);
  }

  std::function<void(const ClusterChange&)> on_change_;
  ServiceMap services_;
  // Every slice by "namespace/name", labelled or not: what an update or delete replaces.
  std::unordered_map<std::string, std::shared_ptr<const EndpointSlice>> slices_;
  Map<Pod> pods_;
  Map<Namespace> namespaces_;
  std::array<bool, 4> synced_{};
  uint64_t decode_errors_ = 0;
};

}  // namespace petdns::plugins::kubernetes
