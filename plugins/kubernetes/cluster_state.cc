#include "plugins/kubernetes/cluster_state.h"

#include <algorithm>
#include <unordered_set>

#include "server/common/log.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLog = "plugin/kubernetes";

template <class T>
std::string KeyOf(const T& object) {
  return object.ns + "/" + object.name;
}
std::string KeyOf(const Namespace& object) { return object.name; }

std::string ServiceOf(const EndpointSlice& slice) {
  return slice.service.empty() ? std::string() : slice.ns + "/" + slice.service;
}

// The key an object is stored under, from its JSON: namespaced objects written without
// metadata.namespace were stored under "default".
std::string StoredKey(Resource resource, const nlohmann::json& object) {
  std::string key = ObjectKey(object);
  if (!key.empty() && resource != Resource::kNamespaces && key.find('/') == std::string::npos) {
    key = "default/" + key;
  }
  return key;
}

template <class T>
bool Same(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  return a == b || (a != nullptr && b != nullptr && *a == *b);
}

// Pods and namespaces: a plain map each.
template <class T>
bool Put(ClusterState::Map<T>& map, std::shared_ptr<const T> object) {
  auto& slot = map[KeyOf(*object)];
  if (Same(slot, object)) return false;
  slot = std::move(object);
  return true;
}

template <class T>
bool Erase(ClusterState::Map<T>& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) return false;
  map.erase(it);
  return true;
}

}  // namespace

// Decodes a list's items as they arrive. An item equal to the object held is staged as that very
// object, so a relist of an unchanged cluster allocates (almost) nothing that outlives the item's
// JSON, and Commit finds nothing to do.
class ClusterState::List final : public ListBuilder {
 public:
  List(ClusterState& state, Resource resource) : state_(state), resource_(resource) {}

  void Add(const nlohmann::json& item) override {
    switch (resource_) {
      case Resource::kServices:
        Stage(item, DecodeService, services_, [this](const std::string& key) {
          const ServiceEntry* entry = state_.FindService(key);
          return entry != nullptr ? entry->service : nullptr;
        });
        break;
      case Resource::kEndpointSlices:
        Stage(item, DecodeEndpointSlice, slices_, [this](const std::string& key) {
          auto it = state_.slices_.find(key);
          return it != state_.slices_.end() ? it->second : nullptr;
        });
        break;
      case Resource::kPods:
        Stage(item, DecodePod, pods_,
              [this](const std::string& key) { return Held(state_.pods_, key); });
        break;
      case Resource::kNamespaces:
        Stage(item, DecodeNamespace, namespaces_,
              [this](const std::string& key) { return Held(state_.namespaces_, key); });
        break;
    }
  }

  void Commit() override {
    ClusterState& s = state_;
    ClusterChange change{resource_, {}};
    Touched& touched = change.services;
    switch (resource_) {
      case Resource::kServices:
        for (auto& service : services_) s.PutService(std::move(service), touched);
        for (const std::string& key : Absent(
                 s.services_, [](const auto& entry) { return entry.second.service != nullptr; })) {
          s.EraseService(key, touched);
        }
        break;
      case Resource::kEndpointSlices:
        for (auto& slice : slices_) s.PutSlice(std::move(slice), touched);
        for (const std::string& key : Absent(s.slices_, [](const auto&) { return true; })) {
          s.EraseSlice(key, touched);
        }
        break;
      case Resource::kPods:
        for (auto& pod : pods_) Put(s.pods_, std::move(pod));
        for (const std::string& key : Absent(s.pods_, [](const auto&) { return true; })) {
          Erase(s.pods_, key);
        }
        break;
      case Resource::kNamespaces:
        for (auto& ns : namespaces_) Put(s.namespaces_, std::move(ns));
        for (const std::string& key : Absent(s.namespaces_, [](const auto&) { return true; })) {
          Erase(s.namespaces_, key);
        }
        break;
    }
    s.synced_[static_cast<size_t>(resource_)] = true;
    s.Notify(change);
  }

 private:
  template <class T>
  static std::shared_ptr<const T> Held(const Map<T>& map, const std::string& key) {
    auto it = map.find(key);
    return it != map.end() ? it->second : nullptr;
  }

  // A list replaces what is held, except that an object that fails to decode keeps its previous
  // version rather than lose a record over one bad update.
  template <class T, class Decode, class Find>
  void Stage(const nlohmann::json& item, Decode decode, std::vector<std::shared_ptr<const T>>& out,
             Find held) {
    Result<T> decoded = decode(item);
    if (!decoded) {
      ++state_.decode_errors_;
      log::Warning(kLog, "skipped: " + decoded.error().message);
      if (std::string key = StoredKey(resource_, item); !key.empty()) listed_.insert(key);
      return;
    }
    std::string key = KeyOf(*decoded);
    std::shared_ptr<const T> current = held(key);
    listed_.insert(std::move(key));
    if (current != nullptr && *current == *decoded) {
      out.push_back(std::move(current));
    } else {
      out.push_back(std::make_shared<const T>(std::move(*decoded)));
    }
  }

  // Keys held (and matching `held`) that the list did not name: deleted while not watched.
  template <class M, class Pred>
  std::vector<std::string> Absent(const M& map, Pred held) const {
    std::vector<std::string> out;
    for (const auto& entry : map) {
      if (held(entry) && listed_.count(entry.first) == 0) out.push_back(entry.first);
    }
    return out;
  }

  ClusterState& state_;
  Resource resource_;
  std::unordered_set<std::string> listed_;  // keys of every item, decoded or not
  std::vector<std::shared_ptr<const Service>> services_;
  std::vector<std::shared_ptr<const EndpointSlice>> slices_;
  std::vector<std::shared_ptr<const Pod>> pods_;
  std::vector<std::shared_ptr<const Namespace>> namespaces_;
};

std::vector<const EndpointSlice*> ClusterState::ServiceEntry::SlicePointers() const {
  std::vector<const EndpointSlice*> out;
  out.reserve(slices.size());
  for (const auto& slice : slices) out.push_back(slice.get());
  return out;
}

ClusterState::ClusterState(std::function<void(const ClusterChange&)> on_change)
    : on_change_(std::move(on_change)) {}

ClusterState::~ClusterState() = default;

const ClusterState::ServiceEntry* ClusterState::FindService(std::string_view key) const {
  auto it = services_.find(key);
  return it != services_.end() ? &it->second : nullptr;
}

bool ClusterState::PutService(std::shared_ptr<const Service> service, Touched& touched) {
  std::string key = KeyOf(*service);
  ServiceEntry& entry = services_[key];
  if (Same(entry.service, service)) return false;
  entry.service = std::move(service);
  touched.push_back(std::move(key));
  return true;
}

bool ClusterState::EraseService(std::string_view key, Touched& touched) {
  auto it = services_.find(key);
  if (it == services_.end() || it->second.service == nullptr) return false;
  touched.emplace_back(key);
  it->second.service.reset();
  if (it->second.slices.empty()) services_.erase(it);
  return true;
}

bool ClusterState::PutSlice(std::shared_ptr<const EndpointSlice> slice, Touched& touched) {
  auto& slot = slices_[KeyOf(*slice)];
  if (Same(slot, slice)) return false;
  if (slot != nullptr) Unindex(slot, touched);
  slot = std::move(slice);
  Index(slot, touched);
  return true;
}

bool ClusterState::EraseSlice(std::string_view key, Touched& touched) {
  auto it = slices_.find(std::string(key));
  if (it == slices_.end()) return false;
  Unindex(it->second, touched);
  slices_.erase(it);
  return true;
}

void ClusterState::Index(const std::shared_ptr<const EndpointSlice>& slice, Touched& touched) {
  std::string service = ServiceOf(*slice);
  if (service.empty()) return;
  auto& slices = services_[service].slices;
  auto at = std::lower_bound(slices.begin(), slices.end(), slice->name,
                             [](const auto& s, const std::string& name) { return s->name < name; });
  slices.insert(at, slice);
  touched.push_back(std::move(service));
}

void ClusterState::Unindex(const std::shared_ptr<const EndpointSlice>& slice, Touched& touched) {
  std::string service = ServiceOf(*slice);
  if (service.empty()) return;
  auto it = services_.find(service);
  if (it == services_.end()) return;
  auto& slices = it->second.slices;
  slices.erase(std::remove(slices.begin(), slices.end(), slice), slices.end());
  if (slices.empty() && it->second.service == nullptr) services_.erase(it);
  touched.push_back(std::move(service));
}

std::unique_ptr<ListBuilder> ClusterState::BeginList(Resource resource) {
  return std::make_unique<List>(*this, resource);
}

void ClusterState::ReplaceAll(Resource resource, std::vector<nlohmann::json> items) {
  List list(*this, resource);
  for (nlohmann::json& item : items) {
    list.Add(item);
    item = nullptr;  // the decoded copy is all that is needed from here on
  }
  items.clear();
  list.Commit();
}

void ClusterState::Apply(Resource resource, WatchEventType type, const nlohmann::json& object) {
  ClusterChange change{resource, {}};
  Touched& touched = change.services;
  bool changed = false;
  if (type == WatchEventType::kDeleted) {
    std::string key = StoredKey(resource, object);
    switch (resource) {
      case Resource::kServices:
        changed = EraseService(key, touched);
        break;
      case Resource::kEndpointSlices:
        changed = EraseSlice(key, touched);
        break;
      case Resource::kPods:
        changed = Erase(pods_, key);
        break;
      case Resource::kNamespaces:
        changed = Erase(namespaces_, key);
        break;
    }
  } else {
    auto decoded = [&](auto decode) {
      auto result = decode(object);
      if (!result) {
        ++decode_errors_;
        log::Warning(kLog, "skipped update: " + result.error().message);
      }
      return result;  // the previous version, if any, stays
    };
    switch (resource) {
      case Resource::kServices:
        if (auto s = decoded(DecodeService)) {
          changed = PutService(std::make_shared<const Service>(std::move(*s)), touched);
        }
        break;
      case Resource::kEndpointSlices:
        if (auto s = decoded(DecodeEndpointSlice)) {
          changed = PutSlice(std::make_shared<const EndpointSlice>(std::move(*s)), touched);
        }
        break;
      case Resource::kPods:
        if (auto p = decoded(DecodePod)) {
          changed = Put(pods_, std::make_shared<const Pod>(std::move(*p)));
        }
        break;
      case Resource::kNamespaces:
        if (auto n = decoded(DecodeNamespace)) {
          changed = Put(namespaces_, std::make_shared<const Namespace>(std::move(*n)));
        }
        break;
    }
  }
  if (changed) Notify(change);
}

}  // namespace petdns::plugins::kubernetes
