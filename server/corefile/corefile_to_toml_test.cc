#include "server/corefile/corefile_to_toml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/config/config.h"

namespace petdns::corefile {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(PETDNS_SOURCE_DIR) + "/server/corefile/testdata/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The NodeLocal DNSCache Corefile as the DaemonSet's templating fills it in.
std::string NodeLocalCorefile() {
  std::string text = ReadTestdata("node-local.Corefile");
  ReplaceAll(text, "__PILLAR__DNS__DOMAIN__", "cluster.local");
  ReplaceAll(text, "__PILLAR__LOCAL__DNS__", "169.254.20.10");
  ReplaceAll(text, "__PILLAR__DNS__SERVER__", "10.96.0.10");
  ReplaceAll(text, "__PILLAR__CLUSTER__DNS__", "10.96.0.11");
  ReplaceAll(text, "__PILLAR__UPSTREAM__SERVERS__", "/etc/resolv.conf");
  return text;
}

Conversion Convert(std::string_view text) {
  auto converted = ConvertCorefile(text, "Corefile");
  EXPECT_TRUE(converted) << converted.error().message;
  return converted ? *converted : Conversion{};
}

std::vector<std::string> Subjects(const Conversion& c) {
  std::vector<std::string> out;
  for (const Issue& issue : c.issues) out.push_back(issue.subject);
  return out;
}

// The converted TOML, loaded by petdns's own config reader (plugin tables are checked by
// `petdns check` in the end-to-end tests, where the files they name exist).
config::Config Load(const Conversion& c) {
  auto loaded = config::LoadConfigFromString(c.toml, "petdns.toml");
  EXPECT_TRUE(loaded) << loaded.error().message << "\n" << c.toml;
  return loaded ? std::move(*loaded) : config::Config{};
}

const toml::table* PluginTable(const config::ServerBlock& block, const std::string& name) {
  auto it = block.plugins.find(name);
  return it == block.plugins.end() ? nullptr : it->second;
}

TEST(CorefileToToml, ConvertsKubeadmCorefile) {
  Conversion c = Convert(ReadTestdata("kubeadm.Corefile"));
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 2u) << c.toml;

  const config::ServerBlock& rest = config.servers[0];
  EXPECT_THAT(rest.zones, ElementsAre("."));
  ASSERT_EQ(rest.listen.size(), 2u);
  EXPECT_EQ(rest.listen[0].text, ":53");
  EXPECT_EQ(rest.listen[1].text, "[::]:53");
  for (const char* plugin : {"errors", "health", "ready", "metrics", "forward", "cache"}) {
    EXPECT_NE(PluginTable(rest, plugin), nullptr) << plugin;
  }
  EXPECT_EQ(PluginTable(rest, "kubernetes"), nullptr);

  const config::ServerBlock& cluster = config.servers[1];
  EXPECT_THAT(cluster.zones, ElementsAre("cluster.local.", "in-addr.arpa.", "ip6.arpa."));
  const toml::table* k8s = PluginTable(cluster, "kubernetes");
  ASSERT_NE(k8s, nullptr);
  EXPECT_EQ((*k8s)["pods"].value_or(std::string()), "insecure");
  EXPECT_EQ((*k8s)["ttl"].value_or(0), 30);
  // `cache { disable success/denial cluster.local }`: no cache in front of the cluster domain.
  EXPECT_EQ(PluginTable(cluster, "cache"), nullptr);
  // fallthrough in-addr.arpa ip6.arpa reaches forward in the same block, as in CoreDNS.
  EXPECT_NE(PluginTable(cluster, "forward"), nullptr);
  // health and ready are process-wide: written once.
  EXPECT_EQ(PluginTable(cluster, "health"), nullptr);
  EXPECT_NE(PluginTable(cluster, "metrics"), nullptr);

  EXPECT_THAT(Subjects(c), Contains("loop"));
  EXPECT_THAT(Subjects(c), Contains("loadbalance"));
  EXPECT_THAT(Subjects(c), Not(Contains("reload")));
  EXPECT_THAT(c.toml, HasSubstr("# not converted: Corefile:20: loop ("));
  EXPECT_THAT(c.toml, HasSubstr("reload (line 21): petdns reloads this file by itself"));
}

TEST(CorefileToToml, ConvertsClassicKubeadmCorefile) {
  Conversion c = Convert(ReadTestdata("kubeadm-classic.Corefile"));
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 2u) << c.toml;
  const toml::table* cache = PluginTable(config.servers[1], "cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ((*cache)["success_ttl"].value_or(std::string()), "30s");
  EXPECT_EQ((*cache)["denial_ttl"].value_or(std::string()), "30s");
  EXPECT_THAT(Subjects(c), ElementsAre("loop", "loadbalance"));
}

TEST(CorefileToToml, ConvertsNodeLocalCorefile) {
  Conversion c = Convert(NodeLocalCorefile());
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 4u) << c.toml;
  const std::vector<std::vector<std::string>> zones = {
      {"cluster.local."}, {"in-addr.arpa."}, {"ip6.arpa."}, {"."}};
  for (size_t i = 0; i < zones.size(); ++i) {
    SCOPED_TRACE(i);
    const config::ServerBlock& block = config.servers[i];
    EXPECT_EQ(block.zones, zones[i]);
    ASSERT_EQ(block.listen.size(), 2u);
    EXPECT_EQ(block.listen[0].text, "169.254.20.10:53");
    EXPECT_EQ(block.listen[1].text, "10.96.0.10:53");
    const toml::table* metrics = PluginTable(block, "metrics");
    ASSERT_NE(metrics, nullptr);  // one shared endpoint, named by every block
    EXPECT_EQ((*metrics)["listen"].value_or(std::string()), ":9253");
  }
  const toml::table* cache = PluginTable(config.servers[0], "cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ((*cache)["success_ttl"].value_or(std::string()), "30s");
  EXPECT_EQ((*cache)["denial_ttl"].value_or(std::string()), "5s");
  EXPECT_EQ((*cache)["capacity"].value_or(0), 19968);
  const toml::table* forward = PluginTable(config.servers[0], "forward");
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ((*forward)["force_tcp"].value_or(false), true);
  const toml::table* health = PluginTable(config.servers[0], "health");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ((*health)["listen"].value_or(std::string()), "169.254.20.10:8080");
  EXPECT_EQ((*PluginTable(config.servers[3], "forward"))["to"][0].value_or(std::string()),
            "/etc/resolv.conf");
  EXPECT_THAT(Subjects(c), ElementsAre("loop", "loop", "loop", "loop"));
}

TEST(CorefileToToml, ReportsUnsubstitutedNodeLocalPlaceholders) {
  auto converted = ConvertCorefile(ReadTestdata("node-local.Corefile"), "Corefile");
  ASSERT_TRUE(converted) << converted.error().message;
  EXPECT_THAT(Subjects(*converted), Contains("__PILLAR__LOCAL__DNS__"));
  EXPECT_THAT(Subjects(*converted), Contains("bind __PILLAR__LOCAL__DNS__"));
}

TEST(CorefileToToml, ListensWhereKeysAndBindSay) {
  Conversion c = Convert(
      "dns://example.org:1053 {\n"
      "  bind 127.0.0.1 ::1 eth0\n"
      "  file db.example.org\n"
      "}\n");
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 1u);
  ASSERT_EQ(config.servers[0].listen.size(), 2u);
  EXPECT_EQ(config.servers[0].listen[0].text, "127.0.0.1:1053");
  EXPECT_EQ(config.servers[0].listen[1].text, "[::1]:1053");
  EXPECT_THAT(config.servers[0].zones, ElementsAre("example.org."));
  EXPECT_THAT(Subjects(c), ElementsAre("bind eth0"));
}

TEST(CorefileToToml, KeepsBlocksOnOnePortApart) {
  Conversion c = Convert(
      "example.org:53 {\n  file db.example.org\n}\n"
      "example.net:53 {\n  file db.example.net\n}\n"
      ".:53 {\n  forward . 192.0.2.1\n}\n");
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 3u);
  EXPECT_THAT(config.servers[0].zones, ElementsAre("example.org."));
  EXPECT_THAT(config.servers[1].zones, ElementsAre("example.net."));
  EXPECT_THAT(config.servers[2].zones, ElementsAre("."));
  EXPECT_THAT(c.issues, IsEmpty());
}

TEST(CorefileToToml, GivesFileItsOriginWhenABlockHasSeveralZones) {
  Conversion c = Convert(
      ".:53 {\n  file db.example.org example.org\n  hosts {\n"
      "    192.0.2.1 www.example.org\n    fallthrough\n  }\n}\n");
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 2u) << c.toml;
  EXPECT_THAT(config.servers[1].zones, ElementsAre("example.org."));
  EXPECT_NE(PluginTable(config.servers[1], "file"), nullptr);
  EXPECT_NE(PluginTable(config.servers[1], "hosts"), nullptr);
  EXPECT_EQ(PluginTable(config.servers[0], "file"), nullptr);
}

TEST(CorefileToToml, NamesOtherTransportsAndSkipsTheirBlocks) {
  Conversion c = Convert("tls://.:853 {\n  forward . 1.1.1.1\n}\n.:53 {\n  whoami\n}\n");
  config::Config config = Load(c);
  ASSERT_EQ(config.servers.size(), 1u);
  EXPECT_THAT(Subjects(c), ElementsAre("server block tls://.:853", "server block", "whoami"));
}

TEST(CorefileToToml, WritesIssuesAsCommentsNearTheirTable) {
  Conversion c = Convert(".:53 {\n  forward . 1.1.1.1 {\n    prefer_udp\n  }\n}\n");
  EXPECT_THAT(c.toml,
              HasSubstr("[server.forward]\n# not converted: Corefile:3: forward prefer_udp ("));
  EXPECT_THAT(Subjects(c), ElementsAre("forward prefer_udp"));
}

TEST(CorefileToToml, FailsOnParseErrorsAndEmptyInput) {
  auto bad = ConvertCorefile(".:53 {\n  errors\n", "Corefile");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Corefile:1: '{' is never closed");
  auto empty = ConvertCorefile("# nothing\n", "Corefile");
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("no server block"));
}

}  // namespace
}  // namespace petdns::corefile
