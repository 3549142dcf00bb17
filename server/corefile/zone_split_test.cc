#include "server/corefile/zone_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace petdns::corefile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PluginInstance Instance(std::string plugin, std::vector<std::string> zones = {},
                        uint32_t line = 1) {
  PluginInstance p;
  p.directive = plugin;
  p.line = line;
  p.table.plugin = std::move(plugin);
  p.zones = std::move(zones);
  p.per_zone = p.table.plugin == "file";
  return p;
}

TEST(ZoneSplit, KeepsOneBlockWhenEveryPluginCoversEveryZone) {
  ZoneSplit split = SplitByZone({"."}, {Instance("errors"), Instance("forward", {"."})}, {});
  ASSERT_EQ(split.groups.size(), 1u);
  EXPECT_THAT(split.groups[0].zones, ElementsAre("."));
  EXPECT_THAT(split.groups[0].instances, ElementsAre(0, 1));
  EXPECT_THAT(split.issues, IsEmpty());
}

TEST(ZoneSplit, GivesKubernetesZonesTheirOwnBlock) {
  // kubeadm: `.:53 { kubernetes cluster.local in-addr.arpa ip6.arpa; forward . ...; cache 30 }`
  ZoneSplit split =
      SplitByZone({"."},
                  {Instance("kubernetes", {"cluster.local.", "in-addr.arpa.", "ip6.arpa."}),
                   Instance("forward", {"."}), Instance("cache")},
                  {});
  ASSERT_EQ(split.groups.size(), 2u);
  EXPECT_THAT(split.groups[0].zones, ElementsAre("."));
  EXPECT_THAT(split.groups[0].instances, ElementsAre(1, 2));
  EXPECT_THAT(split.groups[1].zones, ElementsAre("cluster.local.", "in-addr.arpa.", "ip6.arpa."));
  EXPECT_THAT(split.groups[1].instances, ElementsAre(0, 1, 2));
  EXPECT_THAT(split.issues, IsEmpty());
}

TEST(ZoneSplit, LeavesExcludedZonesOutOfThePlugin) {
  PluginInstance cache = Instance("cache");
  cache.excluded_zones = {"cluster.local."};
  ZoneSplit split = SplitByZone({"."},
                                {Instance("kubernetes", {"cluster.local.", "in-addr.arpa."}),
                                 Instance("forward", {"."}), cache},
                                {});
  ASSERT_EQ(split.groups.size(), 2u);
  EXPECT_THAT(split.groups[0].instances, ElementsAre(1, 2));
  // The kubernetes zones stay together and follow cluster.local: no cache for in-addr.arpa.
  EXPECT_THAT(split.groups[1].zones, ElementsAre("cluster.local.", "in-addr.arpa."));
  EXPECT_THAT(split.groups[1].instances, ElementsAre(0, 1));
  ASSERT_EQ(split.issues.size(), 1u);
  EXPECT_EQ(split.issues[0].subject, "cache");
  EXPECT_THAT(split.issues[0].reason, HasSubstr("not applied to in-addr.arpa."));
}

TEST(ZoneSplit, ServesEachFileZoneInItsOwnBlock) {
  ZoneSplit split =
      SplitByZone({"example.org.", "example.net."}, {Instance("file", {}), Instance("log")}, {});
  ASSERT_EQ(split.groups.size(), 2u);
  EXPECT_THAT(split.groups[0].zones, ElementsAre("example.org."));
  EXPECT_THAT(split.groups[1].zones, ElementsAre("example.net."));
}

TEST(ZoneSplit, CutsPluginZonesDownToTheBlock) {
  ZoneSplit split =
      SplitByZone({"example.org."}, {Instance("forward", {"."}), Instance("hosts", {"lan."})}, {});
  ASSERT_EQ(split.groups.size(), 1u);
  EXPECT_THAT(split.groups[0].zones, ElementsAre("example.org."));
  EXPECT_THAT(split.groups[0].instances, ElementsAre(0));  // hosts lan. is never asked here
}

TEST(ZoneSplit, DropsZonesAnotherBlockAnswers) {
  // `cluster.local:53 { ... }` exists too, so `.:53`'s kubernetes never sees cluster.local.
  ZoneSplit split =
      SplitByZone({"."}, {Instance("kubernetes", {"cluster.local."}), Instance("forward", {"."})},
                  {"cluster.local."});
  ASSERT_EQ(split.groups.size(), 1u);
  EXPECT_THAT(split.groups[0].zones, ElementsAre("."));
  EXPECT_THAT(split.groups[0].instances, ElementsAre(1));
}

TEST(ZoneSplit, KeepsTheFirstOfTwoInstancesOfAPlugin) {
  PluginInstance first = Instance("hosts", {}, 2);
  first.falls_through = true;
  ZoneSplit split = SplitByZone({"."}, {first, Instance("hosts", {}, 5)}, {});
  ASSERT_EQ(split.groups.size(), 1u);
  EXPECT_THAT(split.groups[0].instances, ElementsAre(0));
  ASSERT_EQ(split.issues.size(), 1u);
  EXPECT_EQ(split.issues[0].line, 5u);

  // Without fallthrough the second one is never reached in CoreDNS either: nothing to report.
  ZoneSplit forward =
      SplitByZone({"."}, {Instance("forward", {"example.org."}), Instance("forward", {"."})}, {});
  ASSERT_EQ(forward.groups.size(), 2u);
  EXPECT_THAT(forward.groups[1].zones, ElementsAre("example.org."));
  EXPECT_THAT(forward.groups[1].instances, ElementsAre(0));
  EXPECT_THAT(forward.issues, IsEmpty());
}

TEST(ZoneSplit, RefusesKubernetesWithReverseZonesOnly) {
  ZoneSplit split = SplitByZone({"."}, {Instance("kubernetes", {"in-addr.arpa."})}, {});
  ASSERT_EQ(split.issues.size(), 1u);
  EXPECT_THAT(split.issues[0].reason, HasSubstr("cluster domain"));
  ASSERT_EQ(split.groups.size(), 1u);
  EXPECT_THAT(split.groups[0].instances, IsEmpty());
}

}  // namespace
}  // namespace petdns::corefile
