#include "plugins/kubernetes/manifests/ip_pool.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace petdns::plugins::kubernetes {
namespace {

// Linear probing never needs more than this many steps for pools of realistic fill.
constexpr uint64_t kMaxProbes = uint64_t{1} << 22;

bool ParseAddress(std::string_view text, IpPool::Family& family, std::array<uint8_t, 16>& out) {
  std::string s(text);
  out.fill(0);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    family = IpPool::Family::kIpv4;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    family = IpPool::Family::kIpv6;
    return true;
  }
  return false;
}

int AddressBits(IpPool::Family family) { return family == IpPool::Family::kIpv4 ? 32 : 128; }
int AddressBytes(IpPool::Family family) { return AddressBits(family) / 8; }

}  // namespace

uint64_t StableHash(std::string_view text) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

Result<IpPool> IpPool::Parse(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CIDR \"" + std::string(cidr) + "\": missing /prefix length");
  }
  IpPool pool;
  if (!ParseAddress(cidr.substr(0, slash), pool.family_, pool.base_)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CIDR \"" + std::string(cidr) + "\": not an IP address");
  }
  std::string_view bits = cidr.substr(slash + 1);
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), pool.prefix_);
  int max_bits = AddressBits(pool.family_);
  if (ec != std::errc() || end != bits.data() + bits.size() || pool.prefix_ < 0 ||
      pool.prefix_ > max_bits) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CIDR \"" + std::string(cidr) + "\": bad prefix length");
  }
  for (int bit = pool.prefix_; bit < max_bits; ++bit) {
    if (pool.base_[bit / 8] & (0x80 >> (bit % 8))) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "CIDR \"" + std::string(cidr) + "\": host bits set");
    }
  }
  pool.host_bits_ = std::min(max_bits - pool.prefix_, 64);
  pool.cidr_ = std::string(cidr);
  return pool;
}

std::string_view IpPool::FamilyName() const noexcept {
  return family_ == Family::kIpv4 ? "IPv4" : "IPv6";
}

Result<IpPool::Family> IpPool::FamilyOf(std::string_view ip) {
  Family family;
  std::array<uint8_t, 16> bytes;
  if (!ParseAddress(ip, family, bytes)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"" + std::string(ip) + "\" is not an IP address");
  }
  return family;
}

bool IpPool::Usable(uint64_t offset) const noexcept {
  uint64_t last = host_bits_ == 64 ? ~uint64_t{0} : (uint64_t{1} << host_bits_) - 1;
  if (family_ == Family::kIpv4) {
    if (host_bits_ >= 2 && (offset == 0 || offset == last)) return false;
    if (host_bits_ >= 8) {
      uint8_t low = static_cast<uint8_t>(base_[3] | (offset & 0xff));
      if (low == 0 || low == 255) return false;
    }
    return true;
  }
  return host_bits_ == 0 || offset != 0;  // the subnet-router anycast address
}

std::string IpPool::Format(uint64_t offset) const {
  std::array<uint8_t, 16> bytes = base_;
  int n = AddressBytes(family_);
  for (int i = 0; i < 8 && i < n; ++i) bytes[n - 1 - i] |= static_cast<uint8_t>(offset >> (8 * i));
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_ == Family::kIpv4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
  return text;
}

bool IpPool::Reserve(std::string_view ip) {
  Family family;
  std::array<uint8_t, 16> bytes;
  if (!ParseAddress(ip, family, bytes) || family != family_) return true;
  int n = AddressBytes(family_);
  // Inside the prefix?
  for (int bit = 0; bit < prefix_; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((bytes[bit / 8] & mask) != (base_[bit / 8] & mask)) return true;
  }
  // Host bits beyond the 64 Allocate varies can never collide with an allocated address.
  for (int bit = prefix_; bit < n * 8 - host_bits_; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) return true;
  }
  uint64_t offset = 0;
  for (int i = std::max(0, n - 8); i < n; ++i) offset = (offset << 8) | bytes[i];
  if (host_bits_ < 64) offset &= (uint64_t{1} << host_bits_) - 1;
  return used_.insert(offset).second;
}

Result<std::string> IpPool::Allocate(std::string_view key) {
  uint64_t mask = host_bits_ == 64 ? ~uint64_t{0} : (uint64_t{1} << host_bits_) - 1;
  uint64_t start = StableHash(key) & mask;
  uint64_t probes = host_bits_ >= 22 ? kMaxProbes : mask + 1;
  for (uint64_t i = 0; i < probes; ++i) {
    uint64_t offset = (start + i) & mask;
    if (!Usable(offset) || used_.count(offset) != 0) continue;
    used_.insert(offset);
    return Format(offset);
  }
  return MakeError(ErrorCode::kUnavailable, "no free address left in " + cidr_);
}

}  // namespace petdns::plugins::kubernetes
