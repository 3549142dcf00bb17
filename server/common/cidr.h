// A set of IPv4/IPv6 prefixes ("10.0.0.0/8", "::1/128", or a bare address) for access control.
// Parsed on the main thread; Contains is allocation-free and safe from any thread.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"

namespace petdns {

class CidrSet {
 public:
  [[nodiscard]] static Result<CidrSet> Parse(const std::vector<std::string>& prefixes);

  bool Contains(const sockaddr* address) const noexcept;
  bool empty() const noexcept { return prefixes_.empty(); }

 private:
  struct Prefix {
    int family;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes;
    int bits;
  };
  std::vector<Prefix> prefixes_;
};

}  // namespace petdns
