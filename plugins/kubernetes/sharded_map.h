// An immutable string-keyed map split into shards that are shared between versions: copying the
// map copies shard pointers, and changing a key copies only that key's shard. This is what lets a
// Kubernetes update touch one service's entry without rebuilding the other 10,000.
// Reads are safe from any thread; a map is changed only by its owner before it is published.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace petdns::plugins::kubernetes {

// `kShards`: more shards make a change copy less (a shard's entries) and a copy of the whole map
// cost more (one pointer per shard); aim for a few dozen entries per shard.
template <class V, size_t kShards = 256>
class ShardedMap {
 public:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Shard = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  const V* Find(std::string_view key) const noexcept {
    const auto& shard = shards_[ShardOf(key)];
    if (shard == nullptr) return nullptr;
    auto it = shard->find(key);
    return it == shard->end() ? nullptr : &it->second;
  }

  void Set(const std::string& key, V value) { Mutable(key)[key] = std::move(value); }
  void Erase(const std::string& key) {
    if (Find(key) != nullptr) Mutable(key).erase(key);
  }
  size_t size() const noexcept {
    size_t n = 0;
    for (const auto& shard : shards_) n += shard ? shard->size() : 0;
    return n;
  }
  template <class F>
  void ForEach(F&& f) const {
    for (const auto& shard : shards_) {
      if (shard == nullptr) continue;
      for (const auto& [key, value] : *shard) f(key, value);
    }
  }

 private:
  static size_t ShardOf(std::string_view key) noexcept { return Hash{}(key) % kShards; }

  // The shard holding `key`, copied first if another version of the map shares it.
  Shard& Mutable(std::string_view key) {
    auto& shard = shards_[ShardOf(key)];
    if (shard == nullptr) {
      shard = std::make_shared<Shard>();
    } else if (shard.use_count() > 1) {
      shard = std::make_shared<Shard>(*shard);
    }
    return *shard;
  }

  std::array<std::shared_ptr<Shard>, kShards> shards_;
};

}  // namespace petdns::plugins::kubernetes
