#include "zones/compiled_zone.h"

#include <gtest/gtest.h>

#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"

namespace petdns::zones {
namespace {

using wire::RrType;

std::string W(std::string_view text) { return *wire::NameFromText(text); }
std::string Soa() { return W("ns.z.") + W("h.z.") + std::string(20, '\0'); }

TEST(ZoneBuilder, RequiresSoaAtApex) {
  ZoneBuilder b(W("z."));
  ASSERT_TRUE(b.Add(W("a.z."), RrType::kA, 1, 60, "\1\2\3\4"));
  auto zone = std::move(b).Build();
  ASSERT_FALSE(zone);
  EXPECT_NE(zone.error().message.find("no SOA"), std::string::npos);
}

TEST(ZoneBuilder, RejectsRecordsOutsideTheZoneAndSecondSoa) {
  ZoneBuilder b(W("z."));
  EXPECT_FALSE(b.Add(W("a.other."), RrType::kA, 1, 60, "\1\2\3\4"));
  EXPECT_FALSE(b.Add(W("a.z."), RrType::kSoa, 1, 60, Soa()));
  ASSERT_TRUE(b.Add(W("z."), RrType::kSoa, 1, 60, Soa()));
  EXPECT_FALSE(b.Add(W("z."), RrType::kSoa, 1, 60, Soa()));
  EXPECT_FALSE(b.Add(W("a.z."), RrType::kA, 3, 60, "\1\2\3\4"));  // class CH
}

TEST(ZoneBuilder, RejectsCnameBesideOtherData) {
  ZoneBuilder b(W("z."));
  ASSERT_TRUE(b.Add(W("z."), RrType::kSoa, 1, 60, Soa()));
  ASSERT_TRUE(b.Add(W("a.z."), RrType::kCname, 1, 60, W("b.z.")));
  ASSERT_TRUE(b.Add(W("a.z."), RrType::kA, 1, 60, "\1\2\3\4"));
  auto zone = std::move(b).Build();
  ASSERT_FALSE(zone);
  EXPECT_NE(zone.error().message.find("CNAME and other data"), std::string::npos);
}

TEST(ZoneBuilder, MergesDuplicatesAndKeepsLowestTtl) {
  ZoneBuilder b(W("z."));
  ASSERT_TRUE(b.Add(W("z."), RrType::kSoa, 1, 60, Soa()));
  ASSERT_TRUE(b.Add(W("A.z."), RrType::kA, 1, 60, "\1\2\3\4"));
  ASSERT_TRUE(b.Add(W("a.z."), RrType::kA, 1, 30, "\1\2\3\4"));
  ASSERT_TRUE(b.Add(W("a.z."), RrType::kA, 1, 90, "\1\2\3\5"));
  auto zone = std::move(b).Build();
  ASSERT_TRUE(zone);
  const Node* a = (*zone)->Find(W("a.z."));
  ASSERT_NE(a, nullptr);
  const RRset* rrset = a->Find(RrType::kA);
  ASSERT_NE(rrset, nullptr);
  EXPECT_EQ(rrset->rdatas.size(), 2u);
  EXPECT_EQ(rrset->ttl, 30u);
  EXPECT_EQ((*zone)->record_count(), 3u);
}

TEST(CompiledZone, CreatesEmptyNonTerminalsAndFlags) {
  auto zone = petdns::testing::ExampleZone();
  ASSERT_NE(zone, nullptr);
  const Node* ent = zone->Find(W("c.example.org."));
  ASSERT_NE(ent, nullptr);
  EXPECT_TRUE(ent->rrsets().empty());
  const Node* cut = zone->Find(W("sub.example.org."));
  ASSERT_NE(cut, nullptr);
  EXPECT_TRUE(cut->is_delegation);
  EXPECT_TRUE(zone->Find(W("ns.sub.example.org."))->below_delegation);
  EXPECT_TRUE(zone->Find(W("apps.example.org."))->has_wildcard_child);
  EXPECT_FALSE(zone->apex().is_delegation);
  EXPECT_EQ(zone->serial(), 2026112201u);
  EXPECT_EQ(zone->negative_ttl(), 300u);
  EXPECT_EQ(zone->Find(W("WWW.example.org.")), nullptr);  // keys are lower case
}

}  // namespace
}  // namespace petdns::zones
