#include "zones/compiled_zone.h"

#include <algorithm>
#include <numeric>

#include "server/wire/message_writer.h"
#include "server/wire/name.h"
#include "server/wire/request.h"
#include "zones/answer.h"
#include "zones/answer_writer.h"
#include "zones/authority.h"

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
  std::string_view rdata = soa_->rdatas.front();
  return wire::ReadU32(reinterpret_cast<const uint8_t*>(rdata.data()) + rdata.size() - 20);
}

const Node* CompiledZone::Find(std::string_view lower_name) const noexcept {
  uint32_t i = index_.Find(lower_name, [this](uint32_t n) { return nodes_[n].name; });
  return i == NameIndex::kNotFound ? nullptr : &nodes_[i];
}

const PrecompiledAnswer* CompiledZone::Precompiled(const Node& node, RrType type) const noexcept {
  if (node.precompiled == Node::kNoPrecompiled) return nullptr;
  for (size_t i = 0; i < node.rrsets.size(); ++i) {
    if (node.rrsets[i].type != type) continue;
    const PrecompiledAnswer& entry = precompiled_[node.precompiled + i];
    return entry.records.empty() ? nullptr : &entry;
  }
  return nullptr;
}

void CompiledZone::PrecompileAnswers() {
  // Each answer is encoded exactly as a live reply would be (Resolve + WriteAnswerSections) for
  // a question equal to the owner name, then the bytes after the question are kept.
  std::vector<uint8_t> scratch(wire::kMaxMessageSize);
  std::vector<uint8_t> arena;
  std::vector<std::pair<size_t, size_t>> spans;  // (offset, size) in `arena`, per entry
  wire::Request request;
  request.has_question = true;
  request.qclass = static_cast<uint16_t>(wire::RrClass::kIn);
  Answer answer;
  for (Node& node : nodes_) {
    // Referrals and glue are not authoritative answers; they take the general path.
    if (node.is_delegation || node.below_delegation) continue;
    node.precompiled = static_cast<uint32_t>(precompiled_.size());
    for (const RRset& rrset : node.rrsets) {
      precompiled_.emplace_back();
      spans.emplace_back(0, 0);
      answer.clear();
      Resolve(*this, node.name, node.name, rrset.type, answer);
      if (answer.rcode != wire::Rcode::kNoError || !answer.authoritative || answer.answer.empty())
        continue;
      std::copy(node.name.begin(), node.name.end(), request.qname.bytes.begin());
      request.qname.length = static_cast<uint8_t>(node.name.size());
      request.qtype = rrset.type;
      wire::MessageWriter writer(scratch);
      writer.BeginResponse(request);
      if (WriteAnswerSections(writer, answer)) continue;  // too big even for TCP
      const size_t question_end = wire::kHeaderSize + node.name.size() + 4;
      std::span<const uint8_t> message = writer.Message();
      spans.back() = {arena.size(), message.size() - question_end};
      arena.insert(arena.end(), message.begin() + static_cast<ptrdiff_t>(question_end),
                   message.end());
      precompiled_.back().counts = {writer.Count(wire::Section::kAnswer),
                                    writer.Count(wire::Section::kAuthority),
                                    writer.Count(wire::Section::kAdditional)};
    }
  }
  answer_arena_ = std::make_unique_for_overwrite<uint8_t[]>(arena.size());
  std::copy(arena.begin(), arena.end(), answer_arena_.get());
  for (size_t i = 0; i < precompiled_.size(); ++i) {
    if (spans[i].second == 0) continue;
    precompiled_[i].records = {answer_arena_.get() + spans[i].first, spans[i].second};
  }
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
  if (!it->rdatas.contains(rdata)) it->rdatas.push_back(rdata);
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
  std::vector<std::pair<int, std::string>> by_depth;  // (label count, name)
  by_depth.reserve(names_.size());
  for (const auto& entry : names_)
    by_depth.emplace_back(wire::LabelCount(entry.first), entry.first);
  std::sort(by_depth.begin(), by_depth.end());
  std::vector<std::string> order;
  order.reserve(by_depth.size());
  for (auto& entry : by_depth) order.push_back(std::move(entry.second));
  by_depth = {};

  auto zone = std::shared_ptr<CompiledZone>(new CompiledZone());
  const size_t arena_size =
      std::accumulate(order.begin(), order.end(), size_t{0},
                      [](size_t total, const std::string& name) { return total + name.size(); });
  zone->name_arena_ = std::make_unique_for_overwrite<char[]>(arena_size);
  std::vector<Node>& nodes = zone->nodes_;
  nodes.resize(order.size());
  zone->index_.Reset(nodes.size());
  size_t rrset_count = 0;
  for (const auto& entry : names_) rrset_count += entry.second.size();
  // Reserved exactly: nodes keep spans into this array.
  zone->rrsets_.reserve(rrset_count);
  char* next_name = zone->name_arena_.get();
  for (uint32_t i = 0; i < order.size(); ++i) {
    Node& node = nodes[i];
    std::copy(order[i].begin(), order[i].end(), next_name);
    node.name = std::string_view(next_name, order[i].size());
    next_name += order[i].size();
    std::vector<RRset>& rrsets = names_[order[i]];
    std::sort(rrsets.begin(), rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
    const size_t first = zone->rrsets_.size();
    for (RRset& rrset : rrsets) {
      rrset.rdatas.shrink_to_fit();
      zone->rrsets_.push_back(std::move(rrset));
    }
    node.rrsets = std::span<const RRset>(zone->rrsets_.data() + first, rrsets.size());
    zone->index_.Insert(node.name, i);
  }
  names_.clear();

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
    node.parent = static_cast<uint32_t>(zone->Find(wire::StripLabels(node.name, 1)) - &nodes[0]);
    const Node& parent = nodes[node.parent];
    node.below_delegation = parent.below_delegation || parent.is_delegation;
    node.is_delegation = node.Find(RrType::kNs) != nullptr;
    if (node.name.size() > 1 && node.name[0] == 1 && node.name[1] == '*') {
      nodes[node.parent].has_wildcard_child = true;
    }
  }
  zone->soa_ = nodes[0].Find(RrType::kSoa);
  if (zone->soa_ != nullptr) {
    std::string_view soa_rdata = zone->soa_->rdatas.front();
    uint32_t minimum =
        wire::ReadU32(reinterpret_cast<const uint8_t*>(soa_rdata.data()) + soa_rdata.size() - 4);
    zone->negative_ttl_ = std::min(zone->soa_->ttl, minimum);
  }
  if (precompile_answers_) zone->PrecompileAnswers();
  return std::shared_ptr<const CompiledZone>(std::move(zone));
}

}  // namespace petdns::zones
