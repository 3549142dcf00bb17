#include "zones/compiled_zone.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

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
  for (const RRset& rrset : rrsets()) {
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
  if (nodes_.size() <= kMaxUnindexedNodes) {
    for (const Node& node : nodes_) {
      std::string_view name = node.name();
      if (name.size() == lower_name.size() &&
          std::memcmp(name.data(), lower_name.data(), name.size()) == 0)
        return &node;
    }
    return nullptr;
  }
  uint32_t i = index_.Find(lower_name, [this](uint32_t n) { return nodes_[n].name(); });
  return i == NameIndex::kNotFound ? nullptr : &nodes_[i];
}

const PrecompiledAnswer* CompiledZone::Precompiled(const Node& node, RrType type) const noexcept {
  if (node.precompiled == Node::kNoPrecompiled) return nullptr;
  for (size_t i = 0; i < node.rrsets().size(); ++i) {
    if (node.rrsets()[i].type != type) continue;
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
  std::unordered_multimap<size_t, std::pair<size_t, size_t>> stored;  // bytes' hash → span
  wire::Request request;
  request.has_question = true;
  request.qclass = static_cast<uint16_t>(wire::RrClass::kIn);
  Answer answer;
  for (Node& node : nodes_) {
    // Referrals and glue are not authoritative answers; they take the general path.
    if (node.is_delegation || node.below_delegation) continue;
    node.precompiled = static_cast<uint32_t>(precompiled_.size());
    for (const RRset& rrset : node.rrsets()) {
      precompiled_.emplace_back();
      spans.emplace_back(0, 0);
      answer.clear();
      Resolve(*this, node.name(), node.name(), rrset.type, answer);
      if (answer.rcode != wire::Rcode::kNoError || !answer.authoritative || answer.answer.empty())
        continue;
      std::copy(node.name().begin(), node.name().end(), request.qname.bytes.begin());
      request.qname.length = static_cast<uint8_t>(node.name().size());
      request.qtype = rrset.type;
      wire::MessageWriter writer(scratch);
      writer.BeginResponse(request);
      if (WriteAnswerSections(writer, answer)) continue;  // too big even for TCP
      const size_t question_end = wire::kHeaderSize + node.name().size() + 4;
      std::span<const uint8_t> records = writer.Message().subspan(question_end);
      // Owner names are pointers to the question, so equal RRsets at different names (SRV at a
      // service and at _port._proto) encode to equal bytes: keep those once.
      const std::string_view bytes(reinterpret_cast<const char*>(records.data()), records.size());
      const size_t hash = std::hash<std::string_view>{}(bytes);
      auto [first, last] = stored.equal_range(hash);
      auto same = std::find_if(first, last, [&](const auto& candidate) {
        const auto [offset, size] = candidate.second;
        return size == records.size() &&
               std::equal(records.begin(), records.end(), arena.begin() + ptrdiff_t(offset));
      });
      if (same != last) {
        spans.back() = same->second;
      } else {
        spans.back() = {arena.size(), records.size()};
        stored.emplace(hash, spans.back());
        arena.insert(arena.end(), records.begin(), records.end());
      }
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

  auto zone = std::make_shared<CompiledZone>(CompiledZone::BuildKey{});
  std::vector<Node>& nodes = zone->nodes_;
  nodes.resize(order.size());
  // A node whose only RRset equals one already stored points at that copy instead: a headless
  // service's SRV records at its bare name and at _port._proto are the same list (the bulk of
  // a Kubernetes fragment). Only lists that would own a heap block are worth looking up.
  constexpr size_t kInlineRdataBytes = 15;  // what std::string keeps without allocating
  std::unordered_multimap<size_t, uint32_t> shared_rrsets;  // hash → index in rrsets_
  auto rrset_hash = [](const RRset& r) {
    return std::hash<std::string_view>{}(r.rdatas.packed()) ^
           (size_t(r.type) << 32 | size_t(r.ttl) << 8);
  };
  std::vector<std::pair<uint32_t, uint32_t>> ranges(order.size());  // (first, count) per node
  for (uint32_t i = 0; i < order.size(); ++i) {
    std::vector<RRset>& rrsets = names_[order[i]];
    std::sort(rrsets.begin(), rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
    if (rrsets.size() == 1 && rrsets[0].rdatas.packed().size() > kInlineRdataBytes) {
      const size_t hash = rrset_hash(rrsets[0]);
      auto [first, last] = shared_rrsets.equal_range(hash);
      auto same = std::find_if(first, last, [&](const auto& candidate) {
        return zone->rrsets_[candidate.second] == rrsets[0];
      });
      if (same != last) {
        ranges[i] = {same->second, 1};
        continue;
      }
      shared_rrsets.emplace(hash, static_cast<uint32_t>(zone->rrsets_.size()));
    }
    ranges[i] = {static_cast<uint32_t>(zone->rrsets_.size()), static_cast<uint32_t>(rrsets.size())};
    for (RRset& rrset : rrsets) {
      rrset.rdatas.shrink_to_fit();
      if (rrsets.size() > 1 && rrset.rdatas.packed().size() > kInlineRdataBytes) {
        shared_rrsets.emplace(rrset_hash(rrset), static_cast<uint32_t>(zone->rrsets_.size()));
      }
      zone->rrsets_.push_back(std::move(rrset));
    }
  }
  shared_rrsets = {};
  // Spans and names are taken once the array has stopped growing.
  zone->rrsets_.shrink_to_fit();
  for (uint32_t i = 0; i < order.size(); ++i) {
    nodes[i].rrsets_ = zone->rrsets_.data() + ranges[i].first;
    nodes[i].rrset_count_ = static_cast<uint16_t>(ranges[i].second);
  }
  ranges = {};
  // Every list that has a heap block of its own moves into one arena: a large zone is then a few
  // big blocks, and what the build allocated on the way (the builder's map, the loader's text)
  // can go back to the system instead of being pinned by rdata blocks scattered between it.
  size_t rdata_bytes = 0;
  for (const RRset& rrset : zone->rrsets_) {
    if (rrset.rdatas.owns_heap_block()) rdata_bytes += rrset.rdatas.packed().size();
  }
  zone->rdata_arena_ = std::make_unique_for_overwrite<char[]>(rdata_bytes);
  char* next_rdata = zone->rdata_arena_.get();
  for (RRset& rrset : zone->rrsets_) {
    if (rrset.rdatas.owns_heap_block()) next_rdata = rrset.rdatas.RelocateInto(next_rdata);
  }

  // A name that some record already holds as its target, in lower case (a pet's name in its
  // service's SRV records), points at those bytes instead of taking a copy of its own: that is
  // most names of a Kubernetes fragment.
  std::unordered_set<std::string_view> targets;  // views into the rdatas
  for (const RRset& rrset : zone->rrsets_) {
    const auto offset = static_cast<size_t>(TargetNameOffset(rrset.type));
    if (TargetNameOffset(rrset.type) < 0) continue;
    for (std::string_view rdata : rrset.rdatas) {
      if (rdata.size() > offset) targets.insert(rdata.substr(offset));
    }
  }
  size_t arena_size = 0;
  for (const std::string& name : order) {
    if (!targets.contains(name)) arena_size += name.size();
  }
  zone->name_arena_ = std::make_unique_for_overwrite<char[]>(arena_size);
  char* next_name = zone->name_arena_.get();
  const bool indexed = nodes.size() > CompiledZone::kMaxUnindexedNodes;
  if (indexed) zone->index_.Reset(nodes.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    Node& node = nodes[i];
    node.name_size_ = static_cast<uint8_t>(order[i].size());
    if (auto target = targets.find(order[i]); target != targets.end()) {
      node.name_ = target->data();
    } else {
      node.name_ = std::copy(order[i].begin(), order[i].end(), next_name) - order[i].size();
      next_name += order[i].size();
    }
    if (indexed) zone->index_.Insert(node.name(), i);
  }
  names_.clear();

  for (uint32_t i = 0; i < nodes.size(); ++i) {
    Node& node = nodes[i];
    for (const RRset& rrset : node.rrsets()) zone->record_count_ += rrset.rdatas.size();
    const RRset* cname = node.Find(RrType::kCname);
    if (cname != nullptr) {
      if (cname->rdatas.size() > 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         wire::NameToText(node.name()) + ": more than one CNAME record");
      }
      for (const RRset& other : node.rrsets()) {
        if (other.type != RrType::kCname && other.type != RrType::kRrsig &&
            other.type != RrType::kNsec) {
          return MakeError(ErrorCode::kInvalidArgument,
                           wire::NameToText(node.name()) + ": CNAME and other data");
        }
      }
    }
    if (i == 0) continue;
    node.parent = static_cast<uint32_t>(zone->Find(wire::StripLabels(node.name(), 1)) - &nodes[0]);
    const Node& parent = nodes[node.parent];
    node.below_delegation = parent.below_delegation || parent.is_delegation;
    node.is_delegation = node.Find(RrType::kNs) != nullptr;
    if (node.name().size() > 1 && node.name()[0] == 1 && node.name()[1] == '*') {
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
