// One RRset of a compiled zone: type, class, TTL and the records' rdata in wire form (names in
// rdata uncompressed, in the case the data source wrote them). Immutable once a zone is built.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "server/wire/dns.h"

namespace petdns::zones {

// The rdatas of one RRset packed into a single string as (2-byte length, bytes) pairs. A
// vector of strings cost 32 bytes per record plus a heap block for every rdata over 15 bytes
// (every SRV); here an RRset is one block, or none at all for a single A/AAAA record (short
// strings live inline). Iterating yields std::string_view.
class RdataList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    Iterator() = default;
    explicit Iterator(const char* at) noexcept : at_(at) {}
    std::string_view operator*() const noexcept { return {at_ + 2, Length()}; }
    Iterator& operator++() noexcept {
      at_ += 2 + Length();
      return *this;
    }
    Iterator operator++(int) noexcept {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator&) const noexcept = default;

   private:
    size_t Length() const noexcept {
      uint16_t length;
      std::memcpy(&length, at_, 2);
      return length;
    }
    const char* at_ = nullptr;
  };

  RdataList() = default;
  RdataList(std::initializer_list<std::string_view> rdatas) {
    for (std::string_view rdata : rdatas) push_back(rdata);
  }

  Iterator begin() const noexcept { return Iterator(packed_.data()); }
  Iterator end() const noexcept { return Iterator(packed_.data() + packed_.size()); }
  // Counts by walking the list: rarely asked (zone statistics, checks at build time), and not
  // storing it keeps an RRset at 40 bytes.
  size_t size() const noexcept { return static_cast<size_t>(std::distance(begin(), end())); }
  bool empty() const noexcept { return packed_.empty(); }
  std::string_view front() const noexcept { return *begin(); }
  bool contains(std::string_view rdata) const noexcept {
    for (std::string_view existing : *this) {
      if (existing == rdata) return true;
    }
    return false;
  }

  // Rdata is at most 65535 bytes by the wire format; longer input is cut (callers validate).
  void push_back(std::string_view rdata) {
    const auto length = static_cast<uint16_t>(std::min<size_t>(rdata.size(), UINT16_MAX));
    char prefix[2];
    std::memcpy(prefix, &length, 2);
    packed_.append(prefix, 2);
    packed_.append(rdata.data(), length);
  }
  // Makes this a one-record list, reusing the capacity (no allocation once it has grown).
  void assign_one(std::string_view rdata) {
    packed_.clear();
    push_back(rdata);
  }
  void reserve_bytes(size_t bytes) { packed_.reserve(bytes); }
  void clear() noexcept { packed_.clear(); }
  // Gives back spare capacity (a builder appends record by record).
  void shrink_to_fit() { packed_.shrink_to_fit(); }

  // The packed form, (length, bytes) pairs: equal lists have equal packed forms.
  std::string_view packed() const noexcept { return packed_; }

  bool operator==(const RdataList& other) const noexcept = default;

 private:
  std::string packed_;
};

struct RRset {
  wire::RrType type = wire::RrType::kA;
  uint16_t rclass = static_cast<uint16_t>(wire::RrClass::kIn);
  uint32_t ttl = 0;
  RdataList rdatas;

  bool operator==(const RRset& other) const noexcept = default;

  static std::span<const uint8_t> Bytes(std::string_view rdata) noexcept {
    return {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()};
    static_assert(sizeof(RRset) == 40, "RRsets are the bulk of a zone: keep them small");
  }
};

// Where the domain name inside an rdata of `type` starts that answers point at (CNAME, NS, PTR,
// MX, SRV, DNAME targets), or -1 when the type has none.
int TargetNameOffset(wire::RrType type) noexcept;

}  // namespace petdns::zones
