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

// The address a reverse name stands for, as written by ReverseName: "d.c.b.a.in-addr.arpa."
// (decimal, no leading zeros) or 32 lower-case nibbles under "ip6.arpa.". Returns the address
// length (4 or 16) with the bytes in `out`, or 0 for any other name.
size_t AddressOfReverseName(std::string_view name, std::array<char, 16>& out) {
  static constexpr std::string_view kInAddr{"\7in-addr\4arpa\0", 14};
  static constexpr std::string_view kIp6{"\3ip6\4arpa\0", 10};
  if (name.ends_with(kInAddr) && name.size() > kInAddr.size()) {
    std::string_view labels = name.substr(0, name.size() - kInAddr.size());
    for (int i = 3; i >= 0; --i) {  // least significant byte first
      if (labels.empty()) return 0;
      const auto length = static_cast<uint8_t>(labels[0]);
      if (length == 0 || length > 3 || labels.size() < 1u + length) return 0;
      std::string_view digits = labels.substr(1, length);
      if (digits.size() > 1 && digits[0] == '0') return 0;
      unsigned value = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return 0;
        value = value * 10 + static_cast<unsigned>(c - '0');
      }
      if (value > 255) return 0;
      out[static_cast<size_t>(i)] = static_cast<char>(value);
      labels.remove_prefix(1u + length);
    }
    return labels.empty() ? 4 : 0;
  }
  if (name.size() == 64 + kIp6.size() && name.ends_with(kIp6)) {
    for (size_t nibble = 0; nibble < 32; ++nibble) {  // least significant nibble first
      if (name[2 * nibble] != 1) return 0;
      const char c = name[2 * nibble + 1];
      int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (value < 0) return 0;
      const size_t byte = 15 - nibble / 2;
      if (nibble % 2 == 0) {
        out[byte] = static_cast<char>(value);
      } else {
        out[byte] = static_cast<char>(out[byte] | (value << 4));
      }
    }
    return 16;
  }
  return 0;
}

}  // namespace

void ClusterView::SetService(const std::string& key,
                             std::shared_ptr<const ServiceRecords> records) {
  std::shared_ptr<const ServiceRecords> previous;  // kept alive while the PTRs are refreshed
  if (const auto* old = services.Find(key); old != nullptr) previous = *old;
  if (previous == nullptr && records == nullptr) return;
  if (previous != nullptr) endpoints -= previous->endpoints;
  if (records != nullptr) endpoints += records->endpoints;
  // Both lists are sorted by address: refresh each address either names once.
  std::vector<IpAddress> addresses;
  if (previous != nullptr) {
    for (const PtrContribution& ptr : previous->ptrs) addresses.push_back(ptr.address);
  }
  if (records != nullptr) {
    for (const PtrContribution& ptr : records->ptrs) addresses.push_back(ptr.address);
    services.Set(key, std::move(records));
  } else {
    services.Erase(key);
  }
  auto less = [](const IpAddress& a, const IpAddress& b) {
    return std::pair(a.length, a.rdata()) < std::pair(b.length, b.rdata());
  };
  std::sort(addresses.begin(), addresses.end(), less);
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  for (const IpAddress& address : addresses) RefreshPtr(address, key);
}

void ClusterView::RefreshPtr(const IpAddress& address, const std::string& key) {
  const std::string ptr_key(address.rdata());
  auto next = std::make_shared<PtrRecords>();
  if (const auto* current = ptrs.Find(ptr_key); current != nullptr) {
    for (const std::string& service : (*current)->services) {
      if (service != key) next->services.push_back(service);
    }
  }
  const auto* records = services.Find(key);
  if (records != nullptr && !(*records)->PtrsOf(address).empty()) next->services.push_back(key);
  if (next->services.empty()) {
    ptrs.Erase(ptr_key);
    return;
  }
  // Every target the services ask for, a ClusterIP's alone if there is one, each name once.
  std::vector<std::string_view> targets;
  bool cluster_ip = false;
  for (const std::string& service : next->services) {
    const auto* contributor = services.Find(service);
    if (contributor == nullptr) continue;
    for (const PtrContribution& ptr : (*contributor)->PtrsOf(address)) {
      if (ptr.cluster_ip && !cluster_ip) {
        cluster_ip = true;
        targets.clear();
      }
      if (ptr.cluster_ip != cluster_ip) continue;
      if (std::find(targets.begin(), targets.end(), ptr.target) == targets.end()) {
        targets.push_back(ptr.target);
      }
    }
  }
  next->rrset.type = RrType::kPtr;
  next->rrset.ttl = ttl;
  for (std::string_view target : targets) next->rrset.rdatas.push_back(target);
  next->rrset.rdatas.shrink_to_fit();
  next->services.shrink_to_fit();
  ptrs.Set(ptr_key, std::move(next));
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
  std::array<char, 16> address;
  size_t length = AddressOfReverseName(qname, address);
  const std::shared_ptr<const PtrRecords>* ptr =
      length == 0 ? nullptr : ptrs.Find(std::string_view(address.data(), length));
  if (ptr != nullptr) {
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
