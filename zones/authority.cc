#include "zones/authority.h"

#include <algorithm>
#include <array>

#include "server/wire/name.h"

namespace petdns::zones {
namespace {

using wire::RrType;

constexpr int kMaxCnameChain = 8;

// The lower-cased copy of a name found in rdata, without allocation.
struct LowerNameCopy {
  std::array<char, wire::kMaxNameLength> bytes;
  size_t length = 0;
  std::string_view view() const noexcept { return {bytes.data(), length}; }
};

// Reads the uncompressed wire name at the start of `rdata`, or returns false.
bool ReadRdataName(std::string_view rdata, size_t offset, LowerNameCopy& out) noexcept {
  size_t pos = offset;
  while (pos < rdata.size()) {
    auto label = static_cast<uint8_t>(rdata[pos]);
    if (label > wire::kMaxLabelLength) return false;
    pos += 1 + label;
    if (label == 0) {
      size_t length = pos - offset;
      if (length > wire::kMaxNameLength || pos > rdata.size()) return false;
      std::copy(rdata.begin() + offset, rdata.begin() + pos, out.bytes.begin());
      out.length = length;
      wire::LowerNameInPlace(std::span<char>(out.bytes.data(), length));
      return true;
    }
  }
  return false;
}

bool Contains(const std::vector<AnswerRRset>& section, const RRset* rrset) {
  return std::any_of(section.begin(), section.end(),
                     [&](const AnswerRRset& a) { return a.rrset == rrset; });
}

void AddNegativeSoa(const NegativeAuthority& authority, Answer& out) {
  if (authority.soa != nullptr)
    out.authority.push_back({authority.owner, authority.soa, authority.ttl});
}

void AddAddressesOf(const CompiledZone& zone, std::string_view target, bool allow_glue,
                    Answer& out) {
  if (!wire::IsSubdomain(target, zone.origin())) return;
  const Node* node = zone.Find(target);
  if (node == nullptr || (node->below_delegation && !allow_glue)) return;
  for (RrType type : {RrType::kA, RrType::kAaaa}) {
    const RRset* rrset = node->Find(type);
    if (rrset != nullptr && !Contains(out.additional, rrset)) {
      out.additional.push_back({node->name(), rrset, rrset->ttl});
    }
  }
}

// Adds targets' addresses for NS/MX/SRV RRsets (RFC 1034 §3.6.2 "additional section processing").
void AddTargetsOf(const CompiledZone& zone, const RRset& rrset, bool allow_glue, Answer& out) {
  if (rrset.type != RrType::kNs && rrset.type != RrType::kMx && rrset.type != RrType::kSrv) return;
  auto offset = static_cast<size_t>(TargetNameOffset(rrset.type));
  LowerNameCopy target;
  for (std::string_view rdata : rrset.rdatas) {
    if (ReadRdataName(rdata, offset, target)) {
      AddAddressesOf(zone, target.view(), allow_glue, out);
    }
  }
}

// The highest zone cut at or above `node` (the one that takes the query away from us).
const Node* TopmostCut(const CompiledZone& zone, const Node& node) {
  const Node* cut = nullptr;
  for (const Node* n = &node; n->parent != Node::kNoParent; n = &zone.node(n->parent)) {
    if (n->is_delegation) cut = n;
  }
  return cut;
}

void Referral(const CompiledZone& zone, const Node& cut, Answer& out) {
  out.authoritative = false;
  const RRset* ns = cut.Find(RrType::kNs);
  out.authority.push_back({cut.name(), ns, ns->ttl});
  AddTargetsOf(zone, *ns, /*allow_glue=*/true, out);
}

// Answers from `node` for `qtype`, with `owner` as the written owner name. Returns the CNAME
// target to chase (lower-cased into `next`) when the node holds a CNAME and qtype is not CNAME.
bool AnswerFromNode(const CompiledZone& zone, const Node& node, std::string_view owner,
                    RrType qtype, Answer& out, LowerNameCopy& next) {
  if (qtype == RrType::kAny) {
    // RFC 8482 §4.1: answer with one RRset rather than all of them.
    if (!node.rrsets().empty()) {
      const RRset& first = node.rrsets().front();
      out.answer.push_back({owner, &first, first.ttl});
    }
    return false;
  }
  if (const RRset* rrset = node.Find(qtype); rrset != nullptr) {
    out.answer.push_back({owner, rrset, rrset->ttl});
    AddTargetsOf(zone, *rrset, /*allow_glue=*/false, out);
    return false;
  }
  if (const RRset* cname = node.Find(RrType::kCname); cname != nullptr) {
    out.answer.push_back({owner, cname, cname->ttl});
    return ReadRdataName(cname->rdatas.front(), 0, next);
  }
  return false;
}

}  // namespace

void AddAddresses(const CompiledZone& zone, std::string_view target, Answer& out) noexcept {
  AddAddressesOf(zone, target, /*allow_glue=*/false, out);
}

void Resolve(const CompiledZone& zone, std::string_view qname, std::string_view owner, RrType qtype,
             Answer& out, const NegativeAuthority* authority) noexcept {
  const NegativeAuthority negative = authority != nullptr ? *authority : zone.authority();
  // CNAME targets are chased inside this zone; each hop's lower-cased lookup key lives in its own
  // buffer.
  std::array<LowerNameCopy, kMaxCnameChain> targets;
  for (int hop = 0;; ++hop) {
    // Closest encloser: the longest existing ancestor-or-self of qname.
    const Node* node = zone.Find(qname);
    bool exact = node != nullptr;
    std::string_view encloser = qname;
    while (node == nullptr) {
      encloser = wire::StripLabels(encloser, 1);
      node = zone.Find(encloser);
    }
    // Below or at a zone cut the data belongs to the child, except DS, which the parent holds.
    bool at_cut_for_ds = exact && node->is_delegation && qtype == RrType::kDs;
    if ((node->is_delegation || node->below_delegation) && !at_cut_for_ds) {
      if (hop == 0) Referral(zone, *TopmostCut(zone, *node), out);
      return;  // a CNAME chain that leads below a cut stops at the CNAME
    }
    if (!exact) {
      if (!node->has_wildcard_child) {
        out.rcode = wire::Rcode::kNxDomain;
        AddNegativeSoa(negative, out);
        return;
      }
      // RFC 4592: synthesise from "*.<closest encloser>", owner = the name asked for.
      std::array<char, wire::kMaxNameLength> wildcard_name;
      wildcard_name[0] = 1;
      wildcard_name[1] = '*';
      std::copy(node->name().begin(), node->name().end(), wildcard_name.begin() + 2);
      node = zone.Find(std::string_view(wildcard_name.data(), node->name().size() + 2));
      if (node == nullptr) {  // cannot happen: the flag says it exists
        out.rcode = wire::Rcode::kServFail;
        return;
      }
    }
    size_t answers_before = out.answer.size();
    bool chase = AnswerFromNode(zone, *node, owner, qtype, out, targets[static_cast<size_t>(hop)]);
    if (out.answer.size() == answers_before) {  // NODATA (RFC 2308 §2.2)
      AddNegativeSoa(negative, out);
      return;
    }
    if (!chase || hop + 1 >= kMaxCnameChain) return;
    std::string_view target = targets[static_cast<size_t>(hop)].view();
    if (!wire::IsSubdomain(target, zone.origin())) return;  // out of zone: the resolver follows
    // A loop (a CNAME pointing back into the chain) ends the chase; the answer so far stands.
    for (const AnswerRRset& a : out.answer) {
      if (wire::NamesEqual(a.owner, target)) return;
    }
    qname = target;
    // The next owner must outlive this call (the reply is encoded after Resolve returns): the
    // CNAME's own rdata in the zone, not the lower-cased copy used for the lookup.
    std::string_view rdata = out.answer.back().rrset->rdatas.front();
    owner = std::string_view(rdata.data(), target.size());
  }
}

}  // namespace petdns::zones
