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

template <class T>
using Map = std::map<std::string, std::shared_ptr<const T>>;

// A full list replaces the map; an object that fails to decode keeps its previous version rather
// than lose a record over one bad update.
template <class T, class Decode>
Map<T> Decoded(std::vector<nlohmann::json>& items, const Map<T>& current, Decode decode,
               uint64_t& errors) {
  Map<T> fresh;
  for (const nlohmann::json& item : items) {
    auto decoded = decode(item);
    if (!decoded) {
      ++errors;
      log::Warning(kLog, "skipped: " + decoded.error().message);
      std::string key = ObjectKey(item);
      if (auto old = current.find(key); !key.empty() && old != current.end()) fresh.insert(*old);
      continue;
    }
    std::string key = KeyOf(*decoded);
    fresh[key] = std::make_shared<const T>(std::move(*decoded));
  }
  items.clear();
  return fresh;
}

// One watch event. Returns the previous and the new version (either may be null).
template <class T, class Decode>
std::pair<std::shared_ptr<const T>, std::shared_ptr<const T>> Applied(Map<T>& map,
                                                                      WatchEventType type,
                                                                      const nlohmann::json& object,
                                                                      Decode decode,
                                                                      uint64_t& errors) {
  if (type == WatchEventType::kDeleted) {
    std::string key = ObjectKey(object);
    auto it = map.find(key);
    // Namespaced objects without metadata.namespace were stored under "default".
    if (it == map.end() && key.find('/') == std::string::npos) it = map.find("default/" + key);
    if (it == map.end()) return {};
    auto old = it->second;
    map.erase(it);
    return {old, nullptr};
  }
  auto decoded = decode(object);
  if (!decoded) {
    ++errors;
    log::Warning(kLog, "skipped update: " + decoded.error().message);
    return {};  // the previous version, if any, stays
  }
  std::string key = KeyOf(*decoded);
  auto fresh = std::make_shared<const T>(std::move(*decoded));
  auto& slot = map[key];
  auto old = slot;
  slot = fresh;
  return {old, fresh};
}

std::string ServiceOf(const EndpointSlice& slice) {
  return slice.service.empty() ? std::string() : slice.ns + "/" + slice.service;
}

}  // namespace

std::vector<const EndpointSlice*> ClusterState::Snapshot::SlicesOf(
    const std::string& service_key) const {
  std::vector<const EndpointSlice*> out;
  auto it = slices_by_service.find(service_key);
  if (it == slices_by_service.end()) return out;
  for (const std::string& slice_key : it->second) {
    if (auto slice = slices.find(slice_key); slice != slices.end())
      out.push_back(slice->second.get());
  }
  return out;
}

ClusterState::ClusterState(std::function<void(const ClusterChange&)> on_change)
    : on_change_(std::move(on_change)) {}

void ClusterState::IndexSlice(const std::string& key, const EndpointSlice* slice, bool add) {
  if (slice == nullptr) return;
  std::string service = ServiceOf(*slice);
  if (service.empty()) return;
  auto& keys = snapshot_.slices_by_service[service];
  if (add) {
    keys.insert(key);
  } else {
    keys.erase(key);
    if (keys.empty()) snapshot_.slices_by_service.erase(service);
  }
}

void ClusterState::ReplaceAll(Resource resource, std::vector<nlohmann::json> items) {
  switch (resource) {
    case Resource::kServices:
      snapshot_.services = Decoded(items, snapshot_.services, DecodeService, decode_errors_);
      break;
    case Resource::kEndpointSlices:
      snapshot_.slices = Decoded(items, snapshot_.slices, DecodeEndpointSlice, decode_errors_);
      snapshot_.slices_by_service.clear();
      for (const auto& [key, slice] : snapshot_.slices) IndexSlice(key, slice.get(), true);
      break;
    case Resource::kPods:
      snapshot_.pods = Decoded(items, snapshot_.pods, DecodePod, decode_errors_);
      break;
    case Resource::kNamespaces:
      snapshot_.namespaces = Decoded(items, snapshot_.namespaces, DecodeNamespace, decode_errors_);
      break;
  }
  synced_[static_cast<size_t>(resource)] = true;
  Notify(ClusterChange{resource, true, {}});
}

void ClusterState::Apply(Resource resource, WatchEventType type, const nlohmann::json& object) {
  ClusterChange change{resource, false, {}};
  switch (resource) {
    case Resource::kServices: {
      auto [old, fresh] = Applied(snapshot_.services, type, object, DecodeService, decode_errors_);
      if (old) change.services.push_back(KeyOf(*old));
      if (fresh && (!old || KeyOf(*fresh) != KeyOf(*old))) change.services.push_back(KeyOf(*fresh));
      if (!old && !fresh) return;
      break;
    }
    case Resource::kEndpointSlices: {
      auto [old, fresh] =
          Applied(snapshot_.slices, type, object, DecodeEndpointSlice, decode_errors_);
      if (!old && !fresh) return;
      if (old) {
        IndexSlice(KeyOf(*old), old.get(), false);
        if (std::string s = ServiceOf(*old); !s.empty()) change.services.push_back(s);
      }
      if (fresh) {
        IndexSlice(KeyOf(*fresh), fresh.get(), true);
        std::string s = ServiceOf(*fresh);
        if (!s.empty() && (change.services.empty() || change.services.front() != s)) {
          change.services.push_back(s);
        }
      }
      break;
    }
    case Resource::kPods: {
      auto [old, fresh] = Applied(snapshot_.pods, type, object, DecodePod, decode_errors_);
      if (!old && !fresh) return;
      change.everything = true;  // pod records are rebuilt whole (verified mode only)
      break;
    }
    case Resource::kNamespaces: {
      auto [old, fresh] =
          Applied(snapshot_.namespaces, type, object, DecodeNamespace, decode_errors_);
      if (!old && !fresh) return;
      change.everything = true;
      break;
    }
  }
  Notify(change);
}

}  // namespace petdns::plugins::kubernetes
