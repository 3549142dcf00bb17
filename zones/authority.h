// Authoritative lookup in one compiled zone (RFC 1034 §4.3.2, RFC 2308, RFC 4592, RFC 6604,
// RFC 8482): exact matches, in-zone CNAME chains, wildcards, referrals with glue, NODATA and
// NXDOMAIN with the SOA, and additional-section addresses for NS, MX and SRV targets.
// Fills a caller-owned Answer; no allocation once the Answer's vectors have grown. Any thread.
#pragma once

#include <string_view>

#include "server/wire/dns.h"
#include "zones/answer.h"
#include "zones/compiled_zone.h"

namespace petdns::zones {

// Answers `qname` (lower-cased wire name inside `zone`) for `qtype`. `owner` is the name to write
// as the owner of records found for the query name itself: the question's own bytes, so that the
// writer compresses it to the question and its case is echoed.
// Negative answers carry `authority`'s SOA when given (a zone fragment), else the zone's own.
void Resolve(const CompiledZone& zone, std::string_view qname, std::string_view owner,
             wire::RrType qtype, Answer& out,
             const NegativeAuthority* authority = nullptr) noexcept;

// Adds A and AAAA RRsets of in-zone `target` to the additional section, skipping duplicates.
void AddAddresses(const CompiledZone& zone, std::string_view target, Answer& out) noexcept;

}  // namespace petdns::zones
