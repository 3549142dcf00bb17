// Classifies a DNS response the way CoreDNS's log plugin does (plugin/pkg/response): success,
// denial (NXDOMAIN, NODATA) or error. Pure function over the wire message; any thread, no
// allocation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace petdns::plugins::log {

enum class ResponseClass : uint8_t { kSuccess = 1, kDenial = 2, kError = 4 };

// NOERROR with answers, or a referral (NS without SOA in authority): success. NXDOMAIN, and
// NOERROR without answers otherwise (NODATA): denial. Any other rcode, or an unreadable message:
// error.
ResponseClass Classify(std::span<const uint8_t> message) noexcept;

// "success", "denial", "error" → the class; "all" → every bit. 0 for anything else.
uint8_t ClassMask(std::string_view name) noexcept;

}  // namespace petdns::plugins::log
