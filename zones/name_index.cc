#include "zones/name_index.h"

#include <bit>

namespace petdns::zones {
namespace {

constexpr uint64_t kMultiplier = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio

constexpr uint64_t Mix(uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint64_t NameIndex::Hash(std::string_view name) noexcept {
  uint64_t h = name.size() * kMultiplier;
  const char* p = name.data();
  size_t left = name.size();
  while (left >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = std::rotl((h ^ word) * kMultiplier, 29);
    p += 8;
    left -= 8;
  }
  if (left > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, left);
    h = std::rotl((h ^ word) * kMultiplier, 29);
  }
  return Mix(h);
}

void NameIndex::Reset(size_t count) {
  size_t size = 8;
  while (size < count * 2) size *= 2;
  slots_.assign(size, 0);
  mask_ = size - 1;
}

void NameIndex::Insert(std::string_view name, uint32_t value) noexcept {
  const uint64_t hash = Hash(name);
  const uint64_t slot = (hash >> 32 << 32) | (uint64_t{value} + 1);
  size_t i = hash & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = slot;
}

}  // namespace petdns::zones
