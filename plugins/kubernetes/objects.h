// The parts of Kubernetes objects that DNS needs, decoded from the JSON the API serves (or the
// manifests source synthesises). Everything else in an object is dropped at decode time, and what
// is kept is packed (binary addresses, an EndpointSlice's names in one string), so the cluster
// state costs tens of bytes per endpoint. Immutable once decoded; shared by shared_ptr.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/ip_address.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

inline constexpr std::string_view kTolerateUnreadyAnnotation =
    "service.alpha.kubernetes.io/tolerate-unready-endpoints";
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

// A port's protocol, lower-cased: the _proto label of SRV names. Inline (8 bytes rather than a
// 32-byte string) because every port of every object has one.
class PortProtocol {
 public:
  static constexpr size_t kMaxSize = 7;  // the API allows "TCP", "UDP" and "SCTP"

  PortProtocol() : PortProtocol("tcp") {}  // the API's default
  // Lower-cases `text`; nullopt when it is empty or longer than kMaxSize.
  static std::optional<PortProtocol> Parse(std::string_view text);

  std::string_view view() const noexcept { return {text_.data(), size_}; }
  friend bool operator==(const PortProtocol&, const PortProtocol&) = default;

 private:
  explicit PortProtocol(std::string_view lower) : size_(static_cast<uint8_t>(lower.size())) {
    std::copy(lower.begin(), lower.end(), text_.begin());
  }
  std::array<char, kMaxSize> text_{};
  uint8_t size_ = 0;
};

struct ServicePort {
  std::string name;  // may be empty
  PortProtocol protocol;
  int32_t port = 0;

  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct Service {
  enum class Kind : uint8_t { kClusterIp, kHeadless, kExternalName };

  std::string ns;
  std::string name;
  Kind kind = Kind::kClusterIp;
  std::vector<IpAddress> cluster_ips;  // spec.clusterIPs that are addresses; empty for headless
  std::string external_name;           // for kExternalName, as written
  std::vector<ServicePort> ports;
  // spec.publishNotReadyAddresses, or the tolerate-unready annotation parsed as true: publish
  // endpoints whatever their readiness.
  bool publish_not_ready = false;

  friend bool operator==(const Service&, const Service&) = default;
};

// One address of an EndpointSlice endpoint. An endpoint with several addresses (the API allows
// up to 100; the controllers write one) is one entry per address, all with the endpoint's name.
// Addresses that are not IPs (FQDN slices) are dropped: DNS has no use for them. 16 bytes: an
// IPv4 address sits in the entry, an IPv6 address and the name in the slice's `names`
// (EndpointSlice::AddressOf, NameOf), so an entry allocates nothing.
struct Endpoint {
  // What the endpoint is called in DNS, given what the object holds.
  enum class NameKind : uint8_t {
    kAddress,   // neither hostname nor pod: the dashed address ("10-244-1-5")
    kHostname,  // endpoints[].hostname, lower-cased
    kPod,       // no hostname; targetRef.name of its Pod, lower-cased (endpoint_pod_names)
    kInvalid,   // a hostname longer than a DNS label: never published
  };

  // IPv4 (address_length 4): the address bytes, in network order. IPv6 (16): the offset of the
  // address bytes in EndpointSlice::names.
  uint32_t address = 0;
  uint32_t offset = 0;  // the name in EndpointSlice::names
  uint8_t address_length = 4;
  bool ready = true;  // conditions.ready; absent means ready
  NameKind name_kind = NameKind::kAddress;
  uint8_t name_size = 0;
  // Only for an address written in a non-canonical form ("FD00:0::1"): its lower-cased text, in
  // `names` right after the name, because CoreDNS derives the dashed name from the text.
  uint8_t text_size = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointPort {
  std::string name;
  PortProtocol protocol;
  int32_t port = -1;  // -1: no port given

  friend bool operator==(const EndpointPort&, const EndpointPort&) = default;
};

struct EndpointSlice {
  enum class AddressType : uint8_t { kIpv4, kIpv6, kFqdn };

  std::string ns;
  std::string name;
  std::string service;  // label kubernetes.io/service-name; empty: not tied to a service
  AddressType address_type = AddressType::kIpv4;
  std::vector<Endpoint> endpoints;  // one per address, in the object's order
  std::vector<EndpointPort> ports;
  std::string names;  // the endpoints' names, IPv6 addresses and odd address texts, back to back

  IpAddress AddressOf(const Endpoint& e) const noexcept;
  // The endpoint's hostname or pod name (see NameKind); empty for kAddress and kInvalid.
  std::string_view NameOf(const Endpoint& e) const noexcept {
    return std::string_view(names).substr(e.offset, e.name_size);
  }
  // The address as the object wrote it (lower-cased).
  std::string AddressText(const Endpoint& e) const;

  friend bool operator==(const EndpointSlice&, const EndpointSlice&) = default;
};

struct Pod {
  std::string ns;
  std::string name;
  std::vector<std::string> ips;  // status.podIPs (or podIP)

  friend bool operator==(const Pod&, const Pod&) = default;
};

struct Namespace {
  std::string name;

  friend bool operator==(const Namespace&, const Namespace&) = default;
};

// Decoders. Errors name the object ("Service default/nginx: spec.ports[1].port: not a number").
[[nodiscard]] Result<Service> DecodeService(const nlohmann::json& object);
[[nodiscard]] Result<EndpointSlice> DecodeEndpointSlice(const nlohmann::json& object);
[[nodiscard]] Result<Pod> DecodePod(const nlohmann::json& object);
[[nodiscard]] Result<Namespace> DecodeNamespace(const nlohmann::json& object);

// "namespace/name" (or "name" for cluster-scoped objects), from metadata; empty if missing.
std::string ObjectKey(const nlohmann::json& object);

// Go's strconv.ParseBool, as the Endpoints controller used for the tolerate-unready annotation.
std::optional<bool> ParseGoBool(std::string_view text);

}  // namespace petdns::plugins::kubernetes
