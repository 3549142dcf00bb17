// The result of a lookup: the rcode, the AA bit and RRset pointers per section, in the order they
// are to be written. Owners are wire names that stay valid as long as the zone snapshot and the
// request do. One Answer per worker is reused for every query (clear() keeps the capacity), so
// filling it does not allocate in steady state.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "server/wire/dns.h"
#include "zones/rrset.h"

namespace petdns::zones {

struct AnswerRRset {
  std::string_view owner;  // uncompressed wire name
  const RRset* rrset = nullptr;
  uint32_t ttl = 0;  // what to write: the RRset's TTL, or the negative TTL for an SOA in authority
};

struct Answer {
  wire::Rcode rcode = wire::Rcode::kNoError;
  bool authoritative = true;
  std::vector<AnswerRRset> answer;
  std::vector<AnswerRRset> authority;
  std::vector<AnswerRRset> additional;

  void clear() noexcept {
    rcode = wire::Rcode::kNoError;
    authoritative = true;
    answer.clear();
    authority.clear();
    additional.clear();
  }
};

}  // namespace petdns::zones
