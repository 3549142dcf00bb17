#include "plugins/kubernetes/records.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "server/common/log.h"
#include "server/wire/name.h"

namespace petdns::plugins::kubernetes {
namespace {

using wire::RrType;

constexpr std::string_view kLog = "plugin/kubernetes";
constexpr uint32_t kDnsVersionTtl = 28800;
constexpr std::string_view kSchemaVersion = "1.1.0";

// A parsed IP address in wire form: 4 or 16 bytes.
struct Address {
  std::array<uint8_t, 16> bytes{};
  size_t length = 0;  // 4 or 16; 0 when not an address
  RrType type() const { return length == 4 ? RrType::kA : RrType::kAaaa; }
  std::string rdata() const {
    return std::string(reinterpret_cast<const char*>(bytes.data()), length);
  }
};

Address ParseAddress(std::string_view text) {
  Address a;
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.length = 4;
  } else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.length = 16;
  }
  return a;
}

// Prepends one label to a wire name; false when the label cannot be a DNS label.
bool Prepend(std::string_view label, std::string_view suffix, std::string& out) {
  if (label.empty() || label.size() > wire::kMaxLabelLength ||
      label.size() + 1 + suffix.size() > wire::kMaxNameLength) {
    return false;
  }
  out.clear();
  out.push_back(static_cast<char>(label.size()));
  out.append(label);
  out.append(suffix);
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string SrvRdata(uint16_t weight, uint16_t port, std::string_view target) {
  std::string rdata(6, '\0');
  auto* p = reinterpret_cast<uint8_t*>(rdata.data());
  wire::WriteU16(p, 0);  // priority
  wire::WriteU16(p + 2, weight);
  wire::WriteU16(p + 4, port);
  rdata.append(target);
  return rdata;
}

uint16_t SrvWeight(size_t items) {
  return static_cast<uint16_t>(std::max<size_t>(1, 100 / std::max<size_t>(items, 1)));
}

// Collects records for every configured forward zone at once: names are given relative to the
// zone ("web-0.nginx.default.svc") as wire labels without the root, then suffixed per zone.
class ForwardRecords {
 public:
  ForwardRecords(const RecordOptions& options, std::vector<zones::ZoneBuilder>& builders)
      : options_(options), builders_(builders) {}

  // `relative` is a wire name without its terminating root label (labels only).
  void Add(std::string_view relative, RrType type, uint32_t ttl, const std::string& rdata) {
    for (size_t i = 0; i < options_.forward_zones.size(); ++i) {
      name_.assign(relative);
      name_.append(options_.forward_zones[i]);
      if (name_.size() > wire::kMaxNameLength) continue;
      if (auto st = builders_[i].Add(name_, type, 1, ttl, rdata); !st) {
        log::Warning(kLog, st.error().message);
      }
    }
  }
  void AddEmpty(std::string_view relative) {
    for (size_t i = 0; i < options_.forward_zones.size(); ++i) {
      name_.assign(relative);
      name_.append(options_.forward_zones[i]);
      if (name_.size() <= wire::kMaxNameLength) builders_[i].AddEmptyName(name_);
    }
  }
  // A target inside the primary zone, for rdata (SRV/CNAME/PTR targets must be absolute).
  // SRV targets inside other forward zones point into that zone, as CoreDNS does.
  void AddWithTarget(std::string_view relative, RrType type, uint32_t ttl,
                     const std::function<std::string(std::string_view zone)>& rdata_for_zone) {
    for (size_t i = 0; i < options_.forward_zones.size(); ++i) {
      name_.assign(relative);
      name_.append(options_.forward_zones[i]);
      if (name_.size() > wire::kMaxNameLength) continue;
      std::string rdata = rdata_for_zone(options_.forward_zones[i]);
      if (rdata.empty()) continue;
      if (auto st = builders_[i].Add(name_, type, 1, ttl, rdata); !st) {
        log::Warning(kLog, st.error().message);
      }
    }
  }

 private:
  const RecordOptions& options_;
  std::vector<zones::ZoneBuilder>& builders_;
  std::string name_;
};

// Relative wire labels from presentation labels: {"web-0","nginx","default","svc"}.
std::string Relative(std::initializer_list<std::string_view> labels) {
  std::string out;
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > wire::kMaxLabelLength) return {};
    out.push_back(static_cast<char>(label.size()));
    out.append(Lower(label));
  }
  return out;
}

std::string Absolute(std::string_view relative, std::string_view zone) {
  std::string out(relative);
  out.append(zone);
  return out.size() <= wire::kMaxNameLength ? out : std::string();
}

struct PublishedEndpoint {
  std::string name;  // endpoint label: hostname, pod name or dashed IP
  Address address;
};

}  // namespace

std::string DashedAddress(std::string_view ip) {
  std::string out(ip);
  std::replace(out.begin(), out.end(), '.', '-');
  std::replace(out.begin(), out.end(), ':', '-');
  if (!out.empty() && out.back() == '-') out.push_back('0');
  return out;
}

namespace {

std::string ReverseNameOf(const Address& a) {
  std::string text;
  if (a.length == 4) {
    for (int i = 3; i >= 0; --i) text += std::to_string(a.bytes[static_cast<size_t>(i)]) + ".";
    text += "in-addr.arpa.";
  } else if (a.length == 16) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      uint8_t b = a.bytes[static_cast<size_t>(i)];
      text.push_back(kHex[b & 0xF]);
      text.push_back('.');
      text.push_back(kHex[b >> 4]);
      text.push_back('.');
    }
    text += "ip6.arpa.";
  } else {
    return {};
  }
  return *wire::NameFromText(text);
}

// SOA rdata naming ns.dns.<zone> and hostmaster.<zone>; MINIMUM is the negative TTL.
std::string SoaRdata(std::string_view zone, uint32_t serial, uint32_t negative_ttl) {
  std::string soa =
      Absolute(Relative({"ns", "dns"}), zone) + Absolute(Relative({"hostmaster"}), zone);
  std::array<uint8_t, 20> numbers{};
  wire::WriteU32(numbers.data(), serial);
  wire::WriteU32(numbers.data() + 4, 7200);    // refresh
  wire::WriteU32(numbers.data() + 8, 1800);    // retry
  wire::WriteU32(numbers.data() + 12, 86400);  // expire
  wire::WriteU32(numbers.data() + 16, negative_ttl);
  soa.append(reinterpret_cast<const char*>(numbers.data()), numbers.size());
  return soa;
}

}  // namespace

std::string ReverseName(std::string_view ip) { return ReverseNameOf(ParseAddress(ip)); }

Result<ClusterZones> BuildClusterZones(const ClusterState::Snapshot& snapshot,
                                       const RecordOptions& options, uint32_t serial) {
  if (options.forward_zones.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "kubernetes: no forward zone configured");
  }
  std::vector<zones::ZoneBuilder> forward;
  for (const std::string& zone : options.forward_zones) forward.emplace_back(zone);
  std::vector<zones::ZoneBuilder> reverse;
  for (const std::string& zone : options.reverse_zones) reverse.emplace_back(zone);
  ForwardRecords records(options, forward);
  const uint32_t ttl = options.ttl;

  auto exposed = [&](const std::string& ns) {
    return options.namespaces.empty() ||
           std::find(options.namespaces.begin(), options.namespaces.end(), ns) !=
               options.namespaces.end();
  };

  // Apex: SOA, NS with ns.dns.<zone> addresses, dns-version TXT; the structural names.
  for (size_t i = 0; i < options.forward_zones.size(); ++i) {
    const std::string& zone = options.forward_zones[i];
    (void)forward[i].Add(zone, RrType::kSoa, 1, options.negative_ttl,
                         SoaRdata(zone, serial, options.negative_ttl));
    (void)forward[i].Add(zone, RrType::kNs, 1, ttl, Absolute(Relative({"ns", "dns"}), zone));
  }
  std::vector<std::string> ns_addresses = options.ns_addresses;
  if (ns_addresses.empty()) ns_addresses.push_back("127.0.0.1");
  for (const std::string& ip : ns_addresses) {
    Address a = ParseAddress(ip);
    if (a.length != 0) records.Add(Relative({"ns", "dns"}), a.type(), ttl, a.rdata());
  }
  std::string version_txt(1, static_cast<char>(kSchemaVersion.size()));
  version_txt.append(kSchemaVersion);
  records.Add(Relative({"dns-version"}), RrType::kTxt, kDnsVersionTtl, version_txt);
  records.AddEmpty(Relative({"svc"}));
  records.AddEmpty(Relative({"pod"}));
  for (const auto& [name, ns] : snapshot.namespaces) {
    if (!exposed(ns->name)) continue;
    records.AddEmpty(Relative({ns->name, "svc"}));
    if (options.pods != PodMode::kDisabled) records.AddEmpty(Relative({ns->name, "pod"}));
  }

  // Slices grouped by their service, ("ns/service" → slices).
  std::map<std::string, std::vector<const EndpointSlice*>> slices_by_service;
  for (const auto& [key, slice] : snapshot.slices) {
    if (slice->service.empty()) continue;
    slices_by_service[slice->ns + "/" + slice->service].push_back(slice.get());
  }

  // PTR targets: IP → names in the primary zone. A ClusterIP's PTR is its service alone.
  std::map<std::string, std::set<std::string>> ptr_targets;  // reverse wire name → targets
  std::set<std::string> cluster_ip_reverse;
  const std::string& primary = options.forward_zones.front();

  ClusterZones result;
  std::string rel, owner;
  for (const auto& [key, service_ptr] : snapshot.services) {
    const Service& svc = *service_ptr;
    if (!exposed(svc.ns)) continue;
    const std::string svc_rel = Relative({svc.name, svc.ns, "svc"});
    if (svc_rel.empty()) {
      log::Warning(kLog, "Service " + key + ": name is not a DNS label, skipped");
      continue;
    }
    ++result.services;

    if (svc.kind == Service::Kind::kExternalName) {
      std::string target_text = svc.external_name;
      if (ParseAddress(target_text).length != 0) continue;  // an IP is no CNAME target
      if (target_text.back() != '.') target_text.push_back('.');
      auto target = wire::NameFromText(target_text);
      if (!target) {
        log::Warning(kLog, "Service " + key + ": externalName: " + target.error().message);
        continue;
      }
      records.Add(svc_rel, RrType::kCname, ttl, wire::LowerName(*target));
      continue;
    }

    // Endpoints this service publishes: ready ones, or all with publishNotReadyAddresses or
    // the tolerate-unready annotation. Keyed by name and address to drop duplicates.
    std::vector<PublishedEndpoint> published;
    std::set<std::pair<std::string, std::string>> seen;
    std::vector<const EndpointSlice*>& slices = slices_by_service[key];
    for (const EndpointSlice* slice : slices) {
      if (slice->address_type == EndpointSlice::AddressType::kFqdn) continue;
      for (const Endpoint& endpoint : slice->endpoints) {
        if (!endpoint.ready && !svc.publish_not_ready) continue;
        for (const std::string& ip : endpoint.addresses) {
          Address address = ParseAddress(ip);
          if (address.length == 0) continue;
          std::string name = Lower(endpoint.hostname);
          if (name.empty() && options.endpoint_pod_names && !endpoint.target_pod.empty() &&
              endpoint.target_pod.size() < 64) {
            name = Lower(endpoint.target_pod);
          }
          if (name.empty()) name = DashedAddress(ip);
          if (!seen.insert({name, address.rdata()}).second) continue;
          published.push_back({std::move(name), address});
        }
      }
    }
    result.endpoints += published.size();

    if (svc.kind == Service::Kind::kClusterIp) {
      if (options.ignore_empty_service && published.empty()) continue;
      std::vector<Address> ips;
      for (const std::string& ip : svc.cluster_ips) {
        Address a = ParseAddress(ip);
        if (a.length == 0) continue;
        ips.push_back(a);
        records.Add(svc_rel, a.type(), ttl, a.rdata());
        std::string reverse_name = ReverseName(ip);
        cluster_ip_reverse.insert(reverse_name);
        ptr_targets[reverse_name] = {Absolute(svc_rel, primary)};
      }
      // SRV: the bare name lists every port; _port._proto only named ports. Target: the service.
      uint16_t bare_weight = SrvWeight(std::max<size_t>(ips.size(), 1) * svc.ports.size());
      for (const ServicePort& port : svc.ports) {
        auto srv = [&](uint16_t weight) {
          return [&, weight](std::string_view zone) {
            return SrvRdata(weight, static_cast<uint16_t>(port.port), Absolute(svc_rel, zone));
          };
        };
        records.AddWithTarget(svc_rel, RrType::kSrv, ttl, srv(bare_weight));
        if (port.name.empty()) continue;
        std::string port_rel = Relative({"_" + port.name, "_" + port.protocol}) + svc_rel;
        records.AddWithTarget(port_rel, RrType::kSrv, ttl,
                              srv(SrvWeight(std::max<size_t>(ips.size(), 1))));
      }
      // Endpoint names exist for ClusterIP services too (CoreDNS does the same).
      for (const PublishedEndpoint& e : published) {
        if (!Prepend(e.name, svc_rel, rel)) continue;
        records.Add(rel, e.address.type(), ttl, e.address.rdata());
      }
    } else {  // headless
      // Ports across the service's slices, deduplicated by (name, protocol, port).
      std::set<std::tuple<std::string, std::string, int32_t>> ports;
      for (const EndpointSlice* slice : slices) {
        for (const EndpointPort& p : slice->ports) {
          if (p.port >= 0) ports.insert({Lower(p.name), p.protocol, p.port});
        }
      }
      for (const PublishedEndpoint& e : published) {
        records.Add(svc_rel, e.address.type(), ttl, e.address.rdata());
        if (!Prepend(e.name, svc_rel, rel)) continue;
        records.Add(rel, e.address.type(), ttl, e.address.rdata());
      }
      uint16_t bare_weight = SrvWeight(published.size() * ports.size());
      std::map<std::pair<std::string, std::string>, size_t> per_port_count;
      for (const auto& [name, protocol, number] : ports) per_port_count[{name, protocol}]++;
      for (const PublishedEndpoint& e : published) {
        if (!Prepend(e.name, svc_rel, rel)) continue;
        std::string endpoint_rel = rel;
        for (const auto& [name, protocol, number] : ports) {
          uint16_t port_number = static_cast<uint16_t>(number);
          auto srv = [&](uint16_t weight) {
            return [&, weight, port_number](std::string_view zone) {
              return SrvRdata(weight, port_number, Absolute(endpoint_rel, zone));
            };
          };
          records.AddWithTarget(svc_rel, RrType::kSrv, ttl, srv(bare_weight));
          if (name.empty()) continue;
          std::string port_rel = Relative({"_" + name, "_" + protocol}) + svc_rel;
          size_t items = published.size() * per_port_count[{name, protocol}];
          records.AddWithTarget(port_rel, RrType::kSrv, ttl, srv(SrvWeight(items)));
        }
      }
    }
    // PTRs for published endpoints (any service type): <name>.<svc>.<ns>.svc.<primary>.
    for (const PublishedEndpoint& e : published) {
      if (!Prepend(e.name, svc_rel, rel)) continue;
      std::string reverse_name = ReverseNameOf(e.address);
      if (cluster_ip_reverse.count(reverse_name) != 0) continue;
      ptr_targets[reverse_name].insert(Absolute(rel, primary));
    }
  }

  // Pod records, verified mode: a-b-c-d.<ns>.pod.<zone> for pods that exist.
  if (options.pods == PodMode::kVerified) {
    for (const auto& [key, pod] : snapshot.pods) {
      if (!exposed(pod->ns)) continue;
      for (const std::string& ip : pod->ips) {
        Address a = ParseAddress(ip);
        std::string pod_rel = Relative({DashedAddress(ip), pod->ns, "pod"});
        if (a.length != 0 && !pod_rel.empty()) records.Add(pod_rel, a.type(), ttl, a.rdata());
      }
    }
  }

  // Reverse zones: each PTR goes to the configured reverse zone that contains it.
  for (const auto& [reverse_name, targets] : ptr_targets) {
    if (reverse_name.empty()) continue;
    for (size_t i = 0; i < options.reverse_zones.size(); ++i) {
      if (!wire::IsSubdomain(reverse_name, options.reverse_zones[i])) continue;
      for (const std::string& target : targets) {
        (void)reverse[i].Add(reverse_name, RrType::kPtr, 1, ttl, target);
      }
      break;
    }
  }
  for (size_t i = 0; i < options.reverse_zones.size(); ++i) {
    const std::string& zone = options.reverse_zones[i];
    (void)reverse[i].Add(zone, RrType::kSoa, 1, options.negative_ttl,
                         SoaRdata(primary, serial, options.negative_ttl));
    (void)reverse[i].Add(zone, RrType::kNs, 1, ttl, Absolute(Relative({"ns", "dns"}), primary));
  }

  for (auto* builders : {&forward, &reverse}) {
    for (zones::ZoneBuilder& builder : *builders) {
      auto zone = std::move(builder).Build();
      if (!zone) return zone.error();
      result.zones.push_back(std::move(*zone));
    }
  }
  return result;
}

}  // namespace petdns::plugins::kubernetes
