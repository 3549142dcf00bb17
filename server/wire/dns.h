// DNS protocol constants (RFC 1035, 2136, 6891, 6895): header layout, types, classes, rcodes.
// Plain values, usable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace petdns::wire {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;  // wire length, including the root label
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr uint16_t kMinUdpPayload = 512;
inline constexpr size_t kMaxMessageSize = 65535;
inline constexpr size_t kOptRecordSize = 11;  // root owner, type, class, ttl, rdlength: no options

// Resource record types. Any 16-bit value may appear on the wire; these are the ones petdns names.
enum class RrType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kHinfo = 13,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
  kNaptr = 35,
  kDname = 39,
  kOpt = 41,
  kDs = 43,
  kRrsig = 46,
  kNsec = 47,
  kDnskey = 48,
  kTkey = 249,
  kTsig = 250,
  kIxfr = 251,
  kAxfr = 252,
  kMailb = 253,
  kMaila = 254,
  kAny = 255,
};

enum class RrClass : uint16_t { kIn = 1, kChaos = 3, kHesiod = 4, kNone = 254, kAny = 255 };

enum class Opcode : uint8_t { kQuery = 0, kIquery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };

// Response codes; values above 15 need the EDNS extended-rcode bits.
enum class Rcode : uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,
};

// Header flag bits within the 16-bit flags word.
namespace flags {
inline constexpr uint16_t kQr = 0x8000;
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr uint16_t kAa = 0x0400;
inline constexpr uint16_t kTc = 0x0200;
inline constexpr uint16_t kRd = 0x0100;
inline constexpr uint16_t kRa = 0x0080;
inline constexpr uint16_t kAd = 0x0020;
inline constexpr uint16_t kCd = 0x0010;
inline constexpr uint16_t kRcodeMask = 0x000f;
}  // namespace flags

inline constexpr uint16_t kEdnsDoBit = 0x8000;  // in the OPT TTL's low 16 bits

inline uint16_t ReadU16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t ReadU32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void WriteU16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void WriteU32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace petdns::wire
