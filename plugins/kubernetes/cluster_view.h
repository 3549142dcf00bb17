// One published version of the cluster's DNS data: the base zones (apex, namespaces), one
// fragment per Service, the PTR records they contribute, and verified pod records. Versions
// share everything that did not change (ShardedMap), so publishing an update costs what the
// update touched. Immutable once published: workers read it without locks through a
// shared_ptr<const ClusterView>; the main loop builds the next version from a copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugins/kubernetes/records.h"
#include "plugins/kubernetes/sharded_map.h"
#include "server/wire/dns.h"
#include "zones/answer.h"
#include "zones/compiled_zone.h"

namespace petdns::plugins::kubernetes {

// The PTR RRset of one address, and the services that asked for it (their ServiceRecords::ptrs
// say what each contributes).
struct PtrRecords {
  std::vector<std::string> services;  // view keys
  zones::RRset rrset;  // a ClusterIP's PTR alone if there is one, else every endpoint name
};

class ClusterView {
 public:
  // Forward zones first, then reverse zones, in the plugin's zone order.
  std::vector<std::shared_ptr<const zones::CompiledZone>> base;
  size_t forward_zones = 0;
  ShardedMap<std::shared_ptr<const ServiceRecords>> services;
  // By address (IpAddress::rdata(): 4 or 16 bytes). One entry per published address, so more
  // shards than the others: an update that moves a service's endpoints copies only a few dozen
  // entries per address it touches.
  ShardedMap<std::shared_ptr<const PtrRecords>, 4096> ptrs;
  ShardedMap<std::shared_ptr<const PodRecords>> pods;
  size_t endpoints = 0;
  uint32_t ttl = 5;

  // Replaces (or with null, removes) the records of the service at `key`, keeping `ptrs` and
  // `endpoints` in step. Main loop only, before the view is published.
  void SetService(const std::string& key, std::shared_ptr<const ServiceRecords> records);

  // Answers `qname` (lower-case wire inside base[zone_index]) like zones::Resolve would for one
  // zone holding everything, following CNAMEs between services of the cluster zone.
  void Resolve(size_t zone_index, std::string_view qname, std::string_view owner,
               wire::RrType qtype, zones::Answer& out) const noexcept;

 private:
  void ResolveForward(size_t zone_index, std::string_view qname, std::string_view owner,
                      wire::RrType qtype, zones::Answer& out) const noexcept;
  void ResolveReverse(size_t zone_index, std::string_view qname, std::string_view owner,
                      wire::RrType qtype, zones::Answer& out) const noexcept;
  // Recomputes the PTRs of `address` after the service at `key` changed (already in `services`).
  void RefreshPtr(const IpAddress& address, const std::string& key);
};

}  // namespace petdns::plugins::kubernetes
