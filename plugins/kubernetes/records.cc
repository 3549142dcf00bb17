#include "plugins/kubernetes/records.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include "server/common/log.h"
#include "server/wire/name.h"

namespace petdns::plugins::kubernetes {
namespace {

using wire::RrType;

constexpr std::string_view kLog = "plugin/kubernetes";
constexpr uint32_t kDnsVersionTtl = 28800;
constexpr std::string_view kSchemaVersion = "1.1.0";

RrType TypeOf(const IpAddress& a) { return a.is_v4() ? RrType::kA : RrType::kAaaa; }
std::string Rdata(const IpAddress& a) { return std::string(a.rdata()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Relative wire labels from presentation labels: {"web-0","nginx","default","svc"}; empty when
// a label cannot be a DNS label.
std::string Relative(std::initializer_list<std::string_view> labels) {
  std::string out;
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > wire::kMaxLabelLength) return {};
    out.push_back(static_cast<char>(label.size()));
    out.append(Lower(label));
  }
  return out;
}

// `relative` + `zone`, or empty when too long for a name.
std::string Absolute(std::string_view relative, std::string_view zone) {
  std::string out(relative);
  out.append(zone);
  return out.size() <= wire::kMaxNameLength ? out : std::string();
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

// CoreDNS's SRV weight: 100 split over the items the answer was built from, at least 1.
uint16_t SrvWeight(size_t items) {
  return static_cast<uint16_t>(std::max<size_t>(1, 100 / std::max<size_t>(items, 1)));
}

std::string ReverseNameOf(const IpAddress& a) {
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

void AddOrWarn(zones::ZoneBuilder& builder, std::string_view owner, RrType type, uint32_t ttl,
               std::string rdata) {
  if (owner.empty()) return;
  if (Status st = builder.Add(owner, type, 1, ttl, std::move(rdata)); !st) {
    log::Warning(kLog, st.error().message);
  }
}

// Orders PTR contributions by address (length first: IPv4 before IPv6).
struct PtrAddressLess {
  static std::pair<uint8_t, std::string_view> Key(const IpAddress& a) {
    return {a.length, a.rdata()};
  }
  bool operator()(const PtrContribution& a, const PtrContribution& b) const {
    return Key(a.address) < Key(b.address);
  }
  bool operator()(const PtrContribution& a, const IpAddress& b) const {
    return Key(a.address) < Key(b);
  }
  bool operator()(const IpAddress& a, const PtrContribution& b) const {
    return Key(a) < Key(b.address);
  }
};

struct PublishedEndpoint {
  std::string name;  // endpoint label: hostname, pod name or dashed IP
  IpAddress address;
};

// The endpoints a service publishes: ready ones, or all of them with publishNotReadyAddresses or
// the tolerate-unready annotation; deduplicated by (name, address).
std::vector<PublishedEndpoint> Published(const Service& service,
                                         const std::vector<const EndpointSlice*>& slices,
                                         const RecordOptions& options) {
  std::vector<PublishedEndpoint> published;
  std::set<std::pair<std::string, std::string>> seen;
  for (const EndpointSlice* slice : slices) {
    if (slice->address_type == EndpointSlice::AddressType::kFqdn) continue;
    for (const Endpoint& endpoint : slice->endpoints) {
      if (!endpoint.ready && !service.publish_not_ready) continue;
      std::string name;
      switch (endpoint.name_kind) {
        case Endpoint::NameKind::kInvalid:
          continue;
        case Endpoint::NameKind::kHostname:
          name = slice->NameOf(endpoint);
          break;
        case Endpoint::NameKind::kPod:
          if (options.endpoint_pod_names) name = slice->NameOf(endpoint);
          break;
        case Endpoint::NameKind::kAddress:
          break;
      }
      if (name.empty()) name = DashedAddress(slice->AddressText(endpoint));
      if (name.size() > wire::kMaxLabelLength) continue;
      IpAddress address = slice->AddressOf(endpoint);
      if (!seen.insert({name, Rdata(address)}).second) continue;
      published.push_back({std::move(name), address});
    }
  }
  return published;
}

// Builds the fragment of one service under one forward zone.
std::shared_ptr<const zones::CompiledZone> BuildFragment(
    const Service& service, const std::vector<const EndpointSlice*>& slices,
    const std::vector<PublishedEndpoint>& published, const RecordOptions& options,
    std::string_view zone) {
  const std::string apex = Absolute(Relative({service.name, service.ns, "svc"}), zone);
  if (apex.empty()) return nullptr;
  const uint32_t ttl = options.ttl;
  zones::ZoneBuilder builder(apex);
  auto endpoint_name = [&](const PublishedEndpoint& e) {
    return e.name.empty() ? std::string() : Absolute(Relative({e.name}), apex);
  };

  if (service.kind == Service::Kind::kExternalName) {
    std::string target_text = service.external_name;
    if (target_text.back() != '.') target_text.push_back('.');
    auto target = wire::NameFromText(target_text);
    if (!target) return nullptr;
    AddOrWarn(builder, apex, RrType::kCname, ttl, wire::LowerName(*target));
  } else if (service.kind == Service::Kind::kClusterIp) {
    const size_t ips = service.cluster_ips.size();
    for (const IpAddress& a : service.cluster_ips) {
      AddOrWarn(builder, apex, TypeOf(a), ttl, Rdata(a));
    }
    // SRV: the bare name lists every port; _port._proto only named ports. Target: the service.
    uint16_t bare_weight = SrvWeight(std::max<size_t>(ips, 1) * service.ports.size());
    for (const ServicePort& port : service.ports) {
      auto number = static_cast<uint16_t>(port.port);
      AddOrWarn(builder, apex, RrType::kSrv, ttl, SrvRdata(bare_weight, number, apex));
      if (port.name.empty()) continue;
      std::string port_owner =
          Absolute(Relative({"_" + port.name, "_" + std::string(port.protocol.view())}), apex);
      AddOrWarn(builder, port_owner, RrType::kSrv, ttl,
                SrvRdata(SrvWeight(std::max<size_t>(ips, 1)), number, apex));
    }
    // Endpoint names exist for ClusterIP services too (CoreDNS does the same).
    for (const PublishedEndpoint& e : published) {
      AddOrWarn(builder, endpoint_name(e), TypeOf(e.address), ttl, Rdata(e.address));
    }
  } else {  // headless
    // Ports across the service's slices, deduplicated by (name, protocol, port).
    std::set<std::tuple<std::string, std::string, int32_t>> ports;
    for (const EndpointSlice* slice : slices) {
      for (const EndpointPort& p : slice->ports) {
        if (p.port >= 0) ports.insert({Lower(p.name), std::string(p.protocol.view()), p.port});
      }
    }
    std::map<std::pair<std::string, std::string>, size_t> per_port_count;
    for (const auto& [name, protocol, number] : ports) per_port_count[{name, protocol}]++;
    uint16_t bare_weight = SrvWeight(published.size() * ports.size());
    for (const PublishedEndpoint& e : published) {
      std::string target = endpoint_name(e);
      AddOrWarn(builder, apex, TypeOf(e.address), ttl, Rdata(e.address));
      AddOrWarn(builder, target, TypeOf(e.address), ttl, Rdata(e.address));
      if (target.empty()) continue;
      for (const auto& [name, protocol, number] : ports) {
        auto port_number = static_cast<uint16_t>(number);
        AddOrWarn(builder, apex, RrType::kSrv, ttl, SrvRdata(bare_weight, port_number, target));
        if (name.empty()) continue;
        std::string port_owner = Absolute(Relative({"_" + name, "_" + protocol}), apex);
        size_t items = published.size() * per_port_count[{name, protocol}];
        AddOrWarn(builder, port_owner, RrType::kSrv, ttl,
                  SrvRdata(SrvWeight(items), port_number, target));
      }
    }
  }
  auto built = std::move(builder).Build(/*require_soa=*/false);
  if (!built) {
    log::Warning(kLog, "Service " + service.ns + "/" + service.name + ": " + built.error().message);
    return nullptr;
  }
  return *built;
}

}  // namespace

bool RecordOptions::Exposed(std::string_view ns) const {
  return namespaces.empty() ||
         std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

std::string DashedAddress(std::string_view ip) {
  std::string out(ip);
  std::replace(out.begin(), out.end(), '.', '-');
  std::replace(out.begin(), out.end(), ':', '-');
  if (!out.empty() && out.back() == '-') out.push_back('0');
  return out;
}

std::string ReverseName(std::string_view ip) {
  std::optional<IpAddress> a = IpAddress::Parse(ip);
  return a ? ReverseNameOf(*a) : std::string();
}

std::string ServiceKey(std::string_view ns, std::string_view name) { return Relative({name, ns}); }

std::string PodKey(std::string_view dashed_address, std::string_view ns) {
  return Relative({dashed_address, ns});
}

std::shared_ptr<const ServiceRecords> BuildServiceRecords(
    const Service& service, const std::vector<const EndpointSlice*>& slices,
    const RecordOptions& options) {
  if (!options.Exposed(service.ns) || options.forward_zones.empty()) return nullptr;
  if (service.kind == Service::Kind::kExternalName && IpAddress::Parse(service.external_name)) {
    return nullptr;  // an IP is no CNAME target (CoreDNS answers NXDOMAIN too)
  }
  std::vector<PublishedEndpoint> published = Published(service, slices, options);
  if (service.kind == Service::Kind::kHeadless && published.empty()) return nullptr;
  if (service.kind == Service::Kind::kClusterIp && options.ignore_empty_service &&
      published.empty()) {
    return nullptr;
  }
  auto records = std::make_shared<ServiceRecords>();
  records->endpoints = published.size();
  for (const std::string& zone : options.forward_zones) {
    auto fragment = BuildFragment(service, slices, published, options, zone);
    if (fragment == nullptr) return nullptr;
    records->zones.push_back(std::move(fragment));
  }
  // PTRs point into the primary zone: ClusterIPs at the service, endpoints at their names. Only
  // addresses inside a configured reverse zone are kept: the rest could never be asked for.
  auto in_reverse_zone = [&](const std::string& reverse) {
    return !reverse.empty() &&
           std::any_of(options.reverse_zones.begin(), options.reverse_zones.end(),
                       [&](const std::string& zone) { return wire::IsSubdomain(reverse, zone); });
  };
  if (options.reverse_zones.empty()) return records;
  // Targets are names the primary fragment holds anyway: point at them instead of copying.
  const zones::CompiledZone& primary = *records->zones.front();
  if (service.kind == Service::Kind::kClusterIp) {
    for (const IpAddress& ip : service.cluster_ips) {
      if (in_reverse_zone(ReverseNameOf(ip))) records->ptrs.push_back({ip, true, primary.origin()});
    }
  }
  if (service.kind != Service::Kind::kExternalName) {
    for (const PublishedEndpoint& e : published) {
      std::string target = Absolute(Relative({e.name}), primary.origin());
      const zones::Node* node = target.empty() ? nullptr : primary.Find(target);
      if (node != nullptr && in_reverse_zone(ReverseNameOf(e.address))) {
        records->ptrs.push_back({e.address, false, node->name()});
      }
    }
  }
  std::stable_sort(records->ptrs.begin(), records->ptrs.end(), PtrAddressLess{});
  records->ptrs.shrink_to_fit();
  return records;
}

std::span<const PtrContribution> ServiceRecords::PtrsOf(const IpAddress& address) const noexcept {
  auto [first, last] = std::equal_range(ptrs.begin(), ptrs.end(), address, PtrAddressLess{});
  return {first, last};
}

Result<std::vector<std::shared_ptr<const zones::CompiledZone>>> BuildBaseZones(
    const std::vector<std::string>& namespaces, const RecordOptions& options, uint32_t serial) {
  if (options.forward_zones.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "kubernetes: no forward zone configured");
  }
  std::vector<std::shared_ptr<const zones::CompiledZone>> out;
  const uint32_t ttl = options.ttl;
  for (const std::string& zone : options.forward_zones) {
    zones::ZoneBuilder builder(zone);
    AddOrWarn(builder, zone, RrType::kSoa, options.negative_ttl,
              SoaRdata(zone, serial, options.negative_ttl));
    std::string ns_name = Absolute(Relative({"ns", "dns"}), zone);
    AddOrWarn(builder, zone, RrType::kNs, ttl, ns_name);
    std::vector<std::string> ns_addresses = options.ns_addresses;
    if (ns_addresses.empty()) ns_addresses.push_back("127.0.0.1");
    for (const std::string& ip : ns_addresses) {
      if (auto a = IpAddress::Parse(ip)) AddOrWarn(builder, ns_name, TypeOf(*a), ttl, Rdata(*a));
    }
    std::string version_txt(1, static_cast<char>(kSchemaVersion.size()));
    version_txt.append(kSchemaVersion);
    AddOrWarn(builder, Absolute(Relative({"dns-version"}), zone), RrType::kTxt, kDnsVersionTtl,
              version_txt);
    builder.AddEmptyName(Absolute(Relative({"svc"}), zone));
    builder.AddEmptyName(Absolute(Relative({"pod"}), zone));
    for (const std::string& ns : namespaces) {
      if (!options.Exposed(ns)) continue;
      builder.AddEmptyName(Absolute(Relative({ns, "svc"}), zone));
      if (options.pods != PodMode::kDisabled) {
        builder.AddEmptyName(Absolute(Relative({ns, "pod"}), zone));
      }
    }
    auto built = std::move(builder).Build();
    if (!built) return built.error();
    out.push_back(std::move(*built));
  }
  const std::string& primary = options.forward_zones.front();
  for (const std::string& zone : options.reverse_zones) {
    zones::ZoneBuilder builder(zone);
    AddOrWarn(builder, zone, RrType::kSoa, options.negative_ttl,
              SoaRdata(primary, serial, options.negative_ttl));
    AddOrWarn(builder, zone, RrType::kNs, ttl, Absolute(Relative({"ns", "dns"}), primary));
    auto built = std::move(builder).Build();
    if (!built) return built.error();
    out.push_back(std::move(*built));
  }
  return out;
}

void AddPodRecords(const Pod& pod, const RecordOptions& options,
                   std::vector<std::pair<std::string, PodRecords>>& out) {
  if (!options.Exposed(pod.ns)) return;
  for (const std::string& ip : pod.ips) {
    std::optional<IpAddress> a = IpAddress::Parse(ip);
    std::string key = PodKey(DashedAddress(ip), pod.ns);
    if (!a || key.empty()) continue;
    PodRecords records;
    records.rrsets.push_back(zones::RRset{TypeOf(*a), 1, options.ttl, {Rdata(*a)}});
    out.emplace_back(std::move(key), std::move(records));
  }
}

}  // namespace petdns::plugins::kubernetes
