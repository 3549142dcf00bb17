#include "plugins/kubernetes/manifests/manifest_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "plugins/kubernetes/manifests/yaml_to_json.h"
#include "server/common/log.h"

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

constexpr std::string_view kLogPrefix = "plugin/kubernetes";
constexpr uintmax_t kMaxFileBytes = 16u << 20;
constexpr int64_t kMaxReplicas = 10000;
constexpr std::string_view kEpoch = "1970-01-01T00:00:00Z";
constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
constexpr std::string_view kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
constexpr std::string_view kHeadlessLabel = "service.kubernetes.io/headless";
constexpr std::string_view kPodNameLabel = "statefulset.kubernetes.io/pod-name";
constexpr std::string_view kPodIndexLabel = "apps.kubernetes.io/pod-index";
constexpr std::string_view kRevisionLabel = "controller-revision-hash";
constexpr std::string_view kDefaultNamespaces[] = {"default", "kube-public", "kube-system"};

// ---- small JSON helpers (never throw on a wrong type) ----

// The member, or nullptr when it is absent or null.
const json* Field(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return (it == object.end() || it->is_null()) ? nullptr : &*it;
}

json* Field(json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return (it == object.end() || it->is_null()) ? nullptr : &*it;
}

std::string String(const json& object, std::string_view key) {
  const json* v = Field(object, key);
  return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

std::optional<int64_t> AsInt(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  return v.get<int64_t>();
}

std::optional<int64_t> ParseNonNegative(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Object members are taken by const reference to a sub-object; ensure it exists as an object.
json& ObjectMember(json& object, std::string_view key) {
  json& member = object[std::string(key)];
  if (!member.is_object()) member = json::object();
  return member;
}

std::string Quoted(const json& v) { return v.dump(); }

bool IsDnsLabel(std::string_view s, bool alpha_first) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') return false;
    if ((i == 0 || i + 1 == s.size()) && c == '-') return false;
  }
  return !alpha_first || (s[0] >= 'a' && s[0] <= 'z');
}

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot - start), false)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsIp(std::string_view s) { return IpPool::FamilyOf(s).has_value(); }

std::string Hex(uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 0xf];
  return out;
}

// A UUID-shaped id derived from the object's identity, stable across loads.
std::string StableUid(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string key = std::string(kind) + "/" + std::string(ns) + "/" + std::string(name);
  uint64_t a = StableHash(key), b = StableHash(key + "#");
  std::string h = Hex(a, 16) + Hex(b, 16);
  h[12] = '4';  // version 4 layout, so tools that parse uids accept it
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// ---- kinds ----

enum class Kind : uint8_t { kService, kEndpointSlice, kPod, kNamespace, kStatefulSet };

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kService:
      return "Service";
    case Kind::kEndpointSlice:
      return "EndpointSlice";
    case Kind::kPod:
      return "Pod";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kStatefulSet:
      return "StatefulSet";
  }
  return "?";
}

std::string_view Group(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

// The kept kind for (kind, apiVersion), or nullopt for everything petdns ignores (ConfigMap,
// Deployment, a Knative "Service" of another API group, ...). A missing apiVersion is accepted.
std::optional<Kind> Classify(std::string_view kind, std::string_view api_version) {
  bool core = api_version.empty() || api_version == "v1";
  if (kind == "Service" && core) return Kind::kService;
  if (kind == "Pod" && core) return Kind::kPod;
  if (kind == "Namespace" && core) return Kind::kNamespace;
  if (kind == "EndpointSlice" &&
      (api_version.empty() || Group(api_version) == "discovery.k8s.io")) {
    return Kind::kEndpointSlice;
  }
  // PetSet (apps/v1alpha1) is the StatefulSet of the walkthroughs users copy from.
  if ((kind == "StatefulSet" || kind == "PetSet") &&
      (api_version.empty() || Group(api_version) == "apps")) {
    return Kind::kStatefulSet;
  }
  return std::nullopt;
}

std::optional<Kind> KindOf(const json& object) {
  std::string kind = String(object, "kind");
  if (kind == "Service") return Kind::kService;
  if (kind == "EndpointSlice") return Kind::kEndpointSlice;
  if (kind == "Pod") return Kind::kPod;
  if (kind == "Namespace") return Kind::kNamespace;
  if (kind == "StatefulSet") return Kind::kStatefulSet;
  return std::nullopt;
}

std::string Describe(Kind kind, std::string_view ns, std::string_view name) {
  std::string out(KindName(kind));
  out += ' ';
  if (!ns.empty()) out += std::string(ns) + "/";
  out += name;
  return out;
}

std::string Describe(const json& object) {
  auto kind = KindOf(object);
  const json& meta = object.value("metadata", json::object());
  return Describe(kind.value_or(Kind::kPod), String(meta, "namespace"), String(meta, "name"));
}

// ---- validation and defaulting of one object ----

// Returns an error message, or "" when `value` (at `path`) is a map of strings.
std::string CheckStringMap(const json* value, std::string_view path) {
  if (value == nullptr) return "";
  if (!value->is_object()) return std::string(path) + ": must be a mapping";
  for (const auto& [key, v] : value->items()) {
    if (!v.is_string()) {
      return std::string(path) + "[\"" + key + "\"]: must be a string, got " + Quoted(v) +
             " (quote it)";
    }
  }
  return "";
}

Status Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

Status NormalizeService(json& object) {
  json* spec_ptr = Field(object, "spec");
  if (spec_ptr != nullptr && !spec_ptr->is_object()) return Invalid("spec: must be a mapping");
  json& spec = ObjectMember(object, "spec");

  if (!spec.contains("type") || spec["type"].is_null()) spec["type"] = "ClusterIP";
  const json& type = spec["type"];
  if (!type.is_string() || (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" &&
                            type != "ExternalName")) {
    return Invalid("spec.type: unknown service type " + Quoted(type));
  }
  bool external_name = type == "ExternalName";

  if (auto err = CheckStringMap(Field(spec, "selector"), "spec.selector"); !err.empty()) {
    return Invalid(err);
  }
  if (const json* pna = Field(spec, "publishNotReadyAddresses"); pna && !pna->is_boolean()) {
    return Invalid("spec.publishNotReadyAddresses: must be true or false, got " + Quoted(*pna));
  }

  if (json* ports = Field(spec, "ports"); ports != nullptr) {
    if (!ports->is_array()) return Invalid("spec.ports: must be a list");
    for (size_t i = 0; i < ports->size(); ++i) {
      json& port = (*ports)[i];
      std::string path = "spec.ports[" + std::to_string(i) + "]";
      if (!port.is_object()) return Invalid(path + ": must be a mapping");
      const json* number = Field(port, "port");
      if (number == nullptr) return Invalid(path + ".port: required");
      auto value = AsInt(*number);
      if (!value || *value < 1 || *value > 65535) {
        return Invalid(path + ".port: must be a number from 1 to 65535, got " + Quoted(*number));
      }
      if (!Field(port, "protocol")) port["protocol"] = "TCP";
      const json& protocol = port["protocol"];
      if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
        return Invalid(path + ".protocol: must be TCP, UDP or SCTP, got " + Quoted(protocol));
      }
      if (const json* name = Field(port, "name"); name && !name->is_string()) {
        return Invalid(path + ".name: must be a string");
      }
      if (ports->size() > 1 && String(port, "name").empty()) {
        return Invalid(path + ".name: required when a service has more than one port");
      }
      const json* target = Field(port, "targetPort");
      if (target == nullptr || (target->is_number_integer() && AsInt(*target) == 0)) {
        port["targetPort"] = *value;  // API defaulting: targetPort = port
      } else if (target->is_number()) {
        auto t = AsInt(*target);
        if (!t || *t < 1 || *t > 65535) {
          return Invalid(path +
                         ".targetPort: must be a number from 1 to 65535 or a port name, "
                         "got " +
                         Quoted(*target));
        }
      } else if (target->is_string()) {
        std::string t = target->get<std::string>();
        // A quoted number is meant as a number (the API would reject it as a port name).
        if (auto n = ParseNonNegative(t); n && *n >= 1 && *n <= 65535) {
          port["targetPort"] = *n;
        } else if (t.empty() || t.size() > 15) {
          return Invalid(path + ".targetPort: not a valid port name: " + Quoted(*target));
        }
      } else {
        return Invalid(path + ".targetPort: must be a number or a port name");
      }
    }
  }

  // clusterIP / clusterIPs
  if (json* ip = Field(spec, "clusterIP"); ip != nullptr) {
    if (!ip->is_string()) return Invalid("spec.clusterIP: must be a string");
    if (ip->get<std::string>().empty()) spec.erase("clusterIP");
  }
  if (json* ips = Field(spec, "clusterIPs"); ips != nullptr) {
    if (!ips->is_array()) return Invalid("spec.clusterIPs: must be a list");
    for (const json& ip : *ips) {
      if (!ip.is_string()) return Invalid("spec.clusterIPs: must be a list of strings");
    }
    if (ips->empty()) spec.erase("clusterIPs");
  }
  if (!external_name) {
    const json* ip = Field(spec, "clusterIP");
    const json* ips = Field(spec, "clusterIPs");
    if (ip == nullptr && ips != nullptr) spec["clusterIP"] = (*ips)[0];
    if (ip != nullptr && ips == nullptr) spec["clusterIPs"] = json::array({*ip});
    if (Field(spec, "clusterIP") != nullptr) {
      if (spec["clusterIP"] != spec["clusterIPs"][0]) {
        return Invalid("spec.clusterIPs[0]: must equal spec.clusterIP");
      }
      for (const json& each : spec["clusterIPs"]) {
        std::string text = each.get<std::string>();
        bool none = text == "None";
        if (none != (spec["clusterIP"] == "None")) {
          return Invalid("spec.clusterIPs: \"None\" cannot be mixed with addresses");
        }
        if (!none && !IsIp(text)) {
          return Invalid("spec.clusterIP: " + Quoted(each) + " is not an IP address");
        }
      }
    }
  } else {
    const json* name = Field(spec, "externalName");
    if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
      return Invalid("spec.externalName: required for an ExternalName service");
    }
  }

  if (const json* families = Field(spec, "ipFamilies"); families != nullptr) {
    if (!families->is_array()) return Invalid("spec.ipFamilies: must be a list");
    for (const json& f : *families) {
      if (f != "IPv4" && f != "IPv6") {
        return Invalid("spec.ipFamilies: unknown family " + Quoted(f));
      }
    }
  }
  if (const json* policy = Field(spec, "ipFamilyPolicy"); policy != nullptr) {
    if (*policy != "SingleStack" && *policy != "PreferDualStack" && *policy != "RequireDualStack") {
      return Invalid("spec.ipFamilyPolicy: unknown policy " + Quoted(*policy));
    }
  }
  if (!Field(spec, "sessionAffinity")) spec["sessionAffinity"] = "None";
  if (!external_name) {
    if (!Field(spec, "ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
    if (!Field(spec, "internalTrafficPolicy")) spec["internalTrafficPolicy"] = "Cluster";
  }
  if (!Field(object, "status")) object["status"] = {{"loadBalancer", json::object()}};
  return {};
}

json Condition(std::string_view type, bool status) {
  json c = {{"type", type},
            {"status", status ? "True" : "False"},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", kEpoch}};
  if (!status) c["reason"] = "ContainersNotReady";
  return c;
}

json PodConditions(bool ready) {
  return json::array({Condition("Initialized", true), Condition("Ready", ready),
                      Condition("ContainersReady", ready), Condition("PodScheduled", true)});
}

// Sets Ready (and ContainersReady) in status.conditions, adding them when absent.
void SetPodReady(json& pod, bool ready) {
  json& status = ObjectMember(pod, "status");
  json& conditions = status["conditions"];
  if (!conditions.is_array() || conditions.empty()) {
    conditions = PodConditions(ready);
    return;
  }
  for (std::string_view type : {"Ready", "ContainersReady"}) {
    bool found = false;
    for (json& c : conditions) {
      if (!c.is_object() || String(c, "type") != type) continue;
      c["status"] = ready ? "True" : "False";
      if (ready) {
        c.erase("reason");
      } else {
        c["reason"] = "ContainersNotReady";
      }
      found = true;
    }
    if (!found) conditions.push_back(Condition(type, ready));
  }
}

bool IsPodReady(const json& pod) {
  const json* status = Field(pod, "status");
  const json* conditions = status ? Field(*status, "conditions") : nullptr;
  if (conditions == nullptr || !conditions->is_array()) return false;
  for (const json& c : *conditions) {
    if (String(c, "type") == "Ready") return String(c, "status") == "True";
  }
  return false;
}

Status NormalizePod(json& object) {
  if (const json* spec = Field(object, "spec"); spec && !spec->is_object()) {
    return Invalid("spec: must be a mapping");
  }
  json& spec = ObjectMember(object, "spec");
  for (std::string_view key : {"hostname", "subdomain"}) {
    if (const json* v = Field(spec, key); v != nullptr) {
      if (!v->is_string() || !IsDnsLabel(v->get<std::string>(), false)) {
        return Invalid("spec." + std::string(key) + ": must be a DNS label, got " + Quoted(*v));
      }
    }
  }
  if (const json* status = Field(object, "status"); status && !status->is_object()) {
    return Invalid("status: must be a mapping");
  }
  json& status = ObjectMember(object, "status");
  if (const json* ip = Field(status, "podIP"); ip != nullptr) {
    if (!ip->is_string() || !IsIp(ip->get<std::string>())) {
      return Invalid("status.podIP: " + Quoted(*ip) + " is not an IP address");
    }
  }
  if (const json* ips = Field(status, "podIPs"); ips != nullptr) {
    if (!ips->is_array()) return Invalid("status.podIPs: must be a list");
    for (const json& entry : *ips) {
      std::string ip = String(entry, "ip");
      if (!IsIp(ip)) return Invalid("status.podIPs: " + Quoted(entry) + " has no valid ip");
    }
    if (ips->empty()) status.erase("podIPs");
  }
  if (Field(status, "podIP") && !Field(status, "podIPs")) {
    status["podIPs"] = json::array({{{"ip", status["podIP"]}}});
  } else if (!Field(status, "podIP") && Field(status, "podIPs")) {
    status["podIP"] = status["podIPs"][0]["ip"];
  }
  if (!Field(status, "phase")) status["phase"] = "Running";
  if (const json* c = Field(status, "conditions"); c && !c->is_array()) {
    return Invalid("status.conditions: must be a list");
  }

  const json* annotations = Field(object["metadata"], "annotations");
  const json* ready = annotations ? Field(*annotations, kPodReadyAnnotation) : nullptr;
  if (ready != nullptr) {
    if (*ready != "true" && *ready != "false") {
      return Invalid("annotation " + std::string(kPodReadyAnnotation) +
                     ": must be \"true\" or \"false\", got " + Quoted(*ready));
    }
    SetPodReady(object, *ready == "true");
  } else if (!Field(status, "conditions")) {
    SetPodReady(object, true);  // a pod written without status is a running, ready pod
  }
  return {};
}

Status NormalizeStatefulSet(json& object) {
  object["kind"] = "StatefulSet";
  object["apiVersion"] = "apps/v1";
  json* spec = Field(object, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("spec: required");
  if (!Field(*spec, "replicas")) (*spec)["replicas"] = 1;
  auto replicas = AsInt((*spec)["replicas"]);
  if (!replicas || *replicas < 0 || *replicas > kMaxReplicas) {
    return Invalid("spec.replicas: must be an integer from 0 to " + std::to_string(kMaxReplicas) +
                   ", got " + Quoted((*spec)["replicas"]));
  }
  if (const json* name = Field(*spec, "serviceName"); name && !name->is_string()) {
    return Invalid("spec.serviceName: must be a string");
  }
  std::string service = String(*spec, "serviceName");
  if (!service.empty() && !IsDnsLabel(service, true)) {
    return Invalid("spec.serviceName: " + Quoted((*spec)["serviceName"]) +
                   " is not a valid service name");
  }
  json* tmpl = Field(*spec, "template");
  if (tmpl == nullptr || !tmpl->is_object()) return Invalid("spec.template: required");
  if (const json* meta = Field(*tmpl, "metadata"); meta && !meta->is_object()) {
    return Invalid("spec.template.metadata: must be a mapping");
  }
  const json& tmeta = ObjectMember(*tmpl, "metadata");
  for (std::string_view key : {"labels", "annotations"}) {
    auto err = CheckStringMap(Field(tmeta, key), "spec.template.metadata." + std::string(key));
    if (!err.empty()) return Invalid(err);
  }
  if (const json* pod_spec = Field(*tmpl, "spec"); pod_spec && !pod_spec->is_object()) {
    return Invalid("spec.template.spec: must be a mapping");
  }
  const json* selector = Field(*spec, "selector");
  const json* match = selector ? Field(*selector, "matchLabels") : nullptr;
  if (match != nullptr) {
    if (auto err = CheckStringMap(match, "spec.selector.matchLabels"); !err.empty()) {
      return Invalid(err);
    }
    const json* labels = Field(tmeta, "labels");
    for (const auto& [k, v] : match->items()) {
      if (labels == nullptr || !labels->contains(k) || (*labels)[k] != v) {
        return Invalid("spec.selector: does not match the template labels (" + k + "=" +
                       v.get<std::string>() + ")");
      }
    }
  }
  int64_t start = 0;
  if (const json* ordinals = Field(*spec, "ordinals"); ordinals != nullptr) {
    const json* s = Field(*ordinals, "start");
    auto value = s ? AsInt(*s) : std::optional<int64_t>(0);
    if (!value || *value < 0) return Invalid("spec.ordinals.start: must be a non-negative integer");
    start = *value;
  }
  std::string last_pod = String(object["metadata"], "name") + "-" +
                         std::to_string(start + std::max<int64_t>(*replicas, 1) - 1);
  if (!IsDnsLabel(last_pod, false)) {
    return Invalid("pod name " + last_pod + " would not be a valid hostname (63 characters max)");
  }
  const json* annotations = Field(object["metadata"], "annotations");
  if (const json* n = annotations ? Field(*annotations, kReadyReplicasAnnotation) : nullptr) {
    if (!n->is_string() || !ParseNonNegative(n->get<std::string>())) {
      return Invalid("annotation " + std::string(kReadyReplicasAnnotation) +
                     ": must be a non-negative integer, got " + Quoted(*n));
    }
  }
  return {};
}

Status NormalizeEndpointSlice(json& object) {
  if (!Field(object, "apiVersion")) object["apiVersion"] = "discovery.k8s.io/v1";
  const json* type = Field(object, "addressType");
  if (type == nullptr || (*type != "IPv4" && *type != "IPv6" && *type != "FQDN")) {
    return Invalid("addressType: must be IPv4, IPv6 or FQDN");
  }
  if (const json* endpoints = Field(object, "endpoints"); endpoints && !endpoints->is_array()) {
    return Invalid("endpoints: must be a list");
  }
  return {};
}

void NormalizeNamespace(json& object) {
  json& meta = object["metadata"];
  ObjectMember(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"];
  if (!Field(object, "spec")) object["spec"] = {{"finalizers", json::array({"kubernetes"})}};
  if (!Field(object, "status")) object["status"] = {{"phase", "Active"}};
}

// Validates and defaults `object` of `kind`; metadata is checked first.
Status Normalize(Kind kind, json& object) {
  json& meta = object["metadata"];
  const std::string name = String(meta, "name");
  switch (kind) {
    case Kind::kService:
    case Kind::kNamespace:
      if (!IsDnsLabel(name, kind == Kind::kService)) {
        return Invalid("metadata.name: must be a DNS label (lower case letters, digits, '-')");
      }
      break;
    default:
      if (!IsDnsSubdomain(name)) {
        return Invalid(
            "metadata.name: must be a DNS subdomain (lower case letters, digits, '-', "
            "'.')");
      }
  }
  for (std::string_view key : {"labels", "annotations"}) {
    auto err = CheckStringMap(Field(meta, key), "metadata." + std::string(key));
    if (!err.empty()) return Invalid(err);
  }
  if (!Field(meta, "uid")) meta["uid"] = StableUid(KindName(kind), String(meta, "namespace"), name);
  switch (kind) {
    case Kind::kService:
      object["apiVersion"] = "v1";
      return NormalizeService(object);
    case Kind::kPod:
      object["apiVersion"] = "v1";
      return NormalizePod(object);
    case Kind::kNamespace:
      object["apiVersion"] = "v1";
      NormalizeNamespace(object);
      return {};
    case Kind::kStatefulSet:
      return NormalizeStatefulSet(object);
    case Kind::kEndpointSlice:
      return NormalizeEndpointSlice(object);
  }
  return {};
}

// ---- files ----

class FileParser {
 public:
  FileParser(std::string_view source, ManifestFile& file) : source_(source), file_(file) {}

  // One top-level document (or, with item > 0, one item of a List).
  void Add(json value, int document, int item) {
    if (value.is_null()) return;
    std::string where = "document " + std::to_string(document);
    if (item > 0) where += " item " + std::to_string(item);
    if (!value.is_object()) return Error(where, "not a Kubernetes object (expected a mapping)");
    const json* kind_field = Field(value, "kind");
    if (kind_field == nullptr || !kind_field->is_string() ||
        kind_field->get<std::string>().empty()) {
      return Error(where, "no kind");
    }
    std::string kind = kind_field->get<std::string>();
    std::string api_version = String(value, "apiVersion");
    if (const json* items = Field(value, "items");
        kind == "List" || (kind.size() > 4 && kind.ends_with("List") && items != nullptr)) {
      if (items == nullptr) return;  // an empty List
      if (!items->is_array()) return Error(where, "items: must be a list");
      std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
      int index = 0;
      for (json entry : *items) {
        ++index;
        if (entry.is_object()) {
          if (!Field(entry, "kind") && !item_kind.empty()) entry["kind"] = item_kind;
          if (!Field(entry, "apiVersion") && !api_version.empty() && !item_kind.empty()) {
            entry["apiVersion"] = api_version;
          }
        }
        Add(std::move(entry), document, item > 0 ? item : index);
      }
      return;
    }
    std::optional<Kind> kept = Classify(kind, api_version);
    const json* meta_field = Field(value, "metadata");
    std::string name = meta_field ? String(*meta_field, "name") : "";
    if (!kept) {
      log::Debug(kLogPrefix, std::string(source_) + ": ignoring " + kind + " " +
                                 (name.empty() ? where : name) + " (" + api_version + ")");
      return;
    }
    if (meta_field != nullptr && !meta_field->is_object()) {
      return Error(where, std::string(KindName(*kept)) + ": metadata: must be a mapping");
    }
    if (name.empty()) {
      return Error(where, std::string(KindName(*kept)) + " without metadata.name");
    }
    json& meta = value["metadata"];
    if (*kept == Kind::kNamespace) {
      meta.erase("namespace");
    } else {
      const json* ns = Field(meta, "namespace");
      if (ns == nullptr || (ns->is_string() && ns->get<std::string>().empty())) {
        meta["namespace"] = "default";
      } else if (!ns->is_string() || !IsDnsLabel(ns->get<std::string>(), false)) {
        return Error(where, std::string(KindName(*kept)) + " " + name +
                                ": metadata.namespace: must be a DNS label, got " + Quoted(*ns));
      }
    }
    std::string described = Describe(*kept, String(meta, "namespace"), name);
    Status status = Normalize(*kept, value);
    if (!status) return Error(described, status.error().message);
    file_.objects.push_back(ManifestObject{std::move(value), std::string(source_)});
  }

 private:
  void Error(const std::string& where, const std::string& reason) {
    file_.errors.push_back(std::string(source_) + ": " + where + ": " + reason);
  }

  std::string_view source_;
  ManifestFile& file_;
};

// The line nlohmann reports ("... parse error at line 3, column 5: ..."), else counted from the
// byte offset.
int JsonErrorLine(std::string_view text, const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  size_t at = what.find("at line ");
  if (at != std::string::npos) {
    int line = 0;
    for (size_t i = at + 8; i < what.size() && what[i] >= '0' && what[i] <= '9'; ++i) {
      line = line * 10 + (what[i] - '0');
    }
    if (line > 0) return line;
  }
  size_t byte = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(byte), '\n'));
}

// nlohmann's messages start "[json.exception.parse_error.101] parse error at line 3, column 5: ".
std::string JsonReason(const std::string& what) {
  size_t column = what.find("column ");
  size_t colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
  if (colon != std::string::npos) return what.substr(colon + 2);
  size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

bool HasManifestExtension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// ---- synthesis ----

struct Key {
  Kind kind;
  std::string ns;
  std::string name;
  auto operator<=>(const Key&) const = default;
};

struct Item {
  json object;
  const std::string* source;
};

std::string Ns(const json& object) {
  const json* meta = Field(object, "metadata");
  return meta ? String(*meta, "namespace") : std::string();
}
std::string Name(const json& object) {
  const json* meta = Field(object, "metadata");
  return meta ? String(*meta, "name") : std::string();
}

bool ByNamespaceAndName(const json& a, const json& b) {
  return std::make_pair(Ns(a), Name(a)) < std::make_pair(Ns(b), Name(b));
}

bool SelectorMatches(const json& selector, const json& pod) {
  const json* labels = Field(pod["metadata"], "labels");
  for (const auto& [k, v] : selector.items()) {
    if (labels == nullptr) return false;
    auto it = labels->find(k);
    if (it == labels->end() || *it != v) return false;
  }
  return true;
}

std::vector<std::string> PodIps(const json& pod) {
  std::vector<std::string> ips;
  const json* status = Field(pod, "status");
  const json* list = status ? Field(*status, "podIPs") : nullptr;
  if (list != nullptr && list->is_array()) {
    for (const json& entry : *list) {
      if (std::string ip = String(entry, "ip"); !ip.empty()) ips.push_back(ip);
    }
  }
  return ips;
}

// The slice ports for one pod: targetPort by number, or by the name of a container port with the
// service port's protocol (a name that is not found drops that port, as the controller does).
json EndpointPorts(const json& service_ports, const json& pod) {
  json out = json::array();
  for (const json& sp : service_ports) {
    const json& target = sp["targetPort"];
    std::string protocol = String(sp, "protocol");
    std::optional<int64_t> port;
    if (target.is_number_integer()) {
      port = AsInt(target);
    } else if (target.is_string()) {
      const json* spec = Field(pod, "spec");
      const json* containers = spec ? Field(*spec, "containers") : nullptr;
      if (containers != nullptr && containers->is_array()) {
        for (const json& c : *containers) {
          const json* cports = Field(c, "ports");
          if (cports == nullptr || !cports->is_array()) continue;
          for (const json& cp : *cports) {
            std::string cproto = String(cp, "protocol");
            if (cproto.empty()) cproto = "TCP";
            const json* number = Field(cp, "containerPort");
            if (String(cp, "name") == target.get<std::string>() && cproto == protocol && number) {
              port = AsInt(*number);
            }
            if (port) break;
          }
          if (port) break;
        }
      }
    }
    if (!port) continue;
    json entry = {{"name", String(sp, "name")}, {"protocol", protocol}, {"port", *port}};
    if (const json* app = Field(sp, "appProtocol")) entry["appProtocol"] = *app;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

ManifestLoader::ManifestLoader(ManifestOptions options, std::vector<IpPool> pod_pools,
                               std::vector<IpPool> service_pools)
    : options_(std::move(options)),
      pod_pools_(std::move(pod_pools)),
      service_pools_(std::move(service_pools)) {}

Result<ManifestLoader> ManifestLoader::Create(const ManifestOptions& options) {
  auto parse = [](std::string_view what, const std::string& list) -> Result<std::vector<IpPool>> {
    std::vector<IpPool> pools;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      auto pool = IpPool::Parse(item);
      if (!pool) return pool.error().WithContext(what);
      for (const IpPool& other : pools) {
        if (other.family() == pool->family()) {
          return MakeError(ErrorCode::kInvalidArgument,
                           std::string(what) + ": at most one CIDR per address family");
        }
      }
      pools.push_back(std::move(*pool));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return pools;
  };
  auto pods = parse("pod CIDR", options.pod_cidr);
  if (!pods) return std::move(pods).error();
  auto services = parse("service CIDR", options.service_cidr);
  if (!services) return std::move(services).error();
  return ManifestLoader(options, std::move(*pods), std::move(*services));
}

Result<std::vector<ManifestFileStat>> ManifestLoader::Scan(
    const std::filesystem::path& directory) noexcept {
  namespace fs = std::filesystem;
  try {
    std::vector<ManifestFileStat> out;
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) {
      std::string reason = ec ? ec.message() : "not a directory";
      if (!ec && !fs::exists(directory, ec)) reason = "No such file or directory";
      return MakeError(ErrorCode::kNotFound, directory.string() + ": " + reason);
    }
    fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied,
                                        ec);
    if (ec) return MakeError(ErrorCode::kIo, directory.string() + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return MakeError(ErrorCode::kIo, directory.string() + ": " + ec.message());
      const fs::path& path = it->path();
      if (path.filename().string().starts_with(".")) {
        it.disable_recursion_pending();  // hidden: ConfigMap ..data dirs, editor swap files
        continue;
      }
      if (!HasManifestExtension(path)) continue;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back(ManifestFileStat{
          path.string(), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<uint64_t>(st.st_ino)});
    }
    if (ec) return MakeError(ErrorCode::kIo, directory.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kIo, directory.string() + ": " + e.what());
  }
}

ManifestFile ManifestLoader::ParseFile(const std::filesystem::path& path) noexcept {
  std::string source = path.string();
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      ManifestFile file;
      file.parsed = false;
      file.errors.push_back(source + ": cannot read: " + std::strerror(errno));
      return file;
    }
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
      text.append(buffer, static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxFileBytes) {
        ManifestFile file;
        file.parsed = false;
        file.errors.push_back(source + ": larger than 16 MiB, not read");
        return file;
      }
    }
    if (in.bad()) {
      ManifestFile file;
      file.parsed = false;
      file.errors.push_back(source + ": read error");
      return file;
    }
    std::string ext = path.extension().string();
    bool json = ext == ".json" || ext == ".JSON";
    return ParseText(text, source, json);
  } catch (const std::exception& e) {
    ManifestFile file;
    file.parsed = false;
    file.errors.push_back(source + ": " + e.what());
    return file;
  }
}

ManifestFile ManifestLoader::ParseText(std::string_view text, std::string_view source,
                                       bool json) noexcept {
  ManifestFile file;
  try {
    FileParser parser(source, file);
    if (json) {
      nlohmann::json value;
      try {
        value = nlohmann::json::parse(text.begin(), text.end());
      } catch (const nlohmann::json::parse_error& e) {
        file.parsed = false;
        file.errors.push_back(std::string(source) + ":" + std::to_string(JsonErrorLine(text, e)) +
                              ": " + JsonReason(e.what()));
        return file;
      }
      parser.Add(std::move(value), 1, 0);
      return file;
    }
    YamlParseResult yaml = YamlToJson(text);
    if (!yaml.ok) {
      file.parsed = false;
      std::string where = std::string(source);
      if (yaml.line > 0) where += ":" + std::to_string(yaml.line);
      file.errors.push_back(where + ": " + yaml.error);
      return file;
    }
    int document = 0;
    for (YamlDocument& doc : yaml.documents) parser.Add(std::move(doc.value), ++document, 0);
  } catch (const std::exception& e) {
    file.objects.clear();
    file.parsed = false;
    file.errors.push_back(std::string(source) + ": internal error: " + e.what());
  }
  return file;
}

ManifestSnapshot ManifestLoader::Load() const noexcept {
  auto stats = Scan(options_.directory);
  if (!stats) {
    ManifestSnapshot snapshot = Build({});
    snapshot.errors.insert(snapshot.errors.begin(), stats.error().message);
    return snapshot;
  }
  std::vector<ManifestFile> files;
  files.reserve(stats->size());
  for (const ManifestFileStat& stat : *stats) files.push_back(ParseFile(stat.path));
  std::vector<const ManifestFile*> pointers;
  std::vector<std::string> errors;
  for (const ManifestFile& file : files) {
    pointers.push_back(&file);
    errors.insert(errors.end(), file.errors.begin(), file.errors.end());
  }
  ManifestSnapshot snapshot = Build(pointers);
  errors.insert(errors.end(), snapshot.errors.begin(), snapshot.errors.end());
  snapshot.errors = std::move(errors);
  return snapshot;
}

namespace {

// One Build: the objects by kind plus the pools addresses come from.
class Synthesizer {
 public:
  Synthesizer(std::vector<IpPool> pod_pools, std::vector<IpPool> service_pools)
      : pod_pools_(std::move(pod_pools)), service_pools_(std::move(service_pools)) {}

  void Collect(const std::vector<const ManifestFile*>& files) {
    std::map<Key, const std::string*> seen;
    for (const ManifestFile* file : files) {
      if (file == nullptr) continue;
      for (const ManifestObject& o : file->objects) {
        auto kind = KindOf(o.object);
        if (!kind) continue;
        Key key{*kind, Ns(o.object), Name(o.object)};
        auto [it, inserted] = seen.emplace(key, &o.source);
        if (!inserted) {
          Error(o.source, Describe(o.object),
                "defined again (first in " + *it->second + "); this one is ignored");
          continue;
        }
        items_[static_cast<size_t>(*kind)].push_back(Item{o.object, &o.source});
      }
    }
    for (auto& list : items_) {
      std::stable_sort(list.begin(), list.end(), [](const Item& a, const Item& b) {
        return ByNamespaceAndName(a.object, b.object);
      });
    }
  }

  ManifestSnapshot Run() {
    AssignClusterIps();
    SynthesizePods();
    AssignPodIps();
    SynthesizeSlices();
    SynthesizeNamespaces();
    ManifestSnapshot snapshot;
    auto emit = [&](Resource resource, Kind kind) {
      std::vector<json>& out = snapshot.at(resource);
      for (Item& item : items_[static_cast<size_t>(kind)]) {
        if (item.source == nullptr && item.object.is_null()) continue;  // dropped
        FinishMetadata(kind, item.object);
        out.push_back(std::move(item.object));
      }
      std::stable_sort(out.begin(), out.end(), ByNamespaceAndName);
    };
    emit(Resource::kServices, Kind::kService);
    emit(Resource::kEndpointSlices, Kind::kEndpointSlice);
    emit(Resource::kPods, Kind::kPod);
    emit(Resource::kNamespaces, Kind::kNamespace);
    snapshot.errors = std::move(errors_);
    return snapshot;
  }

 private:
  std::vector<Item>& Items(Kind kind) { return items_[static_cast<size_t>(kind)]; }

  void Error(const std::string& source, const std::string& what, const std::string& reason) {
    errors_.push_back(source + ": " + what + ": " + reason);
  }

  static void FinishMetadata(Kind kind, json& object) {
    json& meta = object["metadata"];
    if (!Field(meta, "uid")) meta["uid"] = StableUid(KindName(kind), Ns(object), Name(object));
    if (!Field(meta, "creationTimestamp")) meta["creationTimestamp"] = kEpoch;
    if (!Field(meta, "resourceVersion")) {
      // Changes whenever the object does, so consumers comparing versions see edits.
      meta["resourceVersion"] = std::to_string(StableHash(object.dump()) >> 24);
    }
  }

  // The pools to allocate from for a service, by its ipFamilies or ipFamilyPolicy.
  std::vector<IpPool*> ServicePools(const json& spec) {
    std::vector<IpPool*> pools;
    if (const json* families = Field(spec, "ipFamilies"); families && !families->empty()) {
      for (const json& family : *families) {
        for (IpPool& pool : service_pools_) {
          if (pool.FamilyName() == family.get<std::string>()) pools.push_back(&pool);
        }
      }
      return pools;
    }
    std::string policy = String(spec, "ipFamilyPolicy");
    bool dual = policy == "PreferDualStack" || policy == "RequireDualStack";
    for (IpPool& pool : service_pools_) {
      pools.push_back(&pool);
      if (!dual) break;
    }
    return pools;
  }

  void AssignClusterIps() {
    std::vector<Item>& services = Items(Kind::kService);
    for (Item& item : services) {
      const json* ips = Field(item.object["spec"], "clusterIPs");
      if (ips == nullptr) continue;
      for (const json& ip : *ips) {
        for (IpPool& pool : service_pools_) pool.Reserve(ip.get<std::string>());
      }
    }
    for (Item& item : services) {  // sorted by namespace/name: the probing order
      json& spec = item.object["spec"];
      if (spec["type"] == "ExternalName") continue;
      if (const json* ips = Field(spec, "clusterIPs"); ips != nullptr) {
        if (!Field(spec, "ipFamilies")) {
          json families = json::array();
          for (const json& ip : *ips) {
            auto family = IpPool::FamilyOf(ip.get<std::string>());
            if (family) families.push_back(*family == IpPool::Family::kIpv4 ? "IPv4" : "IPv6");
          }
          if (families.empty()) {  // headless
            for (IpPool* pool : ServicePools(spec)) families.push_back(pool->FamilyName());
          }
          spec["ipFamilies"] = families;
        }
        continue;
      }
      std::vector<IpPool*> pools = ServicePools(spec);
      if (pools.empty()) {
        Error(*item.source, Describe(item.object),
              "no service CIDR for the families in spec.ipFamilies");
        item = Item{nullptr, nullptr};
        continue;
      }
      json ips = json::array(), families = json::array();
      std::string key = Ns(item.object) + "/" + Name(item.object);
      for (IpPool* pool : pools) {
        auto ip = pool->Allocate(key);
        if (!ip) {
          Error(*item.source, Describe(item.object), ip.error().message);
          continue;
        }
        ips.push_back(*ip);
        families.push_back(pool->FamilyName());
      }
      if (ips.empty()) {
        item = Item{nullptr, nullptr};
        continue;
      }
      spec["clusterIP"] = ips[0];
      spec["clusterIPs"] = ips;
      spec["ipFamilies"] = families;
    }
  }

  void SynthesizePods() {
    std::set<std::pair<std::string, std::string>> existing;
    for (const Item& pod : Items(Kind::kPod)) existing.emplace(Ns(pod.object), Name(pod.object));
    std::vector<Item> made;
    for (const Item& sts : Items(Kind::kStatefulSet)) {
      const json& object = sts.object;
      const json& spec = object["spec"];
      const json& meta = object["metadata"];
      const std::string ns = Ns(object), name = Name(object);
      const std::string service = String(spec, "serviceName");
      const int64_t replicas = *AsInt(spec["replicas"]);
      int64_t start = 0;
      if (const json* ordinals = Field(spec, "ordinals")) {
        if (const json* s = Field(*ordinals, "start")) start = AsInt(*s).value_or(0);
      }
      const json* annotations = Field(meta, "annotations");
      std::optional<int64_t> ready_replicas;
      std::set<std::string> not_ready;
      if (annotations != nullptr) {
        if (const json* n = Field(*annotations, kReadyReplicasAnnotation)) {
          ready_replicas = ParseNonNegative(n->get<std::string>());
        }
        if (const json* list = Field(*annotations, kNotReadyAnnotation)) {
          std::stringstream in(list->get<std::string>());
          for (std::string entry; std::getline(in, entry, ',');) {
            entry.erase(0, entry.find_first_not_of(" \t"));
            entry.erase(entry.find_last_not_of(" \t") + 1);
            if (!entry.empty()) not_ready.insert(entry);
          }
        }
      }
      const json& tmpl = spec["template"];
      const json* tmeta = Field(tmpl, "metadata");
      const json* tspec = Field(tmpl, "spec");
      const std::string revision = name + "-" + Hex(StableHash(tmpl.dump()), 10);
      for (int64_t i = 0; i < replicas; ++i) {
        const int64_t ordinal = start + i;
        const std::string pod_name = name + "-" + std::to_string(ordinal);
        if (!existing.emplace(ns, pod_name).second) {
          log::Debug(kLogPrefix, *sts.source + ": Pod " + ns + "/" + pod_name +
                                     " is defined by a manifest; not synthesised");
          continue;
        }
        json labels = tmeta ? tmeta->value("labels", json::object()) : json::object();
        labels[std::string(kPodNameLabel)] = pod_name;
        labels[std::string(kPodIndexLabel)] = std::to_string(ordinal);
        labels[std::string(kRevisionLabel)] = revision;
        json pod_meta = {{"name", pod_name},
                         {"generateName", name + "-"},
                         {"namespace", ns},
                         {"labels", labels},
                         {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                           {"kind", "StatefulSet"},
                                                           {"name", name},
                                                           {"uid", meta["uid"]},
                                                           {"controller", true},
                                                           {"blockOwnerDeletion", true}}})}};
        if (tmeta != nullptr) {
          if (const json* a = Field(*tmeta, "annotations"); a && !a->empty()) {
            pod_meta["annotations"] = *a;
          }
        }
        json pod_spec = tspec ? *tspec : json::object();
        pod_spec["hostname"] = pod_name;
        if (!service.empty()) pod_spec["subdomain"] = service;
        if (!Field(pod_spec, "nodeName")) pod_spec["nodeName"] = kManifestsNodeName;
        bool ready = (!ready_replicas || i < *ready_replicas) && not_ready.count(pod_name) == 0;
        json pod = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", std::move(pod_meta)},
                    {"spec", std::move(pod_spec)},
                    {"status", {{"phase", "Running"}, {"conditions", PodConditions(ready)}}}};
        made.push_back(Item{std::move(pod), sts.source});
      }
    }
    std::vector<Item>& pods = Items(Kind::kPod);
    for (Item& item : made) pods.push_back(std::move(item));
    std::stable_sort(pods.begin(), pods.end(), [](const Item& a, const Item& b) {
      return ByNamespaceAndName(a.object, b.object);
    });
  }

  void AssignPodIps() {
    std::vector<Item>& pods = Items(Kind::kPod);
    for (const Item& pod : pods) {
      for (const std::string& ip : PodIps(pod.object)) {
        for (IpPool& pool : pod_pools_) pool.Reserve(ip);
      }
    }
    for (Item& pod : pods) {
      if (!PodIps(pod.object).empty()) continue;
      json& status = ObjectMember(pod.object, "status");
      std::string phase = String(status, "phase");
      if (phase == "Succeeded" || phase == "Failed") continue;  // terminal pods hold no IP
      json ips = json::array();
      std::string key = Ns(pod.object) + "/" + Name(pod.object);
      for (IpPool& pool : pod_pools_) {
        auto ip = pool.Allocate(key);
        if (!ip) {
          Error(*pod.source, Describe(pod.object), ip.error().message);
          continue;
        }
        ips.push_back({{"ip", *ip}});
      }
      if (ips.empty()) continue;
      status["podIP"] = ips[0]["ip"];
      status["podIPs"] = std::move(ips);
    }
  }

  void SynthesizeSlices() {
    std::set<std::pair<std::string, std::string>> managed;  // services with explicit slices
    std::set<std::pair<std::string, std::string>> slice_names;
    for (const Item& slice : Items(Kind::kEndpointSlice)) {
      const json* labels = Field(slice.object["metadata"], "labels");
      std::string service = labels ? String(*labels, kServiceNameLabel) : "";
      if (!service.empty()) managed.emplace(Ns(slice.object), service);
      slice_names.emplace(Ns(slice.object), Name(slice.object));
    }
    std::map<std::string, std::vector<const json*>> pods_by_ns;
    for (const Item& pod : Items(Kind::kPod)) {
      pods_by_ns[Ns(pod.object)].push_back(&pod.object);
    }
    std::vector<Item> made;
    for (const Item& item : Items(Kind::kService)) {
      if (item.source == nullptr) continue;
      const json& service = item.object;
      const json& spec = service["spec"];
      const json* selector = Field(spec, "selector");
      if (selector == nullptr || selector->empty() || spec["type"] == "ExternalName") continue;
      const std::string ns = Ns(service), name = Name(service);
      if (managed.count({ns, name}) != 0) {
        log::Debug(kLogPrefix, "Service " + ns + "/" + name +
                                   ": EndpointSlices given in the manifests; none synthesised");
        continue;
      }
      for (json& slice : ServiceSlices(service, pods_by_ns[ns])) {
        if (!slice_names.emplace(ns, Name(slice)).second) {
          Error(*item.source, Describe(service),
                "EndpointSlice " + Name(slice) + " already exists; not synthesised");
          continue;
        }
        made.push_back(Item{std::move(slice), item.source});
      }
    }
    for (Item& slice : made) Items(Kind::kEndpointSlice).push_back(std::move(slice));
  }

  // The slices the EndpointSlice controller would keep for `service`: one per address family and
  // set of resolved ports.
  static std::vector<json> ServiceSlices(const json& service,
                                         const std::vector<const json*>& pods) {
    const json& spec = service["spec"];
    const std::string ns = Ns(service), name = Name(service);
    const json* publish = Field(spec, "publishNotReadyAddresses");
    const bool publish_not_ready =
        publish != nullptr && publish->is_boolean() && publish->get<bool>();
    const bool headless = String(spec, "clusterIP") == "None";
    const json* ports_field = Field(spec, "ports");
    const json service_ports = ports_field ? *ports_field : json::array();
    const json& selector = spec["selector"];

    json labels = json::object();
    if (const json* l = Field(service["metadata"], "labels")) labels = *l;
    labels[std::string(kServiceNameLabel)] = name;
    labels[std::string(kManagedByLabel)] = kManifestsManagedBy;
    labels.erase(std::string(kHeadlessLabel));
    if (headless) labels[std::string(kHeadlessLabel)] = "";

    std::vector<json> slices;
    const json* families = Field(spec, "ipFamilies");
    for (const json& family : families ? *families : json::array()) {
      const bool v6 = family == "IPv6";
      std::vector<std::pair<json, json>> groups;  // (ports, endpoints)
      for (const json* pod : pods) {
        if (!SelectorMatches(selector, *pod)) continue;
        const json& status = (*pod)["status"];
        std::string phase = String(status, "phase");
        if (phase == "Succeeded" || phase == "Failed") continue;
        std::string ip;
        for (const std::string& candidate : PodIps(*pod)) {
          auto f = IpPool::FamilyOf(candidate);
          if (f && (*f == IpPool::Family::kIpv6) == v6) {
            ip = candidate;
            break;
          }
        }
        if (ip.empty()) continue;
        const bool serving = IsPodReady(*pod);
        const bool terminating = Field((*pod)["metadata"], "deletionTimestamp") != nullptr;
        json endpoint = {{"addresses", json::array({ip})},
                         {"conditions",
                          {{"ready", publish_not_ready || (serving && !terminating)},
                           {"serving", serving},
                           {"terminating", terminating}}}};
        const json& pod_spec = (*pod)["spec"];
        std::string hostname = String(pod_spec, "hostname");
        if (!hostname.empty() && String(pod_spec, "subdomain") == name) {
          endpoint["hostname"] = hostname;
        }
        endpoint["targetRef"] = {{"kind", "Pod"},
                                 {"namespace", ns},
                                 {"name", Name(*pod)},
                                 {"uid", (*pod)["metadata"].value("uid", "")}};
        std::string node = String(pod_spec, "nodeName");
        endpoint["nodeName"] = node.empty() ? std::string(kManifestsNodeName) : node;
        json ports = service_ports.empty() ? json(nullptr) : EndpointPorts(service_ports, *pod);
        auto group = std::find_if(groups.begin(), groups.end(),
                                  [&](const auto& g) { return g.first == ports; });
        if (group == groups.end()) {
          groups.emplace_back(ports, json::array());
          group = groups.end() - 1;
        }
        group->second.push_back(std::move(endpoint));
      }
      if (groups.empty()) {  // the controller's placeholder slice
        groups.emplace_back(service_ports.empty() ? json(nullptr) : json::array(), json::array());
      }
      for (size_t g = 0; g < groups.size(); ++g) {
        std::string slice_name = name + "-petdns";
        if (v6) slice_name += "-ipv6";
        if (g > 0) slice_name += "-" + std::to_string(g + 1);
        json slice = {
            {"kind", "EndpointSlice"},
            {"apiVersion", "discovery.k8s.io/v1"},
            {"metadata",
             {{"name", slice_name},
              {"generateName", name + "-"},
              {"namespace", ns},
              {"generation", 1},
              {"labels", labels},
              {"ownerReferences", json::array({{{"apiVersion", "v1"},
                                                {"kind", "Service"},
                                                {"name", name},
                                                {"uid", service["metadata"].value("uid", "")},
                                                {"controller", true},
                                                {"blockOwnerDeletion", true}}})}}},
            {"addressType", family},
            {"endpoints", std::move(groups[g].second)},
            {"ports", std::move(groups[g].first)}};
        slices.push_back(std::move(slice));
      }
    }
    return slices;
  }

  void SynthesizeNamespaces() {
    std::set<std::string> names(std::begin(kDefaultNamespaces), std::end(kDefaultNamespaces));
    for (Kind kind : {Kind::kService, Kind::kEndpointSlice, Kind::kPod, Kind::kStatefulSet}) {
      for (const Item& item : Items(kind)) {
        if (item.source != nullptr) names.insert(Ns(item.object));
      }
    }
    std::vector<Item>& namespaces = Items(Kind::kNamespace);
    for (const Item& item : namespaces) names.erase(Name(item.object));
    for (const std::string& name : names) {
      json ns = {
          {"kind", "Namespace"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/metadata.name", name}}}}},
          {"spec", {{"finalizers", json::array({"kubernetes"})}}},
          {"status", {{"phase", "Active"}}}};
      namespaces.push_back(Item{std::move(ns), nullptr});
    }
  }

  std::array<std::vector<Item>, 5> items_;  // indexed by Kind
  std::vector<IpPool> pod_pools_;
  std::vector<IpPool> service_pools_;
  std::vector<std::string> errors_;
};

}  // namespace

ManifestSnapshot ManifestLoader::Build(
    const std::vector<const ManifestFile*>& files) const noexcept {
  try {
    Synthesizer synthesizer(pod_pools_, service_pools_);
    synthesizer.Collect(files);
    return synthesizer.Run();
  } catch (const std::exception& e) {
    ManifestSnapshot snapshot;
    snapshot.errors.push_back(std::string("internal error while building objects: ") + e.what());
    return snapshot;
  }
}

}  // namespace petdns::plugins::kubernetes
