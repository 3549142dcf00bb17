#include "tests/testing/dns_testing.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/ldns/ldns_ptr.h"
#include "server/wire/name.h"
#include "zones/zone_file_loader.h"

namespace petdns::testing {
namespace {

std::string RrToText(const ldns_rr* rr) {
  ldns::MallocPtr<char> text(ldns_rr2str(rr));
  std::string out;
  bool space = false;
  for (const char* p = text.get(); *p != 0; ++p) {
    if (*p == ' ' || *p == '\t' || *p == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(*p);
  }
  return out;
}

std::vector<std::string> Section(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    out.push_back(RrToText(ldns_rr_list_rr(list, i)));
  }
  return out;
}

}  // namespace

std::vector<uint8_t> MakeQuery(std::string_view name, wire::RrType type,
                               const QueryOptions& options) {
  std::vector<uint8_t> q(12, 0);
  wire::WriteU16(q.data(), options.id);
  uint16_t flags = static_cast<uint16_t>(options.opcode << 11);
  if (options.recursion_desired) flags |= wire::flags::kRd;
  wire::WriteU16(q.data() + 2, flags);
  wire::WriteU16(q.data() + 4, 1);
  auto wire_name = wire::NameFromText(name);
  EXPECT_TRUE(wire_name.has_value()) << name;
  q.insert(q.end(), wire_name->begin(), wire_name->end());
  uint8_t tail[4];
  wire::WriteU16(tail, static_cast<uint16_t>(type));
  wire::WriteU16(tail + 2, options.qclass);
  q.insert(q.end(), tail, tail + 4);
  if (options.edns) {
    uint8_t opt[11] = {0};
    wire::WriteU16(opt + 1, static_cast<uint16_t>(wire::RrType::kOpt));
    wire::WriteU16(opt + 3, options.udp_payload);
    opt[6] = options.edns_version;
    wire::WriteU16(opt + 7, options.dnssec_ok ? wire::kEdnsDoBit : 0);
    q.insert(q.end(), opt, opt + 11);
    wire::WriteU16(q.data() + 10, 1);
  }
  return q;
}

ParsedResponse Parse(std::span<const uint8_t> message) {
  ParsedResponse out;
  out.size = message.size();
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, message.data(), message.size()) != LDNS_STATUS_OK) return out;
  ldns::LdnsPkt pkt(raw);
  out.ok = true;
  out.id = ldns_pkt_id(pkt.get());
  out.aa = ldns_pkt_aa(pkt.get());
  out.tc = ldns_pkt_tc(pkt.get());
  out.rd = ldns_pkt_rd(pkt.get());
  out.qr = ldns_pkt_qr(pkt.get());
  out.rcode = ldns_pkt_get_rcode(pkt.get());
  if (ldns_pkt_edns(pkt.get()) || ldns_pkt_edns_udp_size(pkt.get()) != 0) {
    out.has_opt = true;
    out.opt_payload = ldns_pkt_edns_udp_size(pkt.get());
    out.dnssec_ok = ldns_pkt_edns_do(pkt.get());
    out.rcode |= ldns_pkt_edns_extended_rcode(pkt.get()) << 4;
  }
  const ldns_rr_list* question = ldns_pkt_question(pkt.get());
  if (ldns_rr_list_rr_count(question) > 0) {
    out.question = RrToText(ldns_rr_list_rr(question, 0));
  }
  out.answer = Section(ldns_pkt_answer(pkt.get()));
  out.authority = Section(ldns_pkt_authority(pkt.get()));
  out.additional = Section(ldns_pkt_additional(pkt.get()));
  return out;
}

std::shared_ptr<const zones::CompiledZone> ZoneFromText(std::string_view origin,
                                                        std::string_view text) {
  static int counter = 0;
  std::string path = ::testing::TempDir() + "/zone_" + std::to_string(getpid()) + "_" +
                     std::to_string(counter++) + ".zone";
  std::ofstream(path) << text;
  zones::ZoneFileOptions options;
  options.path = path;
  options.origin = *wire::NameFromText(origin);
  auto zone = zones::LoadZoneFile(options);
  EXPECT_TRUE(zone.has_value()) << (zone ? "" : zone.error().message);
  return zone ? *zone : nullptr;
}

std::shared_ptr<const zones::CompiledZone> ExampleZone() {
  zones::ZoneFileOptions options;
  options.path = std::string(PETDNS_SOURCE_DIR) + "/deploy/examples/example.org.zone";
  options.origin = *wire::NameFromText("example.org.");
  auto zone = zones::LoadZoneFile(options);
  EXPECT_TRUE(zone.has_value()) << (zone ? "" : zone.error().message);
  return zone ? *zone : nullptr;
}

}  // namespace petdns::testing
