// The parts of Kubernetes objects that DNS needs, decoded from the JSON the API serves (or the
// manifests source synthesises). Everything else in an object is dropped at decode time, so the
// cluster state stays small. Immutable once decoded; shared between snapshots by shared_ptr.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

inline constexpr std::string_view kTolerateUnreadyAnnotation =
    "service.alpha.kubernetes.io/tolerate-unready-endpoints";
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

struct ServicePort {
  std::string name;      // may be empty
  std::string protocol;  // lower case: "tcp", "udp", "sctp"
  int32_t port = 0;
};

struct Service {
  enum class Kind : uint8_t { kClusterIp, kHeadless, kExternalName };

  std::string ns;
  std::string name;
  Kind kind = Kind::kClusterIp;
  std::vector<std::string> cluster_ips;  // textual, both families; empty for headless
  std::string external_name;             // for kExternalName, as written
  std::vector<ServicePort> ports;
  // spec.publishNotReadyAddresses, or the tolerate-unready annotation parsed as true: publish
  // endpoints whatever their readiness.
  bool publish_not_ready = false;
};

struct Endpoint {
  std::vector<std::string> addresses;
  bool ready = true;       // conditions.ready; absent means ready
  std::string hostname;    // endpoints[].hostname, may be empty
  std::string target_pod;  // targetRef.name when targetRef.kind is Pod
};

struct EndpointPort {
  std::string name;
  std::string protocol;  // lower case
  int32_t port = -1;     // -1: no port given
};

struct EndpointSlice {
  enum class AddressType : uint8_t { kIpv4, kIpv6, kFqdn };

  std::string ns;
  std::string name;
  std::string service;  // label kubernetes.io/service-name; empty: not tied to a service
  AddressType address_type = AddressType::kIpv4;
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
};

struct Pod {
  std::string ns;
  std::string name;
  std::vector<std::string> ips;  // status.podIPs (or podIP)
};

struct Namespace {
  std::string name;
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
