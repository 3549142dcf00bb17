#include "plugins/log/response_class.h"

#include "server/wire/dns.h"
#include "server/wire/name.h"

namespace petdns::plugins::log {

ResponseClass Classify(std::span<const uint8_t> message) noexcept {
  if (message.size() < wire::kHeaderSize) return ResponseClass::kError;
  const uint8_t* h = message.data();
  auto rcode = static_cast<wire::Rcode>(wire::ReadU16(h + 2) & wire::flags::kRcodeMask);
  if (rcode == wire::Rcode::kNxDomain) return ResponseClass::kDenial;
  if (rcode != wire::Rcode::kNoError) return ResponseClass::kError;
  uint16_t qdcount = wire::ReadU16(h + 4);
  uint16_t ancount = wire::ReadU16(h + 6);
  uint16_t nscount = wire::ReadU16(h + 8);
  if (ancount > 0) return ResponseClass::kSuccess;
  if (nscount == 0) return ResponseClass::kDenial;
  // NODATA carries an SOA; a referral carries NS records and no SOA.
  size_t offset = wire::kHeaderSize;
  wire::NameBuffer name;
  for (uint16_t i = 0; i < qdcount; ++i) {
    if (!wire::ReadName(message, offset, name) || offset + 4 > message.size()) {
      return ResponseClass::kDenial;
    }
    offset += 4;
  }
  bool has_ns = false;
  for (uint16_t i = 0; i < nscount; ++i) {
    if (!wire::ReadName(message, offset, name) || offset + 10 > message.size()) break;
    auto type = static_cast<wire::RrType>(wire::ReadU16(message.data() + offset));
    if (type == wire::RrType::kSoa) return ResponseClass::kDenial;
    has_ns = has_ns || type == wire::RrType::kNs;
    offset += 10 + wire::ReadU16(message.data() + offset + 8);
  }
  return has_ns ? ResponseClass::kSuccess : ResponseClass::kDenial;
}

uint8_t ClassMask(std::string_view name) noexcept {
  if (name == "all") return 0x7;
  if (name == "success") return static_cast<uint8_t>(ResponseClass::kSuccess);
  if (name == "denial") return static_cast<uint8_t>(ResponseClass::kDenial);
  if (name == "error") return static_cast<uint8_t>(ResponseClass::kError);
  return 0;
}

}  // namespace petdns::plugins::log
