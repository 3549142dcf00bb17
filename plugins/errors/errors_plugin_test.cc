#include "plugins/errors/errors_plugin.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "tests/testing/dns_testing.h"
#include "tests/testing/fake_runtime.h"

namespace petdns::plugins::errors {
namespace {

using petdns::testing::MakeQuery;
using namespace std::chrono_literals;

class ErrorsPluginTest : public ::testing::Test {
 protected:
  ErrorsPlugin Make(uint32_t limit) {
    return ErrorsPlugin(
        {limit, 1000ms}, &runtime_, [this] { return now_; },
        [this](std::string_view line) { lines_.emplace_back(line); });
  }
  // Runs a query through plugin → end of chain (SERVFAIL).
  void Fail(ErrorsPlugin& plugin, std::string_view name) {
    packet_ = MakeQuery(name, wire::RrType::kA);
    ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr),
                                listener::Transport::kUdp};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* chain[] = {&plugin};
    (void)chain::Next(std::span<chain::Plugin* const>(chain))(q);
  }

  std::chrono::steady_clock::time_point now_{};
  std::vector<std::string> lines_;
  petdns::testing::FakeRuntime runtime_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(ErrorsPluginTest, ReportsServfailUpToTheLimitThenSummarises) {
  ErrorsPlugin plugin = Make(2);
  plugin.OnStartup();
  for (int i = 0; i < 5; ++i) Fail(plugin, "x.example.org.");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[0], "2 x.example.org. A");
  runtime_.FireTimers();  // interval not over yet
  EXPECT_EQ(lines_.size(), 2u);
  now_ += 1s;
  runtime_.FireTimers();
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[2], "3 more errors suppressed in the last 1000ms");
  Fail(plugin, "y.example.org.");  // a new window
  EXPECT_EQ(lines_.size(), 4u);
  EXPECT_EQ(plugin.reported(), 3u);
  EXPECT_EQ(plugin.suppressed_total(), 3u);
}

TEST_F(ErrorsPluginTest, IgnoresOtherRcodes) {
  ErrorsPlugin plugin = Make(10);
  struct Nx final : chain::Plugin {
    std::string_view Name() const noexcept override { return "nx"; }
    chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
      return q.ReplyRcode(wire::Rcode::kNxDomain);
    }
  } nx;
  packet_ = MakeQuery("x.example.org.", wire::RrType::kA);
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  listener::ClientInfo client{nullptr, listener::Transport::kUdp};
  chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
  chain::Plugin* chain[] = {&plugin, &nx};
  (void)chain::Next(std::span<chain::Plugin* const>(chain))(q);
  EXPECT_TRUE(lines_.empty());
}

}  // namespace
}  // namespace petdns::plugins::errors
