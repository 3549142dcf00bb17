#include "server/wire/message_writer.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/testing/dns_testing.h"

namespace petdns::wire {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;

class MessageWriterTest : public ::testing::Test {
 protected:
  void Begin(std::string_view qname, RrType type) {
    packet_ = MakeQuery(qname, type);
    ASSERT_EQ(ParseRequest(packet_, request_), Verdict::kAnswer);
    writer_.BeginResponse(request_);
  }
  std::array<uint8_t, 4096> buffer_{};
  MessageWriter writer_{buffer_};
  std::vector<uint8_t> packet_;
  Request request_;
};

std::vector<uint8_t> A(uint8_t last) { return {192, 0, 2, last}; }

TEST_F(MessageWriterTest, CompressesOwnerEqualToQuestionToOffset12) {
  Begin("WWW.example.org.", RrType::kA);
  auto rdata = A(1);
  ASSERT_TRUE(writer_.AppendRecord(Section::kAnswer, *NameFromText("www.example.org."), RrType::kA,
                                   1, 300, rdata));
  auto msg = writer_.Message();
  size_t owner_at = kHeaderSize + request_.qname.length + 4;
  EXPECT_EQ(msg[owner_at], 0xC0);
  EXPECT_EQ(msg[owner_at + 1], 12);
  auto parsed = Parse(msg);
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.answer, std::vector<std::string>{"WWW.example.org. 300 IN A 192.0.2.1"});
  EXPECT_TRUE(parsed.qr);
  EXPECT_TRUE(parsed.rd);
}

TEST_F(MessageWriterTest, CompressesSuffixesInsideRdata) {
  Begin("example.org.", RrType::kMx);
  std::string mx = std::string("\0\12", 2) + *NameFromText("mail.example.org.");
  ASSERT_TRUE(
      writer_.AppendRecord(Section::kAnswer, *NameFromText("example.org."), RrType::kMx, 1, 60,
                           std::span(reinterpret_cast<const uint8_t*>(mx.data()), mx.size())));
  // owner (2) + fixed (10) + preference (2) + "mail" label (5) + pointer (2)
  EXPECT_EQ(writer_.size(), kHeaderSize + 13 + 4 + 2 + 10 + 2 + 5 + 2);
  EXPECT_EQ(Parse(writer_.Message()).answer,
            std::vector<std::string>{"example.org. 60 IN MX 10 mail.example.org."});
}

TEST_F(MessageWriterTest, RefusesRecordsPastTheLimitAndLeavesMessageUnchanged) {
  Begin("a.example.", RrType::kA);
  writer_.SetLimit(writer_.size() + 16 + 5);  // room for one compressed A record only
  auto rdata = A(1);
  ASSERT_TRUE(
      writer_.AppendRecord(Section::kAnswer, *NameFromText("a.example."), RrType::kA, 1, 1, rdata));
  size_t before = writer_.size();
  EXPECT_FALSE(
      writer_.AppendRecord(Section::kAnswer, *NameFromText("a.example."), RrType::kA, 1, 1, rdata));
  EXPECT_EQ(writer_.size(), before);
  EXPECT_EQ(writer_.Count(Section::kAnswer), 1);
}

TEST_F(MessageWriterTest, RollbackUndoesRecordsAndCounts) {
  Begin("a.example.", RrType::kA);
  auto mark = writer_.Mark();
  auto rdata = A(2);
  ASSERT_TRUE(writer_.AppendRecord(Section::kAuthority, *NameFromText("b.example."), RrType::kA, 1,
                                   1, rdata));
  writer_.Rollback(mark);
  EXPECT_EQ(writer_.Count(Section::kAuthority), 0);
  auto parsed = Parse(writer_.Message());
  EXPECT_TRUE(parsed.authority.empty());
}

TEST_F(MessageWriterTest, PutsExtendedRcodeIntoOpt) {
  Begin("a.example.", RrType::kA);
  writer_.Reserve(kOptRecordSize);
  writer_.SetRcode(Rcode::kBadVers);
  ASSERT_TRUE(writer_.AppendOpt(1232, true));
  auto parsed = Parse(writer_.Message());
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.rcode, 16);
  EXPECT_TRUE(parsed.has_opt);
  EXPECT_EQ(parsed.opt_payload, 1232);
  EXPECT_TRUE(parsed.dnssec_ok);
}

}  // namespace
}  // namespace petdns::wire
