#include "server/wire/request.h"

#include <gtest/gtest.h>

#include "tests/testing/dns_testing.h"

namespace petdns::wire {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::QueryOptions;

Verdict ParseBytes(const std::vector<uint8_t>& bytes, Request& out) {
  return ParseRequest(bytes, out);
}

TEST(ParseRequest, AcceptsPlainQueryAndKeepsCase) {
  Request r;
  ASSERT_EQ(ParseBytes(MakeQuery("WwW.Example.ORG.", RrType::kAaaa), r), Verdict::kAnswer);
  EXPECT_EQ(r.id, 0x1234);
  EXPECT_EQ(r.qtype, RrType::kAaaa);
  EXPECT_EQ(r.qclass, 1);
  EXPECT_TRUE(r.recursion_desired());
  EXPECT_EQ(NameToText(r.qname.view()), "WwW.Example.ORG.");
  EXPECT_EQ(NameToText(r.qname_lower.view()), "www.example.org.");
  EXPECT_FALSE(r.edns.present);
}

TEST(ParseRequest, ReadsEdns) {
  Request r;
  QueryOptions o;
  o.edns = true;
  o.udp_payload = 4096;
  o.dnssec_ok = true;
  ASSERT_EQ(ParseBytes(MakeQuery("a.", RrType::kA, o), r), Verdict::kAnswer);
  EXPECT_TRUE(r.edns.present);
  EXPECT_EQ(r.edns.udp_payload, 4096);
  EXPECT_TRUE(r.edns.dnssec_ok);
}

TEST(ParseRequest, DropsShortPacketsAndResponses) {
  Request r;
  EXPECT_EQ(ParseBytes(std::vector<uint8_t>(11, 0), r), Verdict::kDrop);
  auto q = MakeQuery("a.", RrType::kA);
  q[2] |= 0x80;  // QR
  EXPECT_EQ(ParseBytes(q, r), Verdict::kDrop);
}

TEST(ParseRequest, RejectsWrongQuestionCounts) {
  Request r;
  auto q = MakeQuery("a.", RrType::kA);
  q[5] = 0;
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
  q[5] = 2;
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, RejectsTruncatedQuestion) {
  Request r;
  auto q = MakeQuery("www.example.", RrType::kA);
  q.resize(q.size() - 2);
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, RejectsCountsThatLie) {
  Request r;
  auto q = MakeQuery("a.", RrType::kA);
  q[11] = 3;  // ARCOUNT 3, no records
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
  q[11] = 0;
  q[7] = 1;  // ANCOUNT 1
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, ReturnsNotImpForOtherOpcodesWithQuestion) {
  Request r;
  QueryOptions o;
  o.opcode = 4;  // NOTIFY
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kSoa, o), r), Verdict::kNotImp);
  EXPECT_TRUE(r.has_question);
  o.opcode = 2;  // STATUS
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kA, o), r), Verdict::kNotImp);
}

TEST(ParseRequest, RefusesOtherClasses) {
  Request r;
  QueryOptions o;
  o.qclass = 3;
  EXPECT_EQ(ParseBytes(MakeQuery("version.bind.", RrType::kTxt, o), r), Verdict::kRefused);
  o.qclass = 255;
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kA, o), r), Verdict::kAnswer);
}

TEST(ParseRequest, ReturnsBadVersForUnknownEdnsVersion) {
  Request r;
  QueryOptions o;
  o.edns = true;
  o.edns_version = 1;
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kA, o), r), Verdict::kBadVers);
}

TEST(ParseRequest, RejectsTwoOptRecords) {
  Request r;
  QueryOptions o;
  o.edns = true;
  auto q = MakeQuery("a.", RrType::kA, o);
  q.insert(q.end(), q.end() - 11, q.end());
  q[11] = 2;
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, RejectsOptOutsideAdditionalSection) {
  Request r;
  QueryOptions o;
  o.edns = true;
  auto q = MakeQuery("a.", RrType::kA, o);
  q[11] = 0;
  q[7] = 1;  // the OPT now counts as an answer record
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, RejectsOptWithBadOptionLength) {
  Request r;
  QueryOptions o;
  o.edns = true;
  auto q = MakeQuery("a.", RrType::kA, o);
  // rdlength 4: one option header claiming 10 bytes of data that are not there.
  q[q.size() - 1] = 4;
  q.insert(q.end(), {0, 10, 0, 10});
  EXPECT_EQ(ParseBytes(q, r), Verdict::kFormErr);
}

TEST(ParseRequest, HandlesMetaTypes) {
  Request r;
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kOpt), r), Verdict::kFormErr);
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kMailb), r), Verdict::kNotImp);
  EXPECT_EQ(ParseBytes(MakeQuery("a.", RrType::kAny), r), Verdict::kAnswer);
}

}  // namespace
}  // namespace petdns::wire
