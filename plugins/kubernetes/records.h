// Turns a snapshot of the cluster into compiled zones following the Kubernetes DNS schema
// (../shared/reference/k8s-dns-spec.md) and, where the spec is silent, CoreDNS's answers: service
// A/AAAA, per-endpoint names, SRV, ExternalName CNAMEs, pod records, PTRs, dns-version, SOA, NS.
// Pure function of its inputs; runs on a pool thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugins/kubernetes/cluster_state.h"
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
};

// One compiled zone per configured zone, forward zones first, then reverse zones, in option order.
struct ClusterZones {
  std::vector<std::shared_ptr<const zones::CompiledZone>> zones;
  size_t services = 0;
  size_t endpoints = 0;
};

[[nodiscard]] Result<ClusterZones> BuildClusterZones(const ClusterState::Snapshot& snapshot,
                                                     const RecordOptions& options, uint32_t serial);

// The endpoint name CoreDNS uses for an address without hostname: "10-0-0-1", "2001-db8--1";
// an IPv6 name ending in "-" gets a trailing "0".
std::string DashedAddress(std::string_view ip);

// "d.c.b.a.in-addr.arpa." / 32-nibble "ip6.arpa." wire name for an IP, or empty if not an IP.
std::string ReverseName(std::string_view ip);

}  // namespace petdns::plugins::kubernetes
