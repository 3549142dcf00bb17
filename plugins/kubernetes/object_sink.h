// Where Kubernetes objects arrive, whatever their source (the API server's list+watch, or the
// manifests directory). Objects are the JSON the API serves (one item of a list, or a watch
// event's object); the sink decodes what DNS needs and drops the rest.
// Called on the main loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace petdns::plugins::kubernetes {

// The four resources DNS is built from.
enum class Resource : uint8_t { kServices, kEndpointSlices, kPods, kNamespaces };
inline constexpr Resource kAllResources[] = {Resource::kServices, Resource::kEndpointSlices,
                                             Resource::kPods, Resource::kNamespaces};

std::string_view ResourceName(Resource resource) noexcept;  // "services", "endpointslices", ...

enum class WatchEventType : uint8_t { kAdded, kModified, kDeleted };

// A complete list of one resource, handed over item by item as it arrives (ObjectSink::BeginList)
// so that a large list never has to be held as JSON. Nothing changes in the sink before Commit;
// dropping the builder without Commit (the list failed half-way) leaves the sink as it was.
class ListBuilder {
 public:
  virtual ~ListBuilder() = default;
  virtual void Add(const nlohmann::json& item) = 0;
  // The items added are now the complete set: as ObjectSink::ReplaceAll.
  virtual void Commit() = 0;
};

class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // The complete current set of one resource (a list, a relist, a re-read directory). Replaces
  // everything the sink held for that resource, and marks the resource synced.
  virtual void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) = 0;
  // The same, item by item. The default gathers the items and calls ReplaceAll on Commit; a sink
  // that decodes items as they come overrides it. The builder must not outlive the sink.
  virtual std::unique_ptr<ListBuilder> BeginList(Resource resource);
  // One watch event (ADDED, MODIFIED or DELETED) for one object.
  virtual void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) = 0;
};

}  // namespace petdns::plugins::kubernetes
