// An open-addressing hash index from lower-cased wire names to node numbers, built once with the
// zone and read by every worker without locks. One flat array of 8-byte slots (a 32-bit hash tag
// beside the node number), so a lookup usually costs one cache line for the slot and one for the
// node's name; std::unordered_map cost a bucket, a list node and a hash of the whole name per
// probe, and ~40 bytes per name.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace petdns::zones {

class NameIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  // A fast, well-mixed hash of a wire name: eight bytes per step. Names are short (DNS names
  // in a cluster are ~30-60 bytes), so this beats a byte-at-a-time or a general-purpose hash.
  static uint64_t Hash(std::string_view name) noexcept;

  // Sizes the table for `count` names (load factor ≤ 0.5) and empties it.
  void Reset(size_t count);
  // Adds `name` → `value`. The caller inserts each name once.
  void Insert(std::string_view name, uint32_t value) noexcept;

  // The value stored for `name`, or kNotFound. `name_of(value)` returns the name stored for a
  // value, so the index itself need not keep the names.
  template <class NameOf>
  uint32_t Find(std::string_view name, const NameOf& name_of) const noexcept {
    if (slots_.empty()) return kNotFound;
    const uint64_t hash = Hash(name);
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return kNotFound;
      if (static_cast<uint32_t>(slot >> 32) != tag) continue;
      const auto value = static_cast<uint32_t>(slot) - 1;
      const std::string_view stored = name_of(value);
      if (stored.size() == name.size() && std::memcmp(stored.data(), name.data(), name.size()) == 0)
        return value;
    }
  }

  size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(uint64_t); }

 private:
  // (tag << 32) | (value + 1); 0 marks an empty slot.
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace petdns::zones
