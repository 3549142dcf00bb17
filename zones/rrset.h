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

// The rdatas of one RRset packed into one block as (2-byte length, bytes) pairs; iterating
// yields std::string_view. 24 bytes: up to 16 bytes of records live inline (a single A, or an
// empty list), longer lists in a heap block of their own, and once a zone is built its lists
// are moved into one zone-wide arena (RelocateInto) and only refer to it: a big zone is then a
// few large blocks, not hundreds of thousands of small ones pinning pages of the heap.
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

  RdataList() noexcept : inline_{} {}
  RdataList(std::initializer_list<std::string_view> rdatas) : RdataList() {
    for (std::string_view rdata : rdatas) push_back(rdata);
  }
  // A copy owns its records, even when the original refers to a zone's arena.
  RdataList(const RdataList& other) : RdataList() { Append(other.packed()); }
  RdataList& operator=(const RdataList& other) {
    if (this != &other) {
      size_ = 0;
      if (storage_ == Storage::kBorrowed) storage_ = Storage::kInline;
      Append(other.packed());
    }
    return *this;
  }
  RdataList(RdataList&& other) noexcept { TakeFrom(other); }
  RdataList& operator=(RdataList&& other) noexcept {
    if (this != &other) {
      Release();
      TakeFrom(other);
    }
    return *this;
  }
  ~RdataList() { Release(); }

  Iterator begin() const noexcept { return Iterator(data()); }
  Iterator end() const noexcept { return Iterator(data() + size_); }
  // Counts by walking the list: rarely asked (zone statistics, checks at build time), and not
  // storing it keeps the list small.
  size_t size() const noexcept { return static_cast<size_t>(std::distance(begin(), end())); }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view front() const noexcept { return *begin(); }
  bool contains(std::string_view rdata) const noexcept {
    for (std::string_view existing : *this) {
      if (existing == rdata) return true;
    }
    return false;
  }
  // The packed form, (length, bytes) pairs: equal lists have equal packed forms.
  std::string_view packed() const noexcept { return {data(), size_}; }

  // Rdata is at most 65535 bytes by the wire format; longer input is cut (callers validate).
  void push_back(std::string_view rdata) {
    const auto length = static_cast<uint16_t>(std::min<size_t>(rdata.size(), UINT16_MAX));
    char prefix[2];
    std::memcpy(prefix, &length, 2);
    Append(std::string_view(prefix, 2));
    Append(rdata.substr(0, length));
  }
  // Makes this a one-record list, reusing the capacity (no allocation once it has grown).
  void assign_one(std::string_view rdata) {
    clear();
    push_back(rdata);
  }
  void reserve_bytes(size_t bytes) {
    if (bytes > Capacity()) Regrow(bytes);
  }
  // Empties the list; a heap block is kept for reuse.
  void clear() noexcept {
    size_ = 0;
    if (storage_ == Storage::kBorrowed) storage_ = Storage::kInline;
  }
  // Gives back spare capacity (a builder appends record by record).
  void shrink_to_fit() {
    if (storage_ == Storage::kHeap && heap_.capacity > size_) Regrow(size_);
  }

  // Whether the records sit in a heap block of this list's own (what RelocateInto moves).
  bool owns_heap_block() const noexcept { return storage_ == Storage::kHeap; }
  // Copies the records to `arena`, frees this list's block and refers to the copy from now on:
  // the arena must outlive the list and every copy of its views. Returns the end of the copy.
  char* RelocateInto(char* arena) noexcept {
    std::memcpy(arena, data(), size_);
    Release(/*keep_size=*/true);
    heap_.pointer = arena;
    heap_.capacity = size_;
    storage_ = Storage::kBorrowed;
    return arena + size_;
  }

  bool operator==(const RdataList& other) const noexcept { return packed() == other.packed(); }

 private:
  enum class Storage : uint8_t { kInline, kHeap, kBorrowed };
  static constexpr size_t kInlineBytes = 16;

  const char* data() const noexcept {
    return storage_ == Storage::kInline ? inline_ : heap_.pointer;
  }
  size_t Capacity() const noexcept {
    switch (storage_) {
      case Storage::kInline:
        return kInlineBytes;
      case Storage::kHeap:
        return heap_.capacity;
      case Storage::kBorrowed:
        return 0;  // read-only: the first write copies
    }
    return 0;
  }
  void Append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (size_ + bytes.size() > Capacity()) {
      Regrow(std::max<size_t>(size_ + bytes.size(), 2 * size_t{size_}));
    }
    char* at = storage_ == Storage::kInline ? inline_ : heap_.pointer;
    std::memcpy(at + size_, bytes.data(), bytes.size());
    size_ += static_cast<uint32_t>(bytes.size());
  }
  // Moves the records to storage of `capacity` bytes (>= size_): inline when they fit.
  void Regrow(size_t capacity) {
    if (capacity <= kInlineBytes && storage_ != Storage::kInline) {
      char* old = heap_.pointer;
      const bool owned = storage_ == Storage::kHeap;
      std::memcpy(inline_, old, size_);
      if (owned) delete[] old;
      storage_ = Storage::kInline;
      return;
    }
    if (capacity <= kInlineBytes) return;
    char* block = new char[capacity];
    std::memcpy(block, data(), size_);
    if (storage_ == Storage::kHeap) delete[] heap_.pointer;
    heap_.pointer = block;
    heap_.capacity = static_cast<uint32_t>(capacity);
    storage_ = Storage::kHeap;
  }
  void Release(bool keep_size = false) noexcept {
    if (storage_ == Storage::kHeap) delete[] heap_.pointer;
    storage_ = Storage::kInline;
    if (!keep_size) size_ = 0;
  }
  void TakeFrom(RdataList& other) noexcept {
    std::memcpy(inline_, other.inline_, kInlineBytes);  // the inline bytes or the block's address
    size_ = other.size_;
    storage_ = other.storage_;
    other.storage_ = Storage::kInline;
    other.size_ = 0;
  }

  struct Block {
    char* pointer;
    uint32_t capacity;
  };
  union {
    char inline_[kInlineBytes];
    Block heap_;
  };
  uint32_t size_ = 0;
  Storage storage_ = Storage::kInline;
};
static_assert(sizeof(RdataList) == 24);

struct RRset {
  wire::RrType type = wire::RrType::kA;
  uint16_t rclass = static_cast<uint16_t>(wire::RrClass::kIn);
  uint32_t ttl = 0;
  RdataList rdatas;

  bool operator==(const RRset& other) const noexcept = default;

  static std::span<const uint8_t> Bytes(std::string_view rdata) noexcept {
    return {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()};
  }
};
static_assert(sizeof(RRset) == 32, "RRsets are the bulk of a zone: keep them small");

// Where the domain name inside an rdata of `type` starts that answers point at (CNAME, NS, PTR,
// MX, SRV, DNAME targets), or -1 when the type has none.
int TargetNameOffset(wire::RrType type) noexcept;

}  // namespace petdns::zones
