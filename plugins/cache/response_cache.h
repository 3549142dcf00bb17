// The cache plugin's storage: whole response messages keyed by (lower-case qname, qtype, qclass,
// DO, CD), with the offsets of every TTL field so a hit is a memcpy plus a few patches, bounded by
// an entry count with LRU eviction. Single-threaded: used from the worker loop only.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace petdns::plugins::cache {

using TimePoint = std::chrono::steady_clock::time_point;

// What identifies a cached response. Views only: building one never allocates.
struct CacheKey {
  std::string_view qname;  // lower-cased wire form
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool dnssec_ok = false;
  bool checking_disabled = false;

  uint64_t Hash() const noexcept;
};

enum class EntryType : uint8_t { kSuccess, kDenial };

// TTL policy applied when a response is stored (RFC 2308 for denials).
struct TtlPolicy {
  uint32_t success_max = 3600;  // cap for positive answers, seconds
  uint32_t denial_max = 5;      // cap for NXDOMAIN / NODATA, seconds
  uint32_t min = 0;             // floor (never above the cap)
};

// The result of examining a response: whether and how long it may be cached.
struct Cacheability {
  bool cacheable = false;
  EntryType type = EntryType::kSuccess;
  uint32_t ttl = 0;       // after the policy
  size_t opt_offset = 0;  // where the trailing OPT record starts (0: none)
};

// Decides whether `message` may be cached: NOERROR with answers (success), NOERROR without answers
// but with an SOA in authority (NODATA) or NXDOMAIN with an SOA (denials); never TC, SERVFAIL,
// REFUSED, FORMERR, other rcodes, an extended rcode, or a message that does not parse. An OPT
// record is accepted only as the last record (it is stripped from what is stored).
Cacheability Examine(std::span<const uint8_t> message, const TtlPolicy& policy) noexcept;

class ResponseCache {
 public:
  struct Entry {
    uint64_t hash = 0;
    std::string qname;  // lower-case wire
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    bool dnssec_ok = false;
    bool checking_disabled = false;
    EntryType type = EntryType::kSuccess;
    std::vector<uint8_t> wire;          // the response without OPT, TTLs clamped to `ttl`
    std::vector<uint16_t> ttl_offsets;  // every RR TTL field in `wire`
    TimePoint stored_at{};
    uint32_t ttl = 0;         // seconds
    uint32_t late_hits = 0;   // hits in the last 10% of the TTL (prefetch)
    bool prefetched = false;  // a refresh was already started for this entry
    uint32_t prev = kNone;    // LRU list, most recent first
    uint32_t next = kNone;
    bool used = false;

    bool Matches(const CacheKey& key) const noexcept;
    // Seconds left at `now` (0 when expired).
    uint32_t Remaining(TimePoint now) const noexcept;
    bool Expired(TimePoint now) const noexcept;
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  // `capacity` entries at most (at least 1).
  ResponseCache(size_t capacity, TtlPolicy policy);

  // The entry for `key` (fresh or expired: the caller decides), made most recently used; null on a
  // miss. Never allocates.
  Entry* Find(const CacheKey& key) noexcept;
  // Stores `message` under `key` if Examine allows, replacing an entry with the same key and
  // evicting the least recently used one when full. Returns the entry, or null if not cacheable.
  Entry* Insert(const CacheKey& key, std::span<const uint8_t> message, TimePoint now);
  void Erase(Entry* entry) noexcept;

  // Writes the entry into `out` with every TTL reduced by the entry's age (or set to `fixed_ttl`
  // when given, for stale answers); returns the length, 0 if `out` is too small.
  static size_t Render(const Entry& entry, TimePoint now, std::span<uint8_t> out,
                       const uint32_t* fixed_ttl = nullptr) noexcept;

  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return slots_.size(); }
  size_t count(EntryType type) const noexcept { return counts_[static_cast<int>(type)]; }
  uint64_t evictions() const noexcept { return evictions_; }
  const TtlPolicy& policy() const noexcept { return policy_; }

 private:
  void Unlink(uint32_t slot) noexcept;
  void PushFront(uint32_t slot) noexcept;
  void Release(uint32_t slot) noexcept;

  TtlPolicy policy_;
  std::vector<Entry> slots_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint64_t, uint32_t> index_;  // hash → slot; collisions replace each other
  uint32_t head_ = kNone;
  uint32_t tail_ = kNone;
  size_t size_ = 0;
  size_t counts_[2] = {0, 0};
  uint64_t evictions_ = 0;
};

}  // namespace petdns::plugins::cache
