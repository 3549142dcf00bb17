// Parses and validates an incoming query: header, the single question and the EDNS OPT record.
// Everything is checked against the message bounds; nothing allocates. Called on a worker loop.
#pragma once

#include <cstdint>
#include <span>

#include "server/wire/dns.h"
#include "server/wire/name.h"

namespace petdns::wire {

struct Edns {
  bool present = false;
  uint16_t udp_payload = 0;  // requestor's payload size as sent (values < 512 mean 512)
  uint8_t version = 0;
  bool dnssec_ok = false;
};

// Why ParseRequest said kDrop or kFormErr: the `reason` label of the malformed-input metric.
enum class Malformed : uint8_t {
  kNone,
  kShortHeader,    // fewer than 12 bytes
  kResponse,       // QR set: never answered
  kQuestionCount,  // QDCOUNT other than 1
  kBadQuestion,    // unreadable question: bad name (loop, bad pointer, long label/name), truncated
  kBadRecord,      // a record past the question is truncated, or the counts promise more
  kBadOpt,         // OPT in the wrong place, twice, with a bad owner or option lengths, or as QTYPE
};

struct Request {
  uint16_t id = 0;
  uint16_t flags = 0;  // as received
  Opcode opcode = Opcode::kQuery;
  bool has_question = false;
  NameBuffer qname;        // as received: its case is echoed in the answer
  NameBuffer qname_lower;  // the lookup key
  RrType qtype = RrType::kA;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the question in the packet
  Edns edns;
  Malformed malformed = Malformed::kNone;  // set when the verdict is kDrop or kFormErr

  bool recursion_desired() const noexcept { return (flags & flags::kRd) != 0; }
  bool checking_disabled() const noexcept { return (flags & flags::kCd) != 0; }
};

// What the server should do with a packet, decided by ParseRequest.
enum class Verdict : uint8_t {
  kAnswer,   // a well-formed QUERY: route it to a plugin chain
  kDrop,     // unreadable header, or a response: send nothing
  kFormErr,  // malformed: reply FORMERR (with the question if it was readable)
  kNotImp,   // opcode other than QUERY, or a meta query type petdns does not do
  kRefused,  // class other than IN/ANY
  kBadVers,  // EDNS version other than 0: BADVERS with an OPT record
};

// Fills `out` as far as the packet allows and returns the verdict. The checks follow RFC 1035,
// RFC 6891 (one OPT, only in the additional section, owner root, version 0) and RFC 8482.
[[nodiscard]] Verdict ParseRequest(std::span<const uint8_t> packet, Request& out) noexcept;

}  // namespace petdns::wire
