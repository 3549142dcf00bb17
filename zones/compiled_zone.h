// An immutable, query-ready zone: every owner name (and every empty non-terminal between the apex
// and an owner) is a Node holding its RRsets, indexed by lower-cased wire name. Built once by
// ZoneBuilder off the query path, then shared read-only by every worker through shared_ptr, so
// lookups need no lock. Safe to read from any thread.
//
// Names live in one arena per zone and the index is a flat open-addressing table (NameIndex), so
// a node costs no allocation of its own. A zone may also carry precompiled answers: for every
// (owner, type) that exists, the records of the positive answer already encoded with their
// compression pointers, so a reply is the header, the client's question and one memcpy.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/common/error.h"
#include "server/wire/dns.h"
#include "zones/name_index.h"
#include "zones/rrset.h"

namespace petdns::zones {

// 32 bytes: a Kubernetes fragment is mostly nodes (one per pet), so the layout is kept tight —
// name and RRsets as pointer + length into the zone's arrays rather than string_view and span.
class Node {
  // Pointers first, then the 4-byte fields, then the small ones: no padding holes.
  const char* name_ = nullptr;
  const RRset* rrsets_ = nullptr;

 public:
  static constexpr uint32_t kNoParent = UINT32_MAX;
  static constexpr uint32_t kNoPrecompiled = UINT32_MAX;

  // Lower-cased wire name, absolute (in the zone's name arena).
  std::string_view name() const noexcept { return {name_, name_size_}; }
  // Sorted by type (in the zone's RRset array; equal RRsets of two nodes may be one copy).
  std::span<const RRset> rrsets() const noexcept { return {rrsets_, rrset_count_}; }
  const RRset* Find(wire::RrType type) const noexcept;

  uint32_t parent = kNoParent;  // index of the parent node; the apex has none
  // Index of rrsets()[0]'s precompiled answer in the zone (one entry per RRset, in order), or
  // none.
  uint32_t precompiled = kNoPrecompiled;
  bool is_delegation = false;       // NS here, below the apex: a zone cut
  bool below_delegation = false;    // some strict ancestor is a zone cut: glue or occluded data
  bool has_wildcard_child = false;  // "*.<name>" exists

 private:
  friend class ZoneBuilder;
  uint16_t rrset_count_ = 0;  // an RRset per type: at most 65,536
  uint8_t name_size_ = 0;     // wire names are at most 255 bytes
};
static_assert(sizeof(Node) == 32);

// Where negative answers take their SOA from: the zone's own apex, or, for a fragment of a larger
// zone (one Kubernetes service's names), the enclosing zone's.
struct NegativeAuthority {
  std::string_view owner;  // the SOA's owner name (wire)
  const RRset* soa = nullptr;
  uint32_t ttl = 0;  // min(SOA TTL, SOA MINIMUM)
};

// The answer section (and additional data) of a positive, authoritative, untruncated reply to
// (owner, type), encoded for a message whose question name has the owner's length and labels at
// offset 12: owner names are pointers into that question, whatever the client's case.
struct PrecompiledAnswer {
  std::span<const uint8_t> records;  // the bytes that follow the question; empty: none
  std::array<uint16_t, 3> counts{};  // answer, authority, additional
};

class CompiledZone {
  // Only ZoneBuilder makes zones; the key lets it do so through make_shared (one allocation for
  // the zone and its reference count) although the constructor must then be public.
  struct BuildKey {
    explicit BuildKey() = default;
  };

 public:
  explicit CompiledZone(BuildKey) {}

  std::string_view origin() const noexcept { return nodes_[0].name(); }
  const Node& apex() const noexcept { return nodes_[0]; }
  // The SOA; only for zones built with an SOA (fragments have none: see NegativeAuthority).
  const RRset& soa() const noexcept { return *soa_; }
  bool has_soa() const noexcept { return soa_ != nullptr; }
  NegativeAuthority authority() const noexcept { return {origin(), soa_, negative_ttl_}; }
  uint32_t serial() const noexcept;
  // TTL for negative answers (RFC 2308 §5): min(SOA TTL, SOA MINIMUM).
  uint32_t negative_ttl() const noexcept { return negative_ttl_; }
  // Exact match on a lower-cased wire name, or nullptr.
  const Node* Find(std::string_view lower_name) const noexcept;
  const Node& node(uint32_t index) const noexcept { return nodes_[index]; }
  // The precompiled answer to `type` at `node`, or nullptr (none built for this zone, no such
  // RRset, or an answer that is not a plain positive one: referrals, CNAME chains, ANY).
  const PrecompiledAnswer* Precompiled(const Node& node, wire::RrType type) const noexcept;
  const std::vector<Node>& nodes() const noexcept { return nodes_; }
  size_t record_count() const noexcept { return record_count_; }

 private:
  friend class ZoneBuilder;
  // Zones of a few names (most Kubernetes fragments: a service and its pets) are searched
  // linearly: comparing a dozen lengths costs about what hashing the name does, and the index
  // would cost 256 bytes a fragment.
  static constexpr size_t kMaxUnindexedNodes = 16;

  CompiledZone(const CompiledZone&) = delete;  // nodes hold views into the arenas
  CompiledZone& operator=(const CompiledZone&) = delete;

  void PrecompileAnswers();

  std::unique_ptr<char[]> name_arena_;   // every node's name, back to back
  std::vector<Node> nodes_;              // nodes_[0] is the apex
  std::vector<RRset> rrsets_;            // every node's RRsets, node after node
  std::unique_ptr<char[]> rdata_arena_;  // the records of every RRset not kept inline
  NameIndex index_;
  std::unique_ptr<uint8_t[]> answer_arena_;  // precompiled records, back to back
  std::vector<PrecompiledAnswer> precompiled_;
  const RRset* soa_ = nullptr;
  uint32_t negative_ttl_ = 0;
  size_t record_count_ = 0;
};

// Collects records for one zone and compiles them. Not thread-safe; use from one thread.
class ZoneBuilder {
 public:
  // `origin` is a wire name in any case.
  explicit ZoneBuilder(std::string_view origin);

  // Adds one record. Errors: owner outside the zone, class other than IN, a second SOA, SOA
  // below the apex. Duplicate records are merged; an RRset's TTL is the lowest one given.
  [[nodiscard]] Status Add(std::string_view owner, wire::RrType type, uint16_t rclass, uint32_t ttl,
                           std::string rdata);

  // Also encode every positive answer at build time (see PrecompiledAnswer): faster replies for
  // about the size of the records again in memory. Off by default.
  void set_precompile_answers(bool on) noexcept { precompile_answers_ = on; }

  // Makes `owner` exist without records (NODATA rather than NXDOMAIN), e.g. a namespace with no
  // services. Ignored when outside the zone.
  void AddEmptyName(std::string_view owner);

  // Compiles. Errors: no SOA at the apex (unless `require_soa` is false: a fragment whose
  // negative answers borrow another zone's SOA), CNAME beside other data, more than one CNAME.
  [[nodiscard]] Result<std::shared_ptr<const CompiledZone>> Build(bool require_soa = true) &&;

 private:
  std::string origin_;
  std::unordered_map<std::string, std::vector<RRset>> names_;
  bool precompile_answers_ = false;
};

}  // namespace petdns::zones
