#include "server/common/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace petdns {
namespace {

bool Matches(const uint8_t* address, const uint8_t* prefix, int bits) {
  int full = bits / 8;
  if (std::memcmp(address, prefix, static_cast<size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (address[full] & mask) == (prefix[full] & mask);
}

}  // namespace

Result<CidrSet> CidrSet::Parse(const std::vector<std::string>& prefixes) {
  CidrSet set;
  for (const std::string& text : prefixes) {
    std::string address = text;
    int bits = -1;
    if (size_t slash = text.find('/'); slash != std::string::npos) {
      address = text.substr(0, slash);
      std::string length = text.substr(slash + 1);
      if (length.empty() || length.size() > 3 ||
          length.find_first_not_of("0123456789") != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "bad prefix length in '" + text + "'");
      }
      bits = std::stoi(length);
    }
    Prefix p{};
    if (inet_pton(AF_INET, address.c_str(), p.bytes.data()) == 1) {
      p.family = AF_INET;
      if (bits < 0) bits = 32;
      if (bits > 32)
        return MakeError(ErrorCode::kInvalidArgument, "prefix too long in '" + text + "'");
    } else if (inet_pton(AF_INET6, address.c_str(), p.bytes.data()) == 1) {
      p.family = AF_INET6;
      if (bits < 0) bits = 128;
      if (bits > 128)
        return MakeError(ErrorCode::kInvalidArgument, "prefix too long in '" + text + "'");
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + text + "' is not an IP address or prefix");
    }
    p.bits = bits;
    set.prefixes_.push_back(p);
  }
  return set;
}

bool CidrSet::Contains(const sockaddr* address) const noexcept {
  if (address == nullptr) return false;
  const uint8_t* bytes = nullptr;
  int family = address->sa_family;
  uint8_t mapped[4];
  if (family == AF_INET) {
    bytes =
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
  } else if (family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(address);
    bytes = a6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {  // ::ffff:a.b.c.d matches IPv4 prefixes
      std::memcpy(mapped, bytes + 12, 4);
      for (const Prefix& p : prefixes_) {
        if (p.family == AF_INET && Matches(mapped, p.bytes.data(), p.bits)) return true;
      }
    }
  } else {
    return false;
  }
  for (const Prefix& p : prefixes_) {
    if (p.family == family && Matches(bytes, p.bytes.data(), p.bits)) return true;
  }
  return false;
}

}  // namespace petdns
