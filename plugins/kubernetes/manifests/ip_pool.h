// Deterministic address assignment from one CIDR, as the manifests source uses for pod IPs and
// service cluster IPs: an address is derived from a hash of a key ("namespace/name"), probing
// linearly past addresses already taken, so the same key gets the same address on every load as
// long as nothing earlier in the allocation order took it first. Not thread-safe; one pool per
// load.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

class IpPool {
 public:
  enum class Family : uint8_t { kIpv4, kIpv6 };

  // "10.244.0.0/16" or "fd00:10:244::/64". Host bits in the address are an error.
  [[nodiscard]] static Result<IpPool> Parse(std::string_view cidr);

  Family family() const noexcept { return family_; }
  // "IPv4" / "IPv6", as Kubernetes spells address families.
  std::string_view FamilyName() const noexcept;
  const std::string& cidr() const noexcept { return cidr_; }

  // Marks an address as taken so Allocate never returns it. Addresses outside the pool (or of the
  // other family) are ignored. Returns false if the address was already taken.
  bool Reserve(std::string_view ip);
  // The address for `key`: FNV-1a hash of the key within the pool, then the next free address.
  // Never the network or (IPv4) broadcast address, nor an IPv4 address ending in .0 or .255.
  [[nodiscard]] Result<std::string> Allocate(std::string_view key);

  // The family of a textual address, or an error if it is not an IP address.
  [[nodiscard]] static Result<Family> FamilyOf(std::string_view ip);

 private:
  IpPool() = default;
  bool Usable(uint64_t offset) const noexcept;
  std::string Format(uint64_t offset) const;

  Family family_ = Family::kIpv4;
  std::array<uint8_t, 16> base_{};
  int prefix_ = 0;
  int host_bits_ = 0;  // bits varied by Allocate, at most 64
  std::string cidr_;
  std::unordered_set<uint64_t> used_;
};

// 64-bit FNV-1a, with a final avalanche so the low bits used for small pools are well mixed. Also
// used for deterministic uids and resourceVersions.
uint64_t StableHash(std::string_view text) noexcept;

}  // namespace petdns::plugins::kubernetes
