// Test helpers for DNS messages: build queries, record what a handler sends, and parse responses
// with ldns (an independent parser, so tests do not check petdns's writer with itself).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/listener/packet_handler.h"
#include "server/wire/dns.h"
#include "zones/compiled_zone.h"

namespace petdns::testing {

struct QueryOptions {
  uint16_t id = 0x1234;
  bool edns = false;
  uint16_t udp_payload = 1232;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  bool recursion_desired = true;
  uint16_t qclass = 1;
  uint8_t opcode = 0;
};

// A query for `name` (presentation form, e.g. "www.example.org.") and `type`.
std::vector<uint8_t> MakeQuery(std::string_view name, wire::RrType type,
                               const QueryOptions& options = {});

// Records every message a handler sends; retained sinks record into the same list.
class RecordingSink final : public listener::ResponseSink {
 public:
  void Send(std::span<const uint8_t> message) noexcept override {
    messages.emplace_back(message.begin(), message.end());
  }
  std::unique_ptr<listener::ResponseSink> Retain() noexcept override {
    struct Forward final : listener::ResponseSink {
      explicit Forward(RecordingSink& target) : to(target) {}
      void Send(std::span<const uint8_t> message) noexcept override { to.Send(message); }
      RecordingSink& to;
    };
    return std::make_unique<Forward>(*this);
  }
  std::vector<std::vector<uint8_t>> messages;
};

// A response as ldns reads it; records as single-space-separated presentation text.
struct ParsedResponse {
  bool ok = false;  // ldns could parse it
  uint16_t id = 0;
  int rcode = 0;  // including extended bits from the OPT record
  bool aa = false, tc = false, rd = false, qr = false;
  size_t size = 0;
  std::string question;                                    // "www.example.org. IN A"
  std::vector<std::string> answer, authority, additional;  // OPT left out of additional
  bool has_opt = false;
  uint16_t opt_payload = 0;
  bool dnssec_ok = false;
};

ParsedResponse Parse(std::span<const uint8_t> message);

// Compiles a zone from master-file text (written to a temporary file and loaded with ldns).
std::shared_ptr<const zones::CompiledZone> ZoneFromText(std::string_view origin,
                                                        std::string_view text);

// The example zone of the README, used across unit tests (deploy/examples/example.org.zone).
std::shared_ptr<const zones::CompiledZone> ExampleZone();

}  // namespace petdns::testing
