#include "zones/authority.h"

#include <gtest/gtest.h>

#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"

namespace petdns::zones {
namespace {

using wire::Rcode;
using wire::RrType;

class ResolveTest : public ::testing::Test {
 protected:
  // Resolves and renders each section as "owner type" strings, the order kept.
  void Ask(std::string_view name, RrType type, const CompiledZone* zone = nullptr) {
    qname_ = wire::LowerName(*wire::NameFromText(name));
    answer_.clear();
    Resolve(zone != nullptr ? *zone : *zone_, qname_, qname_, type, answer_);
  }
  static std::vector<std::string> Render(const std::vector<AnswerRRset>& section) {
    std::vector<std::string> out;
    for (const AnswerRRset& a : section) {
      out.push_back(wire::NameToText(a.owner) + " " + std::to_string(int(a.rrset->type)) + " " +
                    std::to_string(a.ttl));
    }
    return out;
  }
  std::shared_ptr<const CompiledZone> zone_ = petdns::testing::ExampleZone();
  std::string qname_;
  Answer answer_;
};

using Lines = std::vector<std::string>;

TEST_F(ResolveTest, AnswersExactMatchAuthoritatively) {
  Ask("www.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_TRUE(answer_.authoritative);
  EXPECT_EQ(Render(answer_.answer), Lines{"www.example.org. 1 3600"});
  EXPECT_TRUE(answer_.authority.empty());
}

TEST_F(ResolveTest, NxDomainCarriesSoaWithNegativeTtl) {
  Ask("nope.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  EXPECT_TRUE(answer_.answer.empty());
  EXPECT_EQ(Render(answer_.authority), Lines{"example.org. 6 300"});  // min(3600, 300)
}

TEST_F(ResolveTest, NoDataCarriesSoa) {
  Ask("www.example.org.", RrType::kMx);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_TRUE(answer_.answer.empty());
  EXPECT_EQ(Render(answer_.authority), Lines{"example.org. 6 300"});
}

TEST_F(ResolveTest, EmptyNonTerminalIsNoData) {
  Ask("b.c.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(answer_.authority.size(), 1u);
  Ask("c.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
}

TEST_F(ResolveTest, FollowsInZoneCnameChain) {
  Ask("chain.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(Render(answer_.answer), (Lines{"chain.example.org. 5 3600", "alias.example.org. 5 3600",
                                           "www.example.org. 1 3600"}));
}

TEST_F(ResolveTest, StopsAtOutOfZoneCnameTarget) {
  Ask("outside.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(Render(answer_.answer), Lines{"outside.example.org. 5 3600"});
}

TEST_F(ResolveTest, AnswersCnameQueryWithoutChasing) {
  Ask("chain.example.org.", RrType::kCname);
  EXPECT_EQ(Render(answer_.answer), Lines{"chain.example.org. 5 3600"});
}

TEST_F(ResolveTest, SynthesisesFromWildcardWithQueryNameAsOwner) {
  Ask("anything.apps.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(Render(answer_.answer), Lines{"anything.apps.example.org. 1 3600"});
  Ask("anything.apps.example.org.", RrType::kTxt);  // wildcard exists, type does not: NODATA
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_TRUE(answer_.answer.empty());
  EXPECT_EQ(answer_.authority.size(), 1u);
}

TEST_F(ResolveTest, WildcardDoesNotCoverNamesBelowAnotherEncloser) {
  auto zone = petdns::testing::ZoneFromText("w.test.", R"(
@ 60 IN SOA ns hostmaster 1 60 60 60 60
@ 60 IN NS ns
ns 60 IN A 192.0.2.1
* 60 IN A 192.0.2.2
x.y 60 IN A 192.0.2.3
)");
  Ask("q.y.w.test.", RrType::kA, zone.get());  // closest encloser y.w.test has no wildcard
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  Ask("q.w.test.", RrType::kA, zone.get());
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(answer_.answer.size(), 1u);
  Ask("y.w.test.", RrType::kA, zone.get());  // exists (empty non-terminal): no wildcard
  EXPECT_TRUE(answer_.answer.empty());
}

TEST_F(ResolveTest, RefersBelowZoneCutWithGlue) {
  Ask("host.sub.example.org.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_FALSE(answer_.authoritative);
  EXPECT_TRUE(answer_.answer.empty());
  EXPECT_EQ(Render(answer_.authority), Lines{"sub.example.org. 2 3600"});
  EXPECT_EQ(Render(answer_.additional), Lines{"ns.sub.example.org. 1 3600"});
  Ask("sub.example.org.", RrType::kNs);
  EXPECT_FALSE(answer_.authoritative);
  Ask("ns.sub.example.org.", RrType::kA);  // glue is not authoritative data
  EXPECT_FALSE(answer_.authoritative);
}

TEST_F(ResolveTest, AnswersDsAtZoneCutFromParent) {
  Ask("sub.example.org.", RrType::kDs);
  EXPECT_TRUE(answer_.authoritative);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(answer_.authority.size(), 1u);  // NODATA: no DS in the zone
}

TEST_F(ResolveTest, AnyReturnsOneRRset) {
  Ask("www.example.org.", RrType::kAny);
  EXPECT_EQ(answer_.answer.size(), 1u);
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
}

TEST_F(ResolveTest, AddsAddressesForMxAndSrvTargets) {
  Ask("example.org.", RrType::kMx);
  EXPECT_EQ(Render(answer_.additional), Lines{"mail.example.org. 1 3600"});
  Ask("_http._tcp.example.org.", RrType::kSrv);
  EXPECT_EQ(Render(answer_.additional),
            (Lines{"www.example.org. 1 3600", "www.example.org. 28 3600"}));
}

TEST_F(ResolveTest, CnameLoopEnds) {
  auto zone = petdns::testing::ZoneFromText("loop.test.", R"(
@ 60 IN SOA ns hostmaster 1 60 60 60 60
a 60 IN CNAME b
b 60 IN CNAME a
)");
  Ask("a.loop.test.", RrType::kA, zone.get());
  EXPECT_EQ(Render(answer_.answer), (Lines{"a.loop.test. 5 60", "b.loop.test. 5 60"}));
}

TEST_F(ResolveTest, CnameToMissingNameIsNxDomainWithTheCname) {
  auto zone = petdns::testing::ZoneFromText("dangle.test.", R"(
@ 60 IN SOA ns hostmaster 1 60 60 60 30
a 60 IN CNAME missing
)");
  Ask("a.dangle.test.", RrType::kA, zone.get());
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);  // RFC 6604
  EXPECT_EQ(Render(answer_.answer), Lines{"a.dangle.test. 5 60"});
  EXPECT_EQ(Render(answer_.authority), Lines{"dangle.test. 6 30"});
}

TEST_F(ResolveTest, LongCnameChainIsCut) {
  std::string text = "@ 60 IN SOA ns hostmaster 1 60 60 60 60\n";
  for (int i = 0; i < 20; ++i) {
    text += "c" + std::to_string(i) + " 60 IN CNAME c" + std::to_string(i + 1) + "\n";
  }
  auto zone = petdns::testing::ZoneFromText("long.test.", text);
  Ask("c0.long.test.", RrType::kA, zone.get());
  EXPECT_EQ(answer_.answer.size(), 8u);
}

}  // namespace
}  // namespace petdns::zones
