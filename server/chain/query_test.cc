#include "server/chain/query.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cctype>

#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"
#include "zones/authority.h"

namespace petdns::chain {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using petdns::testing::QueryOptions;
using wire::RrType;

// A zone with big RRsets at big.t. (40 A, 60 AAAA records) and a small one at ns.t.
std::shared_ptr<const zones::CompiledZone> BigZone() {
  std::string text =
      "@ 60 IN SOA ns hostmaster 1 60 60 60 60\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n";
  for (int i = 1; i <= 40; ++i) text += "big 60 IN A 10.0.0." + std::to_string(i) + "\n";
  for (int i = 1; i <= 60; ++i) text += "big 60 IN AAAA 2001:db8::" + std::to_string(i) + "\n";
  return petdns::testing::ZoneFromText("t.", text);
}

class QueryTest : public ::testing::Test {
 protected:
  ParsedResponse Ask(std::string_view name, RrType type, const QueryOptions& options = {},
                     listener::Transport transport = listener::Transport::kUdp) {
    packet_ = MakeQuery(name, type, options);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sink_.messages.clear();
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), transport};
    Query q(request_, packet_, client, sink_, *scratch_, 1232);
    zones::Answer& answer = q.NewAnswer();
    zones::Resolve(*zone_, q.qname(), q.qname_as_received(), q.qtype(), answer);
    EXPECT_EQ(q.Reply(answer), Outcome::kReplied);
    EXPECT_EQ(sink_.messages.size(), 1u);
    return Parse(sink_.messages.back());
  }
  std::shared_ptr<const zones::CompiledZone> zone_ = BigZone();
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<QueryScratch> scratch_ = std::make_unique<QueryScratch>();
  sockaddr_in peer_{};
};

TEST_F(QueryTest, TruncatesAtRRsetBoundaryWithoutEdns) {
  auto r = Ask("big.t.", RrType::kA);  // 40 A records: 12+10+40*16 > 512
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.tc);
  EXPECT_TRUE(r.answer.empty());  // never part of an RRset
  EXPECT_LE(r.size, 512u);
  EXPECT_FALSE(r.has_opt);
}

TEST_F(QueryTest, FitsWithinEdnsPayloadAndEchoesOpt) {
  QueryOptions o;
  o.edns = true;
  o.udp_payload = 4096;
  auto r = Ask("big.t.", RrType::kA, o);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.answer.size(), 40u);
  EXPECT_TRUE(r.has_opt);
  EXPECT_EQ(r.opt_payload, 1232);  // ours, not theirs
}

TEST_F(QueryTest, CapsEdnsPayloadAtServerLimit) {
  QueryOptions o;
  o.edns = true;
  o.udp_payload = 65000;
  auto r = Ask("big.t.", RrType::kAaaa, o);  // 60 AAAA: 60 * 28 bytes > 1232
  EXPECT_TRUE(r.tc);
  EXPECT_TRUE(r.answer.empty());
  EXPECT_LE(r.size, 1232u);
  EXPECT_TRUE(r.has_opt);  // the OPT record always fits
}

TEST_F(QueryTest, TreatsTinyEdnsPayloadAs512) {
  QueryOptions o;
  o.edns = true;
  o.udp_payload = 100;
  auto r = Ask("ns.t.", RrType::kA, o);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.answer.size(), 1u);
}

TEST_F(QueryTest, TcpCarriesTheWholeAnswer) {
  auto r = Ask("big.t.", RrType::kAaaa, {}, listener::Transport::kTcp);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.answer.size(), 60u);
}

TEST_F(QueryTest, EchoesDoBitAndId) {
  QueryOptions o;
  o.edns = true;
  o.dnssec_ok = true;
  o.id = 777;
  auto r = Ask("ns.t.", RrType::kA, o);
  EXPECT_EQ(r.id, 777);
  EXPECT_TRUE(r.dnssec_ok);
  EXPECT_TRUE(r.aa);
}

TEST_F(QueryTest, ReplyRcodeKeepsQuestion) {
  packet_ = MakeQuery("Foo.t.", RrType::kA);
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), listener::Transport::kUdp};
  Query q(request_, packet_, client, sink_, *scratch_, 1232);
  q.ReplyRcode(wire::Rcode::kRefused);
  auto r = Parse(sink_.messages.back());
  EXPECT_EQ(r.rcode, 5);
  EXPECT_FALSE(r.aa);
  EXPECT_EQ(r.question, "Foo.t. IN A");
}

class CountingObserver final : public ReplyObserver {
 public:
  void OnReply(const Query& q, std::span<const uint8_t> message) noexcept override {
    ++replies;
    last_size = message.size();
    last_rcode = q.rcode();
  }
  int replies = 0;
  size_t last_size = 0;
  wire::Rcode last_rcode = wire::Rcode::kNoError;
};

TEST_F(QueryTest, ObserversSeeEveryReply) {
  packet_ = MakeQuery("ns.t.", RrType::kA);
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), listener::Transport::kUdp};
  Query q(request_, packet_, client, sink_, *scratch_, 1232);
  CountingObserver observer;
  ASSERT_TRUE(q.Observe(&observer));
  q.ReplyRcode(wire::Rcode::kRefused);
  EXPECT_EQ(observer.replies, 1);
  EXPECT_EQ(observer.last_size, sink_.messages.back().size());
  EXPECT_EQ(observer.last_rcode, wire::Rcode::kRefused);
}

TEST_F(QueryTest, ReplyWireSetsIdAndTruncatesForSmallUdpClients) {
  packet_ = MakeQuery("ns.t.", RrType::kA, QueryOptions{.id = 99});
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), listener::Transport::kUdp};
  Query q(request_, packet_, client, sink_, *scratch_, 1232);
  std::vector<uint8_t> upstream(700, 0);  // bigger than 512: must not go out as it is
  wire::WriteU16(upstream.data() + 2, wire::flags::kQr | wire::flags::kRa);
  q.ReplyWire(upstream);
  auto r = Parse(sink_.messages.back());
  EXPECT_EQ(r.id, 99);
  EXPECT_TRUE(r.tc);
  EXPECT_LE(r.size, 512u);
  EXPECT_EQ(r.question, "ns.t. IN A");
}

TEST_F(QueryTest, DetachedQueryAnswersLaterOrServFails) {
  packet_ = MakeQuery("ns.t.", RrType::kA, QueryOptions{.id = 7});
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), listener::Transport::kUdp};
  CountingObserver observer;
  Deferred held;
  {
    Query q(request_, packet_, client, sink_, *scratch_, 1232);
    q.Observe(&observer);
    held = q.Detach("forward");
  }
  packet_.assign(packet_.size(), 0);  // the original buffers are gone
  EXPECT_TRUE(sink_.messages.empty());
  EXPECT_EQ(held.query().replied_by(), "forward");
  held.query().ReplyRcode(wire::Rcode::kNxDomain);
  ASSERT_EQ(sink_.messages.size(), 1u);
  EXPECT_EQ(Parse(sink_.messages.back()).id, 7);
  EXPECT_EQ(Parse(sink_.messages.back()).question, "ns.t. IN A");
  EXPECT_EQ(observer.replies, 1);

  packet_ = MakeQuery("ns.t.", RrType::kA, QueryOptions{.id = 8});
  ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
  {
    Query q(request_, packet_, client, sink_, *scratch_, 1232);
    Deferred dropped = q.Detach("forward");
  }
  ASSERT_EQ(sink_.messages.size(), 2u);
  EXPECT_EQ(Parse(sink_.messages.back()).rcode, 2);  // SERVFAIL when dropped unanswered
  EXPECT_EQ(Parse(sink_.messages.back()).id, 8);
}

// A zone with every kind of positive answer: apex SOA/NS, CNAME, MX and SRV with in-zone targets
// (additional data), a wildcard, a delegation with glue, and a large RRset.
std::shared_ptr<const zones::CompiledZone> MixedZone() {
  std::string text =
      "@ 60 IN SOA ns hostmaster 1 60 60 60 30\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n"
      "www 60 IN A 192.0.2.10\nwww 60 IN AAAA 2001:db8::10\nalias 60 IN CNAME www\n"
      "@ 60 IN MX 10 mail\nmail 60 IN A 192.0.2.20\n"
      "web-0.svc 60 IN A 10.0.0.1\nweb-1.svc 60 IN A 10.0.0.2\nsvc 60 IN A 10.0.0.1\n"
      "svc 60 IN A 10.0.0.2\nsvc 60 IN SRV 0 50 80 web-0.svc\nsvc 60 IN SRV 0 50 80 web-1.svc\n"
      "_web._tcp.svc 60 IN SRV 0 50 80 web-0.svc\n*.wild 60 IN TXT \"w\"\n"
      "child 60 IN NS ns.child\nns.child 60 IN A 192.0.2.53\n";
  for (int i = 1; i <= 40; ++i) text += "big 60 IN A 10.1.0." + std::to_string(i) + "\n";
  return petdns::testing::ZoneFromText("t.", text);
}

// Mixed case, as clients randomise it (draft-vixie-dnsext-dns0x20): the owner pointers must
// still land on the question.
std::string ShuffleCase(std::string name) {
  for (size_t i = 0; i < name.size(); i += 2) name[i] = static_cast<char>(std::toupper(name[i]));
  return name;
}

class PrecompiledTest : public QueryTest {
 protected:
  // The reply bytes through the general path (Resolve + Reply) and through the precompiled one
  // (empty when the precompiled answer was refused).
  std::pair<std::vector<uint8_t>, std::vector<uint8_t>> BothWays(std::string_view name, RrType type,
                                                                 const QueryOptions& options = {}) {
    packet_ = MakeQuery(name, type, options);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_),
                                listener::Transport::kUdp};
    sink_.messages.clear();
    Query general(request_, packet_, client, sink_, *scratch_, 1232);
    zones::Answer& answer = general.NewAnswer();
    zones::Resolve(*zone_, general.qname(), general.qname_as_received(), general.qtype(), answer);
    EXPECT_EQ(general.Reply(answer), Outcome::kReplied);
    std::vector<uint8_t> slow = sink_.messages.back();
    Query fast(request_, packet_, client, sink_, *scratch_, 1232);
    const zones::Node* node = zone_->Find(fast.qname());
    const zones::PrecompiledAnswer* ready =
        node != nullptr ? zone_->Precompiled(*node, fast.qtype()) : nullptr;
    if (ready == nullptr || !fast.TryReplyPrecompiled(*ready)) return {slow, {}};
    return {slow, sink_.messages.back()};
  }
};

TEST_F(PrecompiledTest, SameBytesAsTheGeneralPathForEveryOwnerAndType) {
  zone_ = MixedZone();
  int compared = 0;
  for (const zones::Node& node : zone_->nodes()) {
    for (const zones::RRset& rrset : node.rrsets()) {
      std::string name = ShuffleCase(wire::NameToText(node.name()));
      for (bool edns : {false, true}) {
        QueryOptions options;
        options.edns = edns;
        options.dnssec_ok = edns;
        auto [slow, fast] = BothWays(name, rrset.type, options);
        if (fast.empty()) continue;
        EXPECT_EQ(slow, fast) << name << " type " << static_cast<int>(rrset.type);
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 20);
}

TEST_F(PrecompiledTest, AdditionalDataForSrvTargetsIsIncluded) {
  zone_ = MixedZone();
  auto [slow, fast] = BothWays("svc.t.", RrType::kSrv);
  ASSERT_FALSE(fast.empty());
  auto r = Parse(fast);
  EXPECT_EQ(r.answer.size(), 2u);
  EXPECT_EQ(r.additional.size(), 2u);
  EXPECT_TRUE(r.aa);
}

TEST_F(PrecompiledTest, NoneForReferralsCnameChasesAndAny) {
  zone_ = MixedZone();
  EXPECT_TRUE(BothWays("child.t.", RrType::kNs).second.empty());      // referral
  EXPECT_TRUE(BothWays("ns.child.t.", RrType::kA).second.empty());    // glue
  EXPECT_TRUE(BothWays("alias.t.", RrType::kA).second.empty());       // CNAME chase
  EXPECT_FALSE(BothWays("alias.t.", RrType::kCname).second.empty());  // the CNAME itself
  EXPECT_TRUE(BothWays("www.t.", RrType::kAny).second.empty());
  EXPECT_TRUE(BothWays("x.wild.t.", RrType::kTxt).second.empty());  // synthesised
}

TEST_F(PrecompiledTest, TooBigForTheClientFallsBackToTruncation) {
  zone_ = MixedZone();
  auto [slow, fast] = BothWays("big.t.", RrType::kA);  // 40 A records > 512 bytes
  EXPECT_TRUE(fast.empty());
  EXPECT_TRUE(Parse(slow).tc);
  QueryOptions options;
  options.edns = true;
  auto [slow_edns, fast_edns] = BothWays("big.t.", RrType::kA, options);
  EXPECT_EQ(slow_edns, fast_edns);
}

TEST(PrecompiledZone, OnlyWhenAskedFor) {
  zones::ZoneBuilder builder(*wire::NameFromText("t."));
  ASSERT_TRUE(builder.Add(
      *wire::NameFromText("t."), RrType::kSoa, 1, 60,
      *wire::NameFromText("ns.t.") + *wire::NameFromText("h.t.") + std::string(20, '\0')));
  ASSERT_TRUE(builder.Add(*wire::NameFromText("a.t."), RrType::kA, 1, 60, "\1\2\3\4"));
  auto zone = std::move(builder).Build();
  ASSERT_TRUE(zone);
  const zones::Node* node = (*zone)->Find(*wire::NameFromText("a.t."));
  ASSERT_NE(node, nullptr);
  EXPECT_EQ((*zone)->Precompiled(*node, RrType::kA), nullptr);
}

}  // namespace
}  // namespace petdns::chain
