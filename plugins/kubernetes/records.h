// Turns Kubernetes objects into DNS data following the Kubernetes DNS schema
// (../shared/reference/k8s-dns-spec.md) and, where the spec is silent, CoreDNS's answers.
// The data is built in pieces so an update rebuilds only what it touched: one ServiceRecords per
// Service (its A/AAAA, endpoint names, SRV, ExternalName CNAME, and the PTRs it contributes), the
// base zones (apex SOA/NS, dns-version, namespace names), and pod records. Pure functions of
// their inputs; may run on a pool thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/ip_address.h"
#include "plugins/kubernetes/objects.h"
#include "server/common/error.h"
#include "zones/compiled_zone.h"

namespace petdns::plugins::kubernetes {

enum class PodMode : uint8_t { kDisabled, kInsecure, kVerified };

struct RecordOptions {
  std::vector<std::string> forward_zones;  // lower-case wire names; the first is the primary zone
  std::vector<std::string> reverse_zones;  // lower-case wire names under in-addr.arpa / ip6.arpa
  uint32_t ttl = 5;
  uint32_t negative_ttl = 5;  // SOA MINIMUM and TTL: how long NXDOMAIN/NODATA may be cached
  PodMode pods = PodMode::kDisabled;
  bool endpoint_pod_names = false;        // name endpoints without hostname after their pod
  bool ignore_empty_service = false;      // ClusterIP services with no ready endpoint: NXDOMAIN
  std::vector<std::string> namespaces;    // exposed namespaces; empty: all
  std::vector<std::string> ns_addresses;  // A/AAAA of ns.dns.<zone>; empty: 127.0.0.1

  bool Exposed(std::string_view ns) const;
};

// A PTR that a service asks for: the reverse name of `address` → `target` in the primary zone.
struct PtrContribution {
  IpAddress address;
  bool cluster_ip = false;  // a ClusterIP's PTR hides endpoint PTRs of the same address
  // A node name of the service's primary-zone fragment (ServiceRecords::zones[0]): valid as long
  // as the ServiceRecords, and no copy of its own.
  std::string_view target;
};

// Everything one Service puts in DNS. `zones` holds, per forward zone, a fragment whose origin is
// <svc>.<ns>.svc.<zone> and which has no SOA (negative answers use the base zone's).
struct ServiceRecords {
  std::vector<std::shared_ptr<const zones::CompiledZone>> zones;
  std::vector<PtrContribution> ptrs;  // sorted by address
  size_t endpoints = 0;

  // The PTR targets this service asks for at `address` (a range of `ptrs`).
  std::span<const PtrContribution> PtrsOf(const IpAddress& address) const noexcept;
};

// The map key of a service: the relative wire labels "<svc><ns>" ("\5nginx\7default").
std::string ServiceKey(std::string_view ns, std::string_view name);

// The records of `service` given the EndpointSlices labelled with its name. Null when the service
// puts nothing in DNS (a headless service without published endpoints, an ExternalName that is an
// IP, a name that is not a DNS label, a namespace that is not exposed).
std::shared_ptr<const ServiceRecords> BuildServiceRecords(
    const Service& service, const std::vector<const EndpointSlice*>& slices,
    const RecordOptions& options);

// The base zones, forward then reverse: SOA (with `serial`), NS, ns.dns.<zone>, dns-version,
// svc/pod and one name per exposed namespace.
[[nodiscard]] Result<std::vector<std::shared_ptr<const zones::CompiledZone>>> BuildBaseZones(
    const std::vector<std::string>& namespaces, const RecordOptions& options, uint32_t serial);

// Pod records for `pods = "verified"`: key "<a-b-c-d><ns>" (relative wire) → A or AAAA RRsets.
struct PodRecords {
  std::vector<zones::RRset> rrsets;
};
std::string PodKey(std::string_view dashed_address, std::string_view ns);
void AddPodRecords(const Pod& pod, const RecordOptions& options,
                   std::vector<std::pair<std::string, PodRecords>>& out);

// The endpoint name CoreDNS uses for an address without hostname: "10-0-0-1", "2001-db8--1";
// an IPv6 name ending in "-" gets a trailing "0".
std::string DashedAddress(std::string_view ip);

// "d.c.b.a.in-addr.arpa." / 32-nibble "ip6.arpa." wire name for an IP, or empty if not an IP.
std::string ReverseName(std::string_view ip);

}  // namespace petdns::plugins::kubernetes
