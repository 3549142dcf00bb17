#include "plugins/kubernetes/cluster_state.h"

#include "server/common/log.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLog = "plugin/kubernetes";

template <class T>
std::string KeyOf(const T& object) {
  return object.ns + "/" + object.name;
}
std::string KeyOf(const Namespace& object) { return object.name; }

// Decodes `items` into `map` (replace) or applies one event; shared by all four resources.
template <class T, class Decode>
struct Table {
  std::map<std::string, std::shared_ptr<const T>>& map;
  Decode decode;
  uint64_t& errors;

  void Replace(std::vector<nlohmann::json>& items) {
    std::map<std::string, std::shared_ptr<const T>> fresh;
    for (const nlohmann::json& item : items) {
      auto decoded = decode(item);
      if (!decoded) {
        ++errors;
        log::Warning(kLog, "skipped: " + decoded.error().message);
        // Keep what we had for this object rather than lose a record over one bad update.
        std::string key = ObjectKey(item);
        if (auto old = map.find(key); !key.empty() && old != map.end()) fresh.insert(*old);
        continue;
      }
      std::string key = KeyOf(*decoded);
      fresh[key] = std::make_shared<const T>(std::move(*decoded));
    }
    items.clear();
    map.swap(fresh);  // the old map is freed here, after the new one is complete
  }

  void Apply(WatchEventType type, const nlohmann::json& object) {
    if (type == WatchEventType::kDeleted) {
      std::string key = ObjectKey(object);
      if (!key.empty()) {
        // Namespaced objects without metadata.namespace live in "default" (as decoded).
        if (map.erase(key) == 0 && key.find('/') == std::string::npos) map.erase("default/" + key);
      }
      return;
    }
    auto decoded = decode(object);
    if (!decoded) {
      ++errors;
      log::Warning(kLog, "skipped update: " + decoded.error().message);
      return;  // the previous version, if any, stays
    }
    std::string key = KeyOf(*decoded);
    map[key] = std::make_shared<const T>(std::move(*decoded));
  }
};

template <class T, class Decode>
Table<T, Decode> MakeTable(std::map<std::string, std::shared_ptr<const T>>& map, Decode decode,
                           uint64_t& errors) {
  return Table<T, Decode>{map, decode, errors};
}

}  // namespace

ClusterState::ClusterState(std::function<void()> on_change) : on_change_(std::move(on_change)) {}

void ClusterState::ReplaceAll(Resource resource, std::vector<nlohmann::json> items) {
  switch (resource) {
    case Resource::kServices:
      MakeTable(snapshot_.services, DecodeService, decode_errors_).Replace(items);
      break;
    case Resource::kEndpointSlices:
      MakeTable(snapshot_.slices, DecodeEndpointSlice, decode_errors_).Replace(items);
      break;
    case Resource::kPods:
      MakeTable(snapshot_.pods, DecodePod, decode_errors_).Replace(items);
      break;
    case Resource::kNamespaces:
      MakeTable(snapshot_.namespaces, DecodeNamespace, decode_errors_).Replace(items);
      break;
  }
  synced_[static_cast<size_t>(resource)] = true;
  if (on_change_) on_change_();
}

void ClusterState::Apply(Resource resource, WatchEventType type, const nlohmann::json& object) {
  switch (resource) {
    case Resource::kServices:
      MakeTable(snapshot_.services, DecodeService, decode_errors_).Apply(type, object);
      break;
    case Resource::kEndpointSlices:
      MakeTable(snapshot_.slices, DecodeEndpointSlice, decode_errors_).Apply(type, object);
      break;
    case Resource::kPods:
      MakeTable(snapshot_.pods, DecodePod, decode_errors_).Apply(type, object);
      break;
    case Resource::kNamespaces:
      MakeTable(snapshot_.namespaces, DecodeNamespace, decode_errors_).Apply(type, object);
      break;
  }
  if (on_change_) on_change_();
}

}  // namespace petdns::plugins::kubernetes
