// An IPv4 or IPv6 address in binary (network byte order), the form A/AAAA rdata and reverse names
// are built from: 17 bytes and no allocation, where the text form cost a std::string (and often a
// heap block) per address. Pure value type, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petdns::plugins::kubernetes {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  uint8_t length = 0;  // 4 (IPv4) or 16 (IPv6)

  // inet_pton's syntax: dotted quad, or any RFC 4291 text form. nullopt for anything else.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v4() const noexcept { return length == 4; }
  // The address as A or AAAA rdata.
  std::string_view rdata() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), length};
  }
  // Canonical text (inet_ntop): "10.0.0.1", "2001:db8::1".
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

}  // namespace petdns::plugins::kubernetes
