#include "plugins/kubernetes/objects.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

const json* Field(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return (it == object.end() || it->is_null()) ? nullptr : &*it;
}

std::string StringField(const json& object, std::string_view key) {
  const json* v = Field(object, key);
  return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::optional<PortProtocol> PortProtocol::Parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxSize) return std::nullopt;
  std::array<char, kMaxSize> lower{};
  std::transform(text.begin(), text.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return PortProtocol(std::string_view(lower.data(), text.size()));
}

namespace {

// The longest DNS label: longer endpoint names cannot be published.
constexpr size_t kMaxLabel = 63;

// Names the object in error messages: "Service default/nginx".
std::string Describe(std::string_view kind, const json& object) {
  std::string key = ObjectKey(object);
  return std::string(kind) + " " + (key.empty() ? "(unnamed)" : key);
}

Unexpected Invalid(std::string_view kind, const json& object, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, Describe(kind, object) + ": " + what);
}

// A port number field that must be an integer in 0..65535 when present.
std::optional<int32_t> PortNumber(const json& value) {
  if (!value.is_number_integer()) return std::nullopt;
  auto n = value.get<int64_t>();
  if (n < 0 || n > 65535) return std::nullopt;
  return static_cast<int32_t>(n);
}

// Appends one entry per IP address of endpoints[i] `e`, with its readiness and name. Only what
// the records need survives: a pod name matters only without a hostname, and only below 64
// characters (a DNS label); a hostname that is no label means the endpoint is never published.
void AddEndpoint(EndpointSlice& slice, const json& e) {
  const json* addresses = Field(e, "addresses");
  if (addresses == nullptr || !addresses->is_array()) return;
  Endpoint endpoint;
  if (const json* conditions = Field(e, "conditions"); conditions != nullptr) {
    const json* ready = Field(*conditions, "ready");
    endpoint.ready = ready == nullptr || !ready->is_boolean() || ready->get<bool>();
  }
  std::string name = Lower(StringField(e, "hostname"));
  if (name.size() > kMaxLabel) {
    endpoint.name_kind = Endpoint::NameKind::kInvalid;
    name.clear();
  } else if (!name.empty()) {
    endpoint.name_kind = Endpoint::NameKind::kHostname;
  } else if (const json* ref = Field(e, "targetRef"); ref != nullptr) {
    std::string kind = StringField(*ref, "kind");
    std::string pod = StringField(*ref, "name");
    if ((kind.empty() || kind == "Pod") && !pod.empty() && pod.size() <= kMaxLabel) {
      endpoint.name_kind = Endpoint::NameKind::kPod;
      name = Lower(std::move(pod));
    }
  }
  endpoint.name_size = static_cast<uint8_t>(name.size());
  std::optional<uint32_t> shared_offset;  // the name, stored once for all canonical addresses
  for (const json& a : *addresses) {
    if (!a.is_string()) continue;
    const std::string& text = a.get_ref<const std::string&>();
    std::optional<IpAddress> address = IpAddress::Parse(text);
    if (!address) continue;
    endpoint.address_length = address->length;
    if (address->is_v4()) {
      std::memcpy(&endpoint.address, address->bytes.data(), 4);
    } else {
      endpoint.address = static_cast<uint32_t>(slice.names.size());
      slice.names.append(address->rdata());
    }
    endpoint.text_size = 0;
    // inet_pton takes IPv4 only as a plain dotted quad, which is the canonical form already.
    std::string lower = address->is_v4() ? std::string() : Lower(text);
    bool named_by_address = endpoint.name_kind == Endpoint::NameKind::kAddress ||
                            endpoint.name_kind == Endpoint::NameKind::kPod;
    if (named_by_address && !address->is_v4() && lower != address->ToString()) {
      // Rare: a copy of the name followed by this address's text.
      endpoint.offset = static_cast<uint32_t>(slice.names.size());
      endpoint.text_size = static_cast<uint8_t>(lower.size());
      slice.names.append(name).append(lower);
    } else {
      if (!shared_offset) {
        shared_offset = static_cast<uint32_t>(slice.names.size());
        slice.names.append(name);
      }
      endpoint.offset = *shared_offset;
    }
    slice.endpoints.push_back(endpoint);
  }
}

}  // namespace

IpAddress EndpointSlice::AddressOf(const Endpoint& e) const noexcept {
  IpAddress a;
  if (e.address_length == 4) {
    std::memcpy(a.bytes.data(), &e.address, 4);
    a.length = 4;
  } else if (e.address_length == 16 && e.address + 16u <= names.size()) {
    std::memcpy(a.bytes.data(), names.data() + e.address, 16);
    a.length = 16;
  }
  return a;
}

std::string EndpointSlice::AddressText(const Endpoint& e) const {
  if (e.text_size == 0) return AddressOf(e).ToString();
  return std::string(std::string_view(names).substr(e.offset + e.name_size, e.text_size));
}

std::optional<bool> ParseGoBool(std::string_view text) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" || text == "true" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" || text == "false" ||
      text == "False") {
    return false;
  }
  return std::nullopt;
}

std::string ObjectKey(const json& object) {
  const json* metadata = Field(object, "metadata");
  if (metadata == nullptr) return {};
  std::string name = StringField(*metadata, "name");
  if (name.empty()) return {};
  std::string ns = StringField(*metadata, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

Result<Service> DecodeService(const json& object) {
  const json* metadata = Field(object, "metadata");
  Service s;
  if (metadata != nullptr) {
    s.ns = StringField(*metadata, "namespace");
    s.name = StringField(*metadata, "name");
  }
  if (s.name.empty()) return Invalid("Service", object, "metadata.name missing");
  if (s.ns.empty()) s.ns = "default";
  const json* spec = Field(object, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("Service", object, "spec missing");

  std::string type = StringField(*spec, "type");
  std::string cluster_ip = StringField(*spec, "clusterIP");
  if (type == "ExternalName") {
    s.kind = Service::Kind::kExternalName;
    s.external_name = StringField(*spec, "externalName");
    if (s.external_name.empty()) {
      return Invalid("Service", object, "spec.externalName missing for type ExternalName");
    }
  } else if (cluster_ip == "None") {
    s.kind = Service::Kind::kHeadless;
  } else {
    s.kind = Service::Kind::kClusterIp;
    // Entries that are not addresses ("None", junk) could never be answered: drop them here.
    if (const json* ips = Field(*spec, "clusterIPs"); ips != nullptr && ips->is_array()) {
      for (const json& ip : *ips) {
        if (!ip.is_string()) continue;
        if (auto a = IpAddress::Parse(ip.get_ref<const std::string&>())) {
          s.cluster_ips.push_back(*a);
        }
      }
    }
    if (s.cluster_ips.empty()) {
      if (auto a = IpAddress::Parse(cluster_ip)) s.cluster_ips.push_back(*a);
    }
  }

  if (const json* ports = Field(*spec, "ports"); ports != nullptr) {
    if (!ports->is_array()) return Invalid("Service", object, "spec.ports: not a list");
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      ServicePort port;
      port.name = StringField(p, "name");
      if (std::string protocol = StringField(p, "protocol"); !protocol.empty()) {
        std::optional<PortProtocol> parsed = PortProtocol::Parse(protocol);
        if (!parsed) {
          return Invalid("Service", object,
                         "spec.ports[" + std::to_string(i) + "].protocol: unknown protocol");
        }
        port.protocol = *parsed;
      }
      const json* number = Field(p, "port");
      std::optional<int32_t> value = number != nullptr ? PortNumber(*number) : std::nullopt;
      if (!value) {
        return Invalid("Service", object,
                       "spec.ports[" + std::to_string(i) + "].port: not a port number");
      }
      port.port = *value;
      s.ports.push_back(std::move(port));
    }
  }

  const json* publish = Field(*spec, "publishNotReadyAddresses");
  s.publish_not_ready = publish != nullptr && publish->is_boolean() && publish->get<bool>();
  if (metadata != nullptr) {
    if (const json* annotations = Field(*metadata, "annotations"); annotations != nullptr) {
      std::string value = StringField(*annotations, kTolerateUnreadyAnnotation);
      if (ParseGoBool(value).value_or(false)) s.publish_not_ready = true;
    }
  }
  return s;
}

Result<EndpointSlice> DecodeEndpointSlice(const json& object) {
  const json* metadata = Field(object, "metadata");
  EndpointSlice slice;
  if (metadata != nullptr) {
    slice.ns = StringField(*metadata, "namespace");
    slice.name = StringField(*metadata, "name");
    if (const json* labels = Field(*metadata, "labels"); labels != nullptr) {
      slice.service = StringField(*labels, kServiceNameLabel);
    }
  }
  if (slice.name.empty()) return Invalid("EndpointSlice", object, "metadata.name missing");
  if (slice.ns.empty()) slice.ns = "default";
  std::string type = StringField(object, "addressType");
  if (type == "IPv4") {
    slice.address_type = EndpointSlice::AddressType::kIpv4;
  } else if (type == "IPv6") {
    slice.address_type = EndpointSlice::AddressType::kIpv6;
  } else if (type == "FQDN") {
    slice.address_type = EndpointSlice::AddressType::kFqdn;
  } else {
    return Invalid("EndpointSlice", object, "addressType '" + type + "' is not IPv4, IPv6 or FQDN");
  }
  if (const json* endpoints = Field(object, "endpoints"); endpoints != nullptr) {
    if (!endpoints->is_array()) return Invalid("EndpointSlice", object, "endpoints: not a list");
    slice.endpoints.reserve(endpoints->size());  // nearly always one address per endpoint
    for (const json& e : *endpoints) AddEndpoint(slice, e);
    slice.endpoints.shrink_to_fit();
    slice.names.shrink_to_fit();
  }
  if (const json* ports = Field(object, "ports"); ports != nullptr) {
    if (!ports->is_array()) return Invalid("EndpointSlice", object, "ports: not a list");
    for (const json& p : *ports) {
      EndpointPort port;
      port.name = StringField(p, "name");
      if (std::string protocol = StringField(p, "protocol"); !protocol.empty()) {
        std::optional<PortProtocol> parsed = PortProtocol::Parse(protocol);
        if (!parsed) return Invalid("EndpointSlice", object, "ports: unknown protocol " + protocol);
        port.protocol = *parsed;
      }
      if (const json* number = Field(p, "port"); number != nullptr) {
        port.port = PortNumber(*number).value_or(-1);
      }
      slice.ports.push_back(std::move(port));
    }
  }
  return slice;
}

Result<Pod> DecodePod(const json& object) {
  const json* metadata = Field(object, "metadata");
  Pod pod;
  if (metadata != nullptr) {
    pod.ns = StringField(*metadata, "namespace");
    pod.name = StringField(*metadata, "name");
  }
  if (pod.name.empty()) return Invalid("Pod", object, "metadata.name missing");
  if (pod.ns.empty()) pod.ns = "default";
  if (const json* status = Field(object, "status"); status != nullptr) {
    if (const json* ips = Field(*status, "podIPs"); ips != nullptr && ips->is_array()) {
      for (const json& ip : *ips) {
        std::string text = StringField(ip, "ip");
        if (!text.empty()) pod.ips.push_back(std::move(text));
      }
    }
    std::string primary = StringField(*status, "podIP");
    if (pod.ips.empty() && !primary.empty()) pod.ips.push_back(primary);
  }
  return pod;
}

Result<Namespace> DecodeNamespace(const json& object) {
  Namespace ns;
  if (const json* metadata = Field(object, "metadata"); metadata != nullptr) {
    ns.name = StringField(*metadata, "name");
  }
  if (ns.name.empty()) return Invalid("Namespace", object, "metadata.name missing");
  return ns;
}

}  // namespace petdns::plugins::kubernetes
