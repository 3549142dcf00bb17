#include "zones/compiled_zone.h"

#include <algorithm>

#include "server/wire/name.h"

namespace petdns::zones {

using wire::RrType;

int TargetNameOffset(RrType type) noexcept {
  switch (type) {
    case RrType::kNs:
    case RrType::kCname:
    case RrType::kPtr:
    case RrType::kDname:
      return 0;
    case RrType::kMx:
      return 2;
    case RrType::kSrv:
      return 6;
    default:
      return -1;
  }
}

const RRset* Node::Find(RrType type) const noexcept {
  for (const RRset& rrset : rrsets) {
    if (rrset.type == type) return &rrset;
  }
  return nullptr;
}

uint32_t CompiledZone::serial() const noexcept {
  if (soa_ == nullptr) return 0;
  const std::string& rdata = soa_->rdatas.front();
  return wire::ReadU32(reinterpret_cast<const uint8_t*>(rdata.data()) + rdata.size() - 20);
}

const Node* CompiledZone::Find(std::string_view lower_name) const noexcept {
  auto it = index_.find(lower_name);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

ZoneBuilder::ZoneBuilder(std::string_view origin) : origin_(wire::LowerName(origin)) {}

Status ZoneBuilder::Add(std::string_view owner, RrType type, uint16_t rclass, uint32_t ttl,
                        std::string rdata) {
  std::string name = wire::LowerName(owner);
  if (!wire::IsSubdomain(name, origin_)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + wire::NameToText(owner) + "' is outside the zone " + wire::NameToText(origin_));
  }
  if (rclass != static_cast<uint16_t>(wire::RrClass::kIn)) {
    return MakeError(ErrorCode::kInvalidArgument, "only class IN is supported");
  }
  if (type == RrType::kSoa && name != origin_) {
    return MakeError(ErrorCode::kInvalidArgument, "SOA record below the zone apex");
  }
  std::vector<RRset>& rrsets = names_[name];
  auto it =
      std::find_if(rrsets.begin(), rrsets.end(), [&](const RRset& r) { return r.type == type; });
  if (it == rrsets.end()) {
    rrsets.push_back(RRset{type, rclass, ttl, {}});
    it = rrsets.end() - 1;
  }
  if (type == RrType::kSoa && !it->rdatas.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "more than one SOA record");
  }
  it->ttl = std::min(it->ttl, ttl);
  if (std::find(it->rdatas.begin(), it->rdatas.end(), rdata) == it->rdatas.end()) {
    it->rdatas.push_back(std::move(rdata));
  }
  return {};
}

void ZoneBuilder::AddEmptyName(std::string_view owner) {
  std::string name = wire::LowerName(owner);
  if (wire::IsSubdomain(name, origin_)) names_.try_emplace(std::move(name));
}

Result<std::shared_ptr<const CompiledZone>> ZoneBuilder::Build(bool require_soa) && {
  names_.try_emplace(origin_);  // the apex always exists
  auto apex = names_.find(origin_);
  if (require_soa && std::none_of(apex->second.begin(), apex->second.end(),
                                  [](const RRset& r) { return r.type == RrType::kSoa; })) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "zone " + wire::NameToText(origin_) + " has no SOA record at its apex");
  }
  // Every ancestor between an owner and the apex must exist as a node (empty non-terminals), so
  // that a name with no data below which names exist answers NODATA, not NXDOMAIN (RFC 8020).
  std::vector<std::string> ancestors;
  for (const auto& [name, rrsets] : names_) {
    std::string_view parent = name;
    while (parent.size() > origin_.size()) {
      parent = wire::StripLabels(parent, 1);
      ancestors.emplace_back(parent);
    }
  }
  for (std::string& name : ancestors) names_.try_emplace(std::move(name));

  // Order nodes parents-first (fewer labels first), apex at index 0, so that flags can be
  // propagated from parent to child in one pass.
  std::vector<std::string> order;
  order.reserve(names_.size());
  for (const auto& entry : names_) order.push_back(entry.first);
  std::sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    int la = wire::LabelCount(a), lb = wire::LabelCount(b);
    return la != lb ? la < lb : a < b;
  });

  auto zone = std::shared_ptr<CompiledZone>(new CompiledZone());
  std::vector<Node>& nodes = zone->nodes_;
  nodes.resize(order.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    Node& node = nodes[i];
    node.name = std::move(order[i]);
    node.rrsets = std::move(names_[node.name]);
    std::sort(node.rrsets.begin(), node.rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
  }
  names_.clear();
  // Node names no longer move from here on, so the index may hold views into them.
  zone->index_.reserve(nodes.size());
  for (uint32_t i = 0; i < nodes.size(); ++i) zone->index_.emplace(nodes[i].name, i);

  for (uint32_t i = 0; i < nodes.size(); ++i) {
    Node& node = nodes[i];
    for (const RRset& rrset : node.rrsets) zone->record_count_ += rrset.rdatas.size();
    const RRset* cname = node.Find(RrType::kCname);
    if (cname != nullptr) {
      if (cname->rdatas.size() > 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         wire::NameToText(node.name) + ": more than one CNAME record");
      }
      for (const RRset& other : node.rrsets) {
        if (other.type != RrType::kCname && other.type != RrType::kRrsig &&
            other.type != RrType::kNsec) {
          return MakeError(ErrorCode::kInvalidArgument,
                           wire::NameToText(node.name) + ": CNAME and other data");
        }
      }
    }
    if (i == 0) continue;
    node.parent = zone->index_.at(wire::StripLabels(node.name, 1));
    const Node& parent = nodes[node.parent];
    node.below_delegation = parent.below_delegation || parent.is_delegation;
    node.is_delegation = node.Find(RrType::kNs) != nullptr;
    if (node.name.size() > 1 && node.name[0] == 1 && node.name[1] == '*') {
      nodes[node.parent].has_wildcard_child = true;
    }
  }
  zone->soa_ = nodes[0].Find(RrType::kSoa);
  if (zone->soa_ == nullptr) return std::shared_ptr<const CompiledZone>(std::move(zone));
  const std::string& soa_rdata = zone->soa_->rdatas.front();
  uint32_t minimum =
      wire::ReadU32(reinterpret_cast<const uint8_t*>(soa_rdata.data()) + soa_rdata.size() - 4);
  zone->negative_ttl_ = std::min(zone->soa_->ttl, minimum);
  return std::shared_ptr<const CompiledZone>(std::move(zone));
}

}  // namespace petdns::zones
