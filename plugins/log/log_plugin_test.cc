#include "plugins/log/log_plugin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <array>
#include <regex>
#include <string>

#include "tests/testing/dns_testing.h"

namespace petdns::plugins::log {
namespace {

using petdns::testing::MakeQuery;
using wire::RrType;

// Answers with a fixed rcode and optionally one A record.
class Stub final : public chain::Plugin {
 public:
  std::string_view Name() const noexcept override { return "stub"; }
  chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    zones::Answer& answer = q.NewAnswer();
    answer.rcode = rcode;
    if (with_answer) answer.answer.push_back({q.qname_as_received(), &rrset, 60});
    return q.Reply(answer);
  }
  wire::Rcode rcode = wire::Rcode::kNoError;
  bool with_answer = true;
  zones::RRset rrset{wire::RrType::kA, 1, 60, {std::string("\x0a\x00\x00\x01", 4)}};
};

class LogPluginTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe2(fds_.data(), O_NONBLOCK), 0); }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  std::string Run(LogPlugin& plugin, std::string_view name, RrType type,
                  listener::Transport transport = listener::Transport::kUdp) {
    petdns::testing::QueryOptions options;
    options.edns = true;
    options.dnssec_ok = true;
    packet_ = MakeQuery(name, type, options);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(40212);
    inet_pton(AF_INET, "192.0.2.7", &addr.sin_addr);
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr), transport};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    q.set_received_at(std::chrono::steady_clock::now());
    chain::Plugin* chain[] = {&plugin, &stub_};
    (void)chain::Next(std::span<chain::Plugin* const>(chain))(q);
    std::array<char, 4096> buf;
    ssize_t n = ::read(fds_[0], buf.data(), buf.size());
    return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
  }

  std::array<int, 2> fds_{};
  Stub stub_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(LogPluginTest, WritesOneCoreDnsStyleLinePerQuery) {
  LogPlugin plugin(ClassMask("all"), fds_[1]);
  std::string line = Run(plugin, "WWW.Example.org.", RrType::kAaaa, listener::Transport::kTcp);
  std::regex expected(
      R"(\[INFO\] 192\.0\.2\.7:40212 - 4660 "AAAA IN www\.example\.org\. tcp \d+ true 1232" )"
      R"(NOERROR qr,aa,rd \d+ \d+\.\d+s\n)");
  EXPECT_TRUE(std::regex_match(line, expected)) << line;
  ASSERT_EQ(sink_.messages.size(), 1u);
  EXPECT_NE(line.find(" " + std::to_string(sink_.messages[0].size()) + " "), std::string::npos);
}

TEST_F(LogPluginTest, ClassFilterSelectsSuccessDenialOrError) {
  LogPlugin denial(ClassMask("denial"), fds_[1]);
  EXPECT_EQ(Run(denial, "a.example.org.", RrType::kA), "");  // success: filtered out
  stub_.rcode = wire::Rcode::kNxDomain;
  stub_.with_answer = false;
  EXPECT_NE(Run(denial, "a.example.org.", RrType::kA).find("NXDOMAIN"), std::string::npos);
  stub_.rcode = wire::Rcode::kNoError;  // NODATA
  EXPECT_NE(Run(denial, "a.example.org.", RrType::kA).find("NOERROR"), std::string::npos);
  stub_.rcode = wire::Rcode::kServFail;
  EXPECT_EQ(Run(denial, "a.example.org.", RrType::kA), "");
  LogPlugin error(ClassMask("error"), fds_[1]);
  EXPECT_NE(Run(error, "a.example.org.", RrType::kA).find("SERVFAIL qr,aa,rd"), std::string::npos);
}

// A response header (NOERROR unless `rcode`), the question "a." A, then `authority` records of
// the given types owned by the root.
std::vector<uint8_t> Response(uint16_t ancount, const std::vector<uint16_t>& authority,
                              uint8_t rcode = 0) {
  std::vector<uint8_t> m = {0x12, 0x34,
                            0x84, rcode,
                            0,    1,
                            0,    static_cast<uint8_t>(ancount),
                            0,    static_cast<uint8_t>(authority.size()),
                            0,    0};
  m.insert(m.end(), {1, 'a', 0, 0, 1, 0, 1});
  for (uint16_t type : authority) {
    m.insert(m.end(), {0, 0, static_cast<uint8_t>(type), 0, 1, 0, 0, 0, 60, 0, 1, 0});
  }
  return m;
}

TEST(Classify, SortsResponsesLikeCoreDns) {
  EXPECT_EQ(Classify(Response(0, {6})), ResponseClass::kDenial);      // NODATA with SOA
  EXPECT_EQ(Classify(Response(0, {})), ResponseClass::kDenial);       // NODATA without SOA
  EXPECT_EQ(Classify(Response(0, {2, 2})), ResponseClass::kSuccess);  // referral
  EXPECT_EQ(Classify(Response(0, {}, 3)), ResponseClass::kDenial);    // NXDOMAIN
  EXPECT_EQ(Classify(Response(0, {}, 5)), ResponseClass::kError);     // REFUSED
  EXPECT_EQ(Classify({}), ResponseClass::kError);
  EXPECT_EQ(ClassMask("bogus"), 0);
  EXPECT_EQ(ClassMask("all"), 7);
}

}  // namespace
}  // namespace petdns::plugins::log
