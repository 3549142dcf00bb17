// Where Kubernetes objects arrive, whatever their source (the API server's list+watch, or the
// manifests directory). Objects are the JSON the API serves (one item of a list, or a watch
// event's object); the sink decodes what DNS needs and drops the rest.
// Called on the main loop thread only.
#pragma once

#include <cstdint>
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

class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // The complete current set of one resource (a list, a relist, a re-read directory). Replaces
  // everything the sink held for that resource, and marks the resource synced.
  virtual void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) = 0;
  // One watch event (ADDED, MODIFIED or DELETED) for one object.
  virtual void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) = 0;
};

}  // namespace petdns::plugins::kubernetes
