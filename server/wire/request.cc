#include "server/wire/request.h"

namespace petdns::wire {
namespace {

// Skips one resource record starting at `offset`, validating its owner name and rdata bounds.
// Reports OPT records through `opt_at` (their offset) so the caller can check their placement.
bool SkipRecord(std::span<const uint8_t> packet, size_t& offset, NameBuffer& scratch,
                size_t* type_offset) noexcept {
  if (!ReadName(packet, offset, scratch)) return false;
  if (offset + 10 > packet.size()) return false;
  *type_offset = offset;
  uint16_t rdlength = ReadU16(packet.data() + offset + 8);
  offset += 10;
  if (offset + rdlength > packet.size()) return false;
  offset += rdlength;
  return true;
}

bool ParseOpt(std::span<const uint8_t> packet, const NameBuffer& owner, size_t type_offset,
              Edns& edns) noexcept {
  if (owner.length != 1) return false;  // the OPT owner must be the root
  const uint8_t* p = packet.data() + type_offset;
  edns.present = true;
  edns.udp_payload = ReadU16(p + 2);
  edns.version = p[5];
  edns.dnssec_ok = (ReadU16(p + 6) & kEdnsDoBit) != 0;
  // Options must tile the rdata exactly.
  size_t rdlength = ReadU16(p + 8);
  size_t pos = 0;
  const uint8_t* rdata = p + 10;
  while (pos < rdlength) {
    if (pos + 4 > rdlength) return false;
    size_t option_length = ReadU16(rdata + pos + 2);
    pos += 4 + option_length;
    if (pos > rdlength) return false;
  }
  return true;
}

}  // namespace

Verdict ParseRequest(std::span<const uint8_t> packet, Request& out) noexcept {
  out = Request{};
  auto malformed = [&out](Malformed why, Verdict verdict) {
    out.malformed = why;
    return verdict;
  };
  if (packet.size() < kHeaderSize) return malformed(Malformed::kShortHeader, Verdict::kDrop);
  const uint8_t* h = packet.data();
  out.id = ReadU16(h);
  out.flags = ReadU16(h + 2);
  if ((out.flags & flags::kQr) != 0) {
    return malformed(Malformed::kResponse, Verdict::kDrop);  // never answer a response
  }
  out.opcode = static_cast<Opcode>((out.flags & flags::kOpcodeMask) >> 11);
  uint16_t qdcount = ReadU16(h + 4);
  uint16_t ancount = ReadU16(h + 6);
  uint16_t nscount = ReadU16(h + 8);
  uint16_t arcount = ReadU16(h + 10);

  size_t offset = kHeaderSize;
  if (qdcount == 1) {
    if (!ReadName(packet, offset, out.qname) || offset + 4 > packet.size()) {
      return malformed(Malformed::kBadQuestion, Verdict::kFormErr);
    }
    out.qtype = static_cast<RrType>(ReadU16(h + offset));
    out.qclass = ReadU16(h + offset + 2);
    offset += 4;
    out.question_end = offset;
    out.has_question = true;
    out.qname_lower = out.qname;
    LowerNameInPlace(std::span<char>(out.qname_lower.bytes.data(), out.qname_lower.length));
  }
  if (out.opcode != Opcode::kQuery) return Verdict::kNotImp;
  if (qdcount != 1) return malformed(Malformed::kQuestionCount, Verdict::kFormErr);

  // Walk the remaining sections: every record must parse, counts must not lie, and the one OPT
  // may appear only in the additional section.
  NameBuffer scratch;
  size_t type_offset = 0;
  for (uint32_t i = 0; i < uint32_t{ancount} + nscount; ++i) {
    if (!SkipRecord(packet, offset, scratch, &type_offset)) {
      return malformed(Malformed::kBadRecord, Verdict::kFormErr);
    }
    if (static_cast<RrType>(ReadU16(h + type_offset)) == RrType::kOpt) {
      return malformed(Malformed::kBadOpt, Verdict::kFormErr);
    }
  }
  for (uint32_t i = 0; i < arcount; ++i) {
    if (!SkipRecord(packet, offset, scratch, &type_offset)) {
      return malformed(Malformed::kBadRecord, Verdict::kFormErr);
    }
    if (static_cast<RrType>(ReadU16(h + type_offset)) != RrType::kOpt) continue;
    if (out.edns.present) return malformed(Malformed::kBadOpt, Verdict::kFormErr);  // two OPTs
    if (!ParseOpt(packet, scratch, type_offset, out.edns)) {
      out.edns = Edns{};
      return malformed(Malformed::kBadOpt, Verdict::kFormErr);
    }
  }
  // Trailing garbage after the counted records is tolerated, as most servers do.

  switch (out.qtype) {
    case RrType::kOpt:
      return malformed(Malformed::kBadOpt, Verdict::kFormErr);
    case RrType::kMaila:
    case RrType::kMailb:
      return Verdict::kNotImp;
    default:
      break;
  }
  if (out.qclass != static_cast<uint16_t>(RrClass::kIn) &&
      out.qclass != static_cast<uint16_t>(RrClass::kAny)) {
    return Verdict::kRefused;
  }
  if (out.edns.present && out.edns.version != 0) return Verdict::kBadVers;
  return Verdict::kAnswer;
}

}  // namespace petdns::wire
