// One RRset of a compiled zone: type, class, TTL and the records' rdata in wire form (names in
// rdata uncompressed, in the case the data source wrote them). Immutable once a zone is built.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "server/wire/dns.h"

namespace petdns::zones {

struct RRset {
  wire::RrType type = wire::RrType::kA;
  uint16_t rclass = static_cast<uint16_t>(wire::RrClass::kIn);
  uint32_t ttl = 0;
  std::vector<std::string> rdatas;

  static std::span<const uint8_t> Bytes(const std::string& rdata) noexcept {
    return {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()};
  }
};

// Where the domain name inside an rdata of `type` starts that answers point at (CNAME, NS, PTR,
// MX, SRV, DNAME targets), or -1 when the type has none.
int TargetNameOffset(wire::RrType type) noexcept;

}  // namespace petdns::zones
