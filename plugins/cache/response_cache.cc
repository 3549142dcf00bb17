#include "plugins/cache/response_cache.h"

#include <algorithm>
#include <cstring>

#include "server/wire/dns.h"

namespace petdns::plugins::cache {
namespace {

using wire::ReadU16;
using wire::ReadU32;

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t Mix(uint64_t h, uint8_t byte) noexcept { return (h ^ byte) * kFnvPrime; }

// Moves `offset` past the name there (a pointer ends it). False if it runs out of the message.
bool SkipName(std::span<const uint8_t> m, size_t& offset) noexcept {
  for (int labels = 0; labels < 128; ++labels) {
    if (offset >= m.size()) return false;
    uint8_t len = m[offset];
    if ((len & 0xC0) == 0xC0) {
      if (offset + 2 > m.size()) return false;
      offset += 2;
      return true;
    }
    if ((len & 0xC0) != 0) return false;
    offset += 1 + size_t{len};
    if (len == 0) return true;
  }
  return false;
}

struct RecordView {
  size_t start = 0;
  uint16_t type = 0;
  size_t ttl_offset = 0;
  size_t rdata = 0;
  uint16_t rdlength = 0;
};

bool ReadRecord(std::span<const uint8_t> m, size_t& offset, RecordView& rr) noexcept {
  rr.start = offset;
  if (!SkipName(m, offset) || offset + 10 > m.size()) return false;
  rr.type = ReadU16(&m[offset]);
  rr.ttl_offset = offset + 4;
  rr.rdlength = ReadU16(&m[offset + 8]);
  rr.rdata = offset + 10;
  offset = rr.rdata + rr.rdlength;
  return offset <= m.size();
}

}  // namespace

uint64_t CacheKey::Hash() const noexcept {
  uint64_t h = kFnvOffset;
  for (char c : qname) h = Mix(h, static_cast<uint8_t>(c));
  h = Mix(h, static_cast<uint8_t>(qtype >> 8));
  h = Mix(h, static_cast<uint8_t>(qtype));
  h = Mix(h, static_cast<uint8_t>(qclass >> 8));
  h = Mix(h, static_cast<uint8_t>(qclass));
  return Mix(h, static_cast<uint8_t>((dnssec_ok ? 1 : 0) | (checking_disabled ? 2 : 0)));
}

Cacheability Examine(std::span<const uint8_t> m, const TtlPolicy& policy) noexcept {
  Cacheability out;
  if (m.size() < wire::kHeaderSize) return out;
  uint16_t flags = ReadU16(&m[2]);
  if ((flags & wire::flags::kQr) == 0 || (flags & wire::flags::kTc) != 0) return out;
  auto rcode = static_cast<wire::Rcode>(flags & wire::flags::kRcodeMask);
  if (rcode != wire::Rcode::kNoError && rcode != wire::Rcode::kNxDomain) return out;
  if (ReadU16(&m[4]) != 1) return out;
  uint16_t an = ReadU16(&m[6]), ns = ReadU16(&m[8]), ar = ReadU16(&m[10]);
  size_t offset = wire::kHeaderSize;
  if (!SkipName(m, offset) || offset + 4 > m.size()) return out;
  offset += 4;

  uint32_t min_ttl = UINT32_MAX;
  uint32_t soa_ttl = UINT32_MAX;  // min(SOA TTL, SOA MINIMUM) of an SOA in authority
  size_t total = size_t{an} + ns + ar;
  for (size_t i = 0; i < total; ++i) {
    RecordView rr;
    if (!ReadRecord(m, offset, rr)) return out;
    if (rr.type == static_cast<uint16_t>(wire::RrType::kOpt)) {
      // Only as the last record; an extended rcode (BADVERS…) is never cached.
      if (i != total - 1 || i < size_t{an} + ns || m[rr.ttl_offset] != 0) return out;
      out.opt_offset = rr.start;
      continue;
    }
    uint32_t ttl = ReadU32(&m[rr.ttl_offset]);
    min_ttl = std::min(min_ttl, ttl);
    bool authority = i >= an && i < size_t{an} + ns;
    if (authority && rr.type == static_cast<uint16_t>(wire::RrType::kSoa)) {
      // RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field,
      // the last 4 bytes of the rdata.
      if (rr.rdlength < 20) return out;
      soa_ttl = std::min(ttl, ReadU32(&m[rr.rdata + rr.rdlength - 4]));
    }
  }
  if (offset != m.size()) return out;

  uint32_t ttl = 0;
  if (rcode == wire::Rcode::kNoError && an > 0) {
    out.type = EntryType::kSuccess;
    ttl = std::min(min_ttl, policy.success_max);
  } else if (soa_ttl != UINT32_MAX) {  // NXDOMAIN, or NODATA: NOERROR with no answer
    out.type = EntryType::kDenial;
    ttl = std::min(soa_ttl, policy.denial_max);
  } else {
    return out;  // a referral, or a denial without SOA: nothing says how long it holds
  }
  uint32_t cap = out.type == EntryType::kSuccess ? policy.success_max : policy.denial_max;
  ttl = std::max(ttl, std::min(policy.min, cap));
  if (ttl == 0) return out;
  out.ttl = ttl;
  out.cacheable = true;
  return out;
}

bool ResponseCache::Entry::Matches(const CacheKey& key) const noexcept {
  return qtype == key.qtype && qclass == key.qclass && dnssec_ok == key.dnssec_ok &&
         checking_disabled == key.checking_disabled && std::string_view(qname) == key.qname;
}

uint32_t ResponseCache::Entry::Remaining(TimePoint now) const noexcept {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - stored_at).count();
  if (age < 0) return ttl;
  return age >= ttl ? 0 : ttl - static_cast<uint32_t>(age);
}

bool ResponseCache::Entry::Expired(TimePoint now) const noexcept {
  return now - stored_at >= std::chrono::seconds(ttl);
}

ResponseCache::ResponseCache(size_t capacity, TtlPolicy policy)
    : policy_(policy), slots_(std::max<size_t>(capacity, 1)) {
  free_.reserve(slots_.size());
  for (size_t i = slots_.size(); i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
  index_.reserve(slots_.size());
}

ResponseCache::Entry* ResponseCache::Find(const CacheKey& key) noexcept {
  auto it = index_.find(key.Hash());
  if (it == index_.end()) return nullptr;
  Entry& e = slots_[it->second];
  if (!e.Matches(key)) return nullptr;
  Unlink(it->second);
  PushFront(it->second);
  return &e;
}

ResponseCache::Entry* ResponseCache::Insert(const CacheKey& key, std::span<const uint8_t> message,
                                            TimePoint now) {
  Cacheability c = Examine(message, policy_);
  if (!c.cacheable) return nullptr;
  uint64_t hash = key.Hash();
  if (auto it = index_.find(hash); it != index_.end()) {
    Release(it->second);  // same key (or a 64-bit collision): the newer response wins
  } else if (free_.empty()) {
    Release(tail_);
    ++evictions_;
  }
  uint32_t slot = free_.back();
  free_.pop_back();
  Entry& e = slots_[slot];
  e.hash = hash;
  e.qname.assign(key.qname);
  e.qtype = key.qtype;
  e.qclass = key.qclass;
  e.dnssec_ok = key.dnssec_ok;
  e.checking_disabled = key.checking_disabled;
  e.type = c.type;
  size_t length = c.opt_offset != 0 ? c.opt_offset : message.size();
  e.wire.assign(message.begin(), message.begin() + static_cast<ptrdiff_t>(length));
  if (c.opt_offset != 0)
    wire::WriteU16(&e.wire[10], static_cast<uint16_t>(ReadU16(&e.wire[10]) - 1));
  e.ttl_offsets.clear();
  size_t offset = wire::kHeaderSize;
  (void)SkipName(e.wire, offset);
  offset += 4;
  size_t records = size_t{ReadU16(&e.wire[6])} + ReadU16(&e.wire[8]) + ReadU16(&e.wire[10]);
  for (size_t i = 0; i < records; ++i) {
    RecordView rr;
    if (!ReadRecord(e.wire, offset, rr)) break;  // Examine already walked it
    e.ttl_offsets.push_back(static_cast<uint16_t>(rr.ttl_offset));
    // Clamp so no record outlives the entry (the caps apply to every record).
    wire::WriteU32(&e.wire[rr.ttl_offset], std::min(ReadU32(&e.wire[rr.ttl_offset]), c.ttl));
  }
  e.stored_at = now;
  e.ttl = c.ttl;
  e.late_hits = 0;
  e.prefetched = false;
  e.used = true;
  index_[hash] = slot;
  PushFront(slot);
  ++size_;
  ++counts_[static_cast<int>(e.type)];
  return &e;
}

void ResponseCache::Erase(Entry* entry) noexcept {
  if (entry == nullptr || !entry->used) return;
  Release(static_cast<uint32_t>(entry - slots_.data()));
}

void ResponseCache::Release(uint32_t slot) noexcept {
  Entry& e = slots_[slot];
  if (!e.used) return;
  Unlink(slot);
  index_.erase(e.hash);
  e.used = false;
  --size_;
  --counts_[static_cast<int>(e.type)];
  free_.push_back(slot);
}

void ResponseCache::Unlink(uint32_t slot) noexcept {
  Entry& e = slots_[slot];
  if (e.prev != kNone) slots_[e.prev].next = e.next;
  if (e.next != kNone) slots_[e.next].prev = e.prev;
  if (head_ == slot) head_ = e.next;
  if (tail_ == slot) tail_ = e.prev;
  e.prev = e.next = kNone;
}

void ResponseCache::PushFront(uint32_t slot) noexcept {
  Entry& e = slots_[slot];
  e.prev = kNone;
  e.next = head_;
  if (head_ != kNone) slots_[head_].prev = slot;
  head_ = slot;
  if (tail_ == kNone) tail_ = slot;
}

size_t ResponseCache::Render(const Entry& entry, TimePoint now, std::span<uint8_t> out,
                             const uint32_t* fixed_ttl) noexcept {
  if (out.size() < entry.wire.size()) return 0;
  std::memcpy(out.data(), entry.wire.data(), entry.wire.size());
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored_at).count();
  uint32_t elapsed = age <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(age, UINT32_MAX));
  for (uint16_t at : entry.ttl_offsets) {
    uint32_t ttl = ReadU32(&out[at]);
    wire::WriteU32(&out[at],
                   fixed_ttl != nullptr ? *fixed_ttl : (ttl > elapsed ? ttl - elapsed : 0));
  }
  return entry.wire.size();
}

}  // namespace petdns::plugins::cache
