#include "plugins/kubernetes/cluster_view.h"

#include <algorithm>
#include <array>

#include "server/wire/name.h"
#include "zones/authority.h"

namespace petdns::plugins::kubernetes {
namespace {

using wire::RrType;

constexpr int kMaxCnameHops = 8;
constexpr std::string_view kSvcLabel{"\3svc", 4};
constexpr std::string_view kPodLabel{"\3pod", 4};

// Offsets of the labels of `name` that lie above `zone_size` trailing bytes.
struct Labels {
  std::array<uint16_t, 128> start{};
  int count = 0;
};

Labels RelativeLabels(std::string_view name, size_t zone_size) {
  Labels labels;
  size_t end = name.size() - zone_size;
  for (size_t pos = 0; pos < end && labels.count < 128;) {
    labels.start[static_cast<size_t>(labels.count++)] = static_cast<uint16_t>(pos);
    pos += 1 + static_cast<uint8_t>(name[pos]);
  }
  return labels;
}

std::string_view Label(std::string_view name, const Labels& labels, int i, size_t zone_size) {
  size_t begin = labels.start[static_cast<size_t>(i)];
  size_t end =
      i + 1 < labels.count ? labels.start[static_cast<size_t>(i + 1)] : name.size() - zone_size;
  return name.substr(begin, end - begin);
}

// The lower-cased CNAME target at the end of the answer, when there is one to chase.
bool TrailingCname(const zones::Answer& out, std::array<char, wire::kMaxNameLength>& buffer,
                   std::string_view& target) {
  if (out.answer.empty() || out.rcode != wire::Rcode::kNoError) return false;
  const zones::RRset* last = out.answer.back().rrset;
  if (last->type != RrType::kCname || last->rdatas.empty()) return false;
  std::string_view rdata = last->rdatas.front();
  if (rdata.size() > buffer.size()) return false;
  std::copy(rdata.begin(), rdata.end(), buffer.begin());
  wire::LowerNameInPlace(std::span<char>(buffer.data(), rdata.size()));
  target = std::string_view(buffer.data(), rdata.size());
  return true;
}

}  // namespace

void ClusterView::SetService(const std::string& key,
                             std::shared_ptr<const ServiceRecords> records) {
  if (const auto* old = services.Find(key); old != nullptr) {
    std::shared_ptr<const ServiceRecords> previous = *old;  // keep alive while we edit
    endpoints -= previous->endpoints;
    for (const PtrContribution& ptr : previous->ptrs) UpdatePtr(ptr.reverse_name, key, nullptr);
  }
  if (records == nullptr) {
    services.Erase(key);
    return;
  }
  endpoints += records->endpoints;
  for (const PtrContribution& ptr : records->ptrs) UpdatePtr(ptr.reverse_name, key, &ptr);
  services.Set(key, std::move(records));
}

void ClusterView::UpdatePtr(const std::string& reverse_name, const std::string& service_key,
                            const PtrContribution* added) {
  auto next = std::make_shared<PtrRecords>();
  if (const auto* current = ptrs.Find(reverse_name); current != nullptr) {
    for (const PtrRecords::Source& source : (*current)->sources) {
      // Removing drops every entry of the service; adding keeps the others.
      if (added == nullptr && source.service_key == service_key) continue;
      next->sources.push_back(source);
    }
  }
  if (added != nullptr) next->sources.push_back({service_key, *added});
  if (next->sources.empty()) {
    ptrs.Erase(reverse_name);
    return;
  }
  bool any_cluster_ip = std::any_of(next->sources.begin(), next->sources.end(),
                                    [](const PtrRecords::Source& s) { return s.ptr.cluster_ip; });
  next->rrset.type = RrType::kPtr;
  next->rrset.ttl = ttl;
  for (const PtrRecords::Source& source : next->sources) {
    if (any_cluster_ip && !source.ptr.cluster_ip) continue;
    auto& rdatas = next->rrset.rdatas;
    if (!rdatas.contains(source.ptr.target)) rdatas.push_back(source.ptr.target);
  }
  ptrs.Set(reverse_name, std::move(next));
}

void ClusterView::Resolve(size_t zone_index, std::string_view qname, std::string_view owner,
                          RrType qtype, zones::Answer& out) const noexcept {
  if (zone_index >= forward_zones) return ResolveReverse(zone_index, qname, owner, qtype, out);
  // CNAMEs (ExternalName services) are followed across services of the same zone.
  std::array<std::array<char, wire::kMaxNameLength>, kMaxCnameHops> targets;
  const std::string_view zone = base[zone_index]->origin();
  for (int hop = 0; hop < kMaxCnameHops; ++hop) {
    size_t before = out.answer.size();
    ResolveForward(zone_index, qname, owner, qtype, out);
    if (qtype == RrType::kCname || qtype == RrType::kAny || out.answer.size() == before) return;
    std::string_view target;
    if (!TrailingCname(out, targets[static_cast<size_t>(hop)], target)) return;
    if (!wire::IsSubdomain(target, zone)) return;
    for (const zones::AnswerRRset& a : out.answer) {
      if (a.rrset->type != RrType::kCname) return;    // data already follows the CNAME
      if (wire::NamesEqual(a.owner, target)) return;  // a loop
    }
    qname = target;
    // Owners must outlive this call: the CNAME's rdata in the (shared, immutable) fragment.
    owner = std::string_view(out.answer.back().rrset->rdatas.front().data(), target.size());
  }
}

void ClusterView::ResolveForward(size_t zone_index, std::string_view qname, std::string_view owner,
                                 RrType qtype, zones::Answer& out) const noexcept {
  const zones::CompiledZone& zone = *base[zone_index];
  const zones::NegativeAuthority authority = zone.authority();
  Labels labels = RelativeLabels(qname, zone.origin().size());
  int n = labels.count;
  if (n >= 3 && Label(qname, labels, n - 1, zone.origin().size()) == kSvcLabel) {
    // <...>.<svc>.<ns>.svc.<zone>: the service's fragment holds every name under it.
    size_t begin = labels.start[static_cast<size_t>(n - 3)];
    size_t end = labels.start[static_cast<size_t>(n - 1)];
    if (const auto* service = services.Find(qname.substr(begin, end - begin))) {
      zones::Resolve(*(*service)->zones[zone_index], qname, owner, qtype, out, &authority);
      return;
    }
  } else if (n == 3 && Label(qname, labels, 2, zone.origin().size()) == kPodLabel) {
    if (const auto* pod = pods.Find(qname.substr(0, labels.start[2]))) {
      const zones::RRset* match = nullptr;
      for (const zones::RRset& rrset : (*pod)->rrsets) {
        if (rrset.type == qtype) match = &rrset;
      }
      if (match != nullptr) {
        out.answer.push_back({owner, match, match->ttl});
      } else {
        out.authority.push_back({authority.owner, authority.soa, authority.ttl});
      }
      return;
    }
  }
  zones::Resolve(zone, qname, owner, qtype, out);
}

void ClusterView::ResolveReverse(size_t zone_index, std::string_view qname, std::string_view owner,
                                 RrType qtype, zones::Answer& out) const noexcept {
  const zones::CompiledZone& zone = *base[zone_index];
  if (const auto* ptr = ptrs.Find(qname); ptr != nullptr && qname != zone.origin()) {
    if (qtype == RrType::kPtr || qtype == RrType::kAny) {
      out.answer.push_back({owner, &(*ptr)->rrset, (*ptr)->rrset.ttl});
    } else {
      const zones::NegativeAuthority authority = zone.authority();
      out.authority.push_back({authority.owner, authority.soa, authority.ttl});
    }
    return;
  }
  zones::Resolve(zone, qname, owner, qtype, out);
}

}  // namespace petdns::plugins::kubernetes
