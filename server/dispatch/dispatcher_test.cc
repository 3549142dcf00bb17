#include "server/dispatch/dispatcher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "server/rrl/rate_limiter.h"
#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"

namespace petdns::dispatch {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using petdns::testing::QueryOptions;
using wire::RrType;

// Replies with a fixed rcode so tests can tell which block answered.
class FixedPlugin final : public chain::Plugin {
 public:
  explicit FixedPlugin(wire::Rcode rcode) : rcode_(rcode) {}
  std::string_view Name() const noexcept override { return "fixed"; }
  chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    zone_seen = std::string(q.zone());
    return q.ReplyRcode(rcode_);
  }
  std::string zone_seen;

 private:
  wire::Rcode rcode_;
};

std::unique_ptr<chain::Chain> MakeChain(wire::Rcode rcode, std::string_view zone,
                                        FixedPlugin** plugin) {
  auto p = std::make_unique<FixedPlugin>(rcode);
  *plugin = p.get();
  std::vector<chain::PluginPtr> plugins;
  plugins.push_back(std::move(p));
  return std::make_unique<chain::Chain>(std::move(plugins),
                                        std::vector<std::string>{*wire::NameFromText(zone)});
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : parent_(MakeChain(wire::Rcode::kNoError, "example.org.", &parent_plugin_)),
        child_(MakeChain(wire::Rcode::kNxDomain, "sub.example.org.", &child_plugin_)),
        dispatcher_({parent_.get(), child_.get()}, 1232) {}

  std::vector<std::vector<uint8_t>> Send(const std::vector<uint8_t>& packet) {
    sink_.messages.clear();
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_),
                                listener::Transport::kUdp};
    dispatcher_.HandlePacket(packet, client, sink_);
    return sink_.messages;
  }
  ParsedResponse Ask(const std::vector<uint8_t>& packet) {
    auto messages = Send(packet);
    EXPECT_EQ(messages.size(), 1u);
    return messages.empty() ? ParsedResponse{} : Parse(messages.front());
  }

  FixedPlugin* parent_plugin_ = nullptr;
  FixedPlugin* child_plugin_ = nullptr;
  std::unique_ptr<chain::Chain> parent_, child_;
  Dispatcher dispatcher_;
  petdns::testing::RecordingSink sink_;
  sockaddr_in peer_{};
};

TEST_F(DispatcherTest, RoutesToLongestMatchingZone) {
  EXPECT_EQ(Ask(MakeQuery("www.example.org.", RrType::kA)).rcode, 0);
  EXPECT_EQ(Ask(MakeQuery("a.b.SUB.example.org.", RrType::kA)).rcode, 3);
  EXPECT_EQ(child_plugin_->zone_seen, *wire::NameFromText("sub.example.org."));
  EXPECT_EQ(Ask(MakeQuery("sub.example.org.", RrType::kA)).rcode, 3);
  EXPECT_EQ(Ask(MakeQuery("xsub.example.org.", RrType::kA)).rcode, 0);
}

TEST_F(DispatcherTest, RefusesNamesOutsideEveryZone) {
  auto r = Ask(MakeQuery("example.com.", RrType::kA));
  EXPECT_EQ(r.rcode, 5);
  EXPECT_EQ(r.question, "example.com. IN A");
  EXPECT_EQ(Ask(MakeQuery("org.", RrType::kA)).rcode, 5);
  EXPECT_EQ(dispatcher_.stats().refused, 2u);
}

TEST_F(DispatcherTest, AnswersProtocolErrors) {
  auto q = MakeQuery("www.example.org.", RrType::kA);
  q[5] = 2;  // QDCOUNT 2
  EXPECT_EQ(Ask(q).rcode, 1);
  QueryOptions o;
  o.opcode = 5;  // UPDATE
  EXPECT_EQ(Ask(MakeQuery("example.org.", RrType::kSoa, o)).rcode, 4);
  o = {};
  o.qclass = 3;
  EXPECT_EQ(Ask(MakeQuery("www.example.org.", RrType::kA, o)).rcode, 5);
  o = {};
  o.edns = true;
  o.edns_version = 2;
  auto badvers = Ask(MakeQuery("www.example.org.", RrType::kA, o));
  EXPECT_EQ(badvers.rcode, 16);
  EXPECT_TRUE(badvers.has_opt);
}

TEST_F(DispatcherTest, DropsUnreadableHeadersAndResponses) {
  EXPECT_TRUE(Send(std::vector<uint8_t>(5, 0)).empty());
  auto q = MakeQuery("www.example.org.", RrType::kA);
  q[2] |= 0x80;
  EXPECT_TRUE(Send(q).empty());
  EXPECT_EQ(dispatcher_.stats().dropped, 2u);
}

TEST_F(DispatcherTest, FormErrWithoutQuestionWhenItIsUnreadable) {
  std::vector<uint8_t> q = {0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  auto messages = Send(q);
  ASSERT_EQ(messages.size(), 1u);
  auto r = Parse(messages.front());
  EXPECT_EQ(r.rcode, 1);
  EXPECT_EQ(r.id, 7);
  EXPECT_TRUE(r.question.empty());
}

TEST(DispatcherMetrics, CountsMalformedInputByReason) {
  FixedPlugin* plugin = nullptr;
  auto chain = MakeChain(wire::Rcode::kNoError, "example.org.", &plugin);
  prometheus::Registry registry;
  DispatchMetrics metrics(registry);
  Dispatcher dispatcher({chain.get()}, 1232, &metrics);
  petdns::testing::RecordingSink sink;
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  const listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer),
                                    listener::Transport::kUdp};
  auto send = [&](std::vector<uint8_t> packet) { dispatcher.HandlePacket(packet, client, sink); };

  send(std::vector<uint8_t>(5, 0));
  auto q = MakeQuery("www.example.org.", RrType::kA);
  q[5] = 2;  // QDCOUNT 2
  send(q);
  send({0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1});  // pointer loop
  q = MakeQuery("www.example.org.", RrType::kA);
  q[11] = 1;  // ARCOUNT 1, no record
  send(q);
  dispatcher.OnDroppedInput(listener::DroppedInput::kTcpReadTimeout);
  send(MakeQuery("www.example.org.", RrType::kA));  // fine: not counted

  EXPECT_EQ(metrics.Value(InputReason::kShortHeader), 1);
  EXPECT_EQ(metrics.Value(InputReason::kQuestionCount), 1);
  EXPECT_EQ(metrics.Value(InputReason::kBadQuestion), 1);
  EXPECT_EQ(metrics.Value(InputReason::kBadRecord), 1);
  EXPECT_EQ(metrics.Value(InputReason::kTcpReadTimeout), 1);
  EXPECT_EQ(metrics.Value(InputReason::kResponse), 0);
  EXPECT_EQ(InputReasonName(InputReason::kBadOpt), "bad_opt");
}

TEST(DispatcherRrl, LimitsUdpWithSlipsAndLeavesTcpAlone) {
  FixedPlugin* plugin = nullptr;
  auto chain = MakeChain(wire::Rcode::kNoError, "example.org.", &plugin);
  Dispatcher dispatcher({chain.get()}, 1232);
  rrl::RateLimiterSettings settings;
  settings.responses_per_second = 3;
  settings.slip = 1;  // every limited answer is slipped
  dispatcher.SetRateLimiter(std::make_unique<rrl::RateLimiter>(std::move(settings)));
  petdns::testing::RecordingSink sink;
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  const auto query = MakeQuery("www.example.org.", RrType::kA);
  for (int i = 0; i < 10; ++i) {
    dispatcher.HandlePacket(
        query, {reinterpret_cast<const sockaddr*>(&peer), listener::Transport::kUdp}, sink);
  }
  ASSERT_EQ(sink.messages.size(), 10u);  // within one second: 3 answers, 7 slips
  int truncated = 0;
  for (const auto& m : sink.messages) {
    if ((m[2] & 0x02) == 0) continue;
    ++truncated;
    EXPECT_EQ(m[7], 0);  // ANCOUNT 0
    EXPECT_EQ(Parse(m).question, "www.example.org. IN A");
  }
  EXPECT_GE(truncated, 6);  // 7, or 6 if the second turned over mid-loop
  sink.messages.clear();
  for (int i = 0; i < 10; ++i) {
    dispatcher.HandlePacket(
        query, {reinterpret_cast<const sockaddr*>(&peer), listener::Transport::kTcp}, sink);
  }
  ASSERT_EQ(sink.messages.size(), 10u);
  for (const auto& m : sink.messages) EXPECT_EQ(m[2] & 0x02, 0);
}

}  // namespace
}  // namespace petdns::dispatch
