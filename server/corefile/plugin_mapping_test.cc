#include "server/corefile/plugin_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/corefile/corefile_parser.h"

namespace petdns::corefile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Maps the only directive of ".:53 { <text> }". Directive-level issues land in `issues`.
struct Mapped {
  std::optional<PluginInstance> instance;
  std::vector<Issue> issues;

  // The TOML value of `key`, or "<unset>".
  std::string Value(std::string_view key) const {
    if (!instance) return "<no instance>";
    for (const TomlKey& k : instance->table.keys) {
      if (k.key == key) return k.value;
    }
    return "<unset>";
  }
  std::vector<std::string> IssueSubjects() const {
    std::vector<std::string> out;
    for (const Issue& i : issues) out.push_back(i.subject);
    if (instance) {
      for (const Issue& i : instance->issues) out.push_back(i.subject);
    }
    return out;
  }
};

Mapped Map(const std::string& directive) {
  Mapped out;
  auto parsed = ParseCorefile(".:53 {\n" + directive + "\n}\n", "Corefile");
  EXPECT_TRUE(parsed) << parsed.error().message;
  if (!parsed) return out;
  out.instance = MapDirective(parsed->blocks.at(0).directives.at(0), out.issues);
  return out;
}

TEST(PluginMapping, KubernetesOptions) {
  Mapped m =
      Map("kubernetes cluster.local 10.0.0.0/8 {\n"
          "  kubeconfig /etc/kube.conf\n"
          "  pods verified\n"
          "  namespaces default kube-system\n"
          "  endpoint_pod_names\n"
          "  ttl 30\n"
          "  fallthrough in-addr.arpa\n"
          "  ignore empty_service\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.instance->table.plugin, "kubernetes");
  EXPECT_THAT(m.instance->zones, ElementsAre("cluster.local.", "10.in-addr.arpa."));
  EXPECT_EQ(m.Value("kubeconfig"), "\"/etc/kube.conf\"");
  EXPECT_EQ(m.Value("pods"), "\"verified\"");
  EXPECT_EQ(m.Value("namespaces"), "[\"default\", \"kube-system\"]");
  EXPECT_EQ(m.Value("endpoint_pod_names"), "true");
  EXPECT_EQ(m.Value("ttl"), "30");
  EXPECT_EQ(m.Value("fallthrough"), "[\"in-addr.arpa.\"]");
  EXPECT_EQ(m.Value("ignore_empty_service"), "true");
  EXPECT_TRUE(m.instance->falls_through);
  EXPECT_THAT(m.IssueSubjects(), IsEmpty());
}

TEST(PluginMapping, KubernetesOptionsPetdnsLacksAreNamed) {
  Mapped m =
      Map("kubernetes cluster.local {\n"
          "  endpoint https://10.0.0.1:6443\n"
          "  labels app=dns\n"
          "  noendpoints\n"
          "  ttl 7200\n"
          "  bogus\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_THAT(m.IssueSubjects(),
              ElementsAre("kubernetes endpoint", "kubernetes labels", "kubernetes noendpoints",
                          "kubernetes ttl", "kubernetes bogus"));
  EXPECT_EQ(m.instance->issues[0].line, 3u);
  EXPECT_THAT(m.instance->issues[0].reason, HasSubstr("kubeconfig"));
  EXPECT_EQ(m.Value("ttl"), "<unset>");
}

TEST(PluginMapping, FileWithZonesAndCoreDnsReloadDefault) {
  Mapped m = Map("file /zones/db.example example.org example.net");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.Value("path"), "\"/zones/db.example\"");
  EXPECT_EQ(m.Value("reload"), "\"1m\"");
  EXPECT_THAT(m.instance->zones, ElementsAre("example.org.", "example.net."));
  EXPECT_TRUE(m.instance->per_zone);

  Mapped reload = Map("file db.example {\n  reload 10s\n}");
  EXPECT_EQ(reload.Value("reload"), "\"10s\"");
  EXPECT_THAT(reload.IssueSubjects(), IsEmpty());

  Mapped missing = Map("file");
  EXPECT_FALSE(missing.instance);
  EXPECT_THAT(missing.IssueSubjects(), ElementsAre("file"));
}

TEST(PluginMapping, HostsInlineEntriesAndOptions) {
  Mapped m =
      Map("hosts /etc/coredns/NodeHosts example.org {\n"
          "  10.0.0.1 db.example.org db\n"
          "  fd00::1 v6.example.org\n"
          "  ttl 60\n"
          "  reload 15s\n"
          "  no_reverse\n"
          "  fallthrough\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.Value("path"), "\"/etc/coredns/NodeHosts\"");
  EXPECT_EQ(m.Value("entries"), "[\"10.0.0.1 db.example.org db\", \"fd00::1 v6.example.org\"]");
  EXPECT_EQ(m.Value("ttl"), "60");
  EXPECT_EQ(m.Value("reload"), "\"15s\"");
  EXPECT_EQ(m.Value("no_reverse"), "true");
  EXPECT_EQ(m.Value("fallthrough"), "true");
  EXPECT_THAT(m.instance->zones, ElementsAre("example.org."));
  EXPECT_THAT(m.IssueSubjects(), IsEmpty());

  // CoreDNS reads /etc/hosts besides inline entries; petdns only when told.
  Mapped inline_only = Map("hosts {\n  10.0.0.1 a.example\n}");
  EXPECT_EQ(inline_only.Value("path"), "\"/etc/hosts\"");
}

TEST(PluginMapping, CacheWithCoreDnsDefaults) {
  Mapped m = Map("cache");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.Value("capacity"), "19968");
  EXPECT_EQ(m.Value("success_ttl"), "\"1h\"");
  EXPECT_EQ(m.Value("denial_ttl"), "\"30m\"");
  EXPECT_EQ(m.Value("min_ttl"), "\"5s\"");
  EXPECT_EQ(m.Value("prefetch"), "0");
  EXPECT_EQ(m.Value("serve_stale"), "\"0s\"");

  Mapped ttl = Map("cache 30 example.org");
  EXPECT_EQ(ttl.Value("success_ttl"), "\"30s\"");
  EXPECT_EQ(ttl.Value("denial_ttl"), "\"30s\"");
  EXPECT_THAT(ttl.instance->zones, ElementsAre("example.org."));
}

TEST(PluginMapping, CacheBlockOptions) {
  Mapped m =
      Map("cache {\n"
          "  success 9984 30\n"
          "  denial 5000 5 1\n"
          "  prefetch 10 1m 10%\n"
          "  serve_stale 2h\n"
          "  disable success cluster.local\n"
          "  disable denial cluster.local\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.Value("capacity"), "14984");
  EXPECT_EQ(m.Value("success_ttl"), "\"30s\"");
  EXPECT_EQ(m.Value("denial_ttl"), "\"5s\"");
  EXPECT_EQ(m.Value("min_ttl"), "\"1s\"");
  EXPECT_EQ(m.Value("prefetch"), "10");
  EXPECT_EQ(m.Value("serve_stale"), "\"2h\"");
  EXPECT_THAT(m.instance->excluded_zones, ElementsAre("cluster.local."));
  EXPECT_THAT(m.IssueSubjects(), ElementsAre("cache MINTTL"));  // 5 and 1 differ
}

TEST(PluginMapping, CacheOptionsPetdnsLacksAreNamed) {
  Mapped m =
      Map("cache {\n"
          "  prefetch 5 10m 20%\n"
          "  serve_stale 1h immediate\n"
          "  servfail 10s\n"
          "  disable success example.org\n"
          "  keepttl\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_THAT(m.IssueSubjects(),
              ElementsAre("cache prefetch 10m", "cache prefetch 20%", "cache serve_stale immediate",
                          "cache servfail", "cache keepttl", "cache disable success example.org."));
  EXPECT_EQ(m.Value("serve_stale"), "\"1h\"");
  EXPECT_THAT(m.instance->excluded_zones, IsEmpty());
}

TEST(PluginMapping, ForwardOptions) {
  Mapped m =
      Map("forward example.org dns://10.0.0.1 10.0.0.2:5353 [fd00::1]:53 /etc/resolv.conf {\n"
          "  except internal.example.org\n"
          "  force_tcp\n"
          "  expire 20s\n"
          "  max_fails 3\n"
          "  policy sequential\n"
          "  health_check 0.5s\n"
          "  max_concurrent 1000\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_THAT(m.instance->zones, ElementsAre("example.org."));
  EXPECT_EQ(m.Value("to"),
            "[\"10.0.0.1\", \"10.0.0.2:5353\", \"[fd00::1]:53\", \"/etc/resolv.conf\"]");
  EXPECT_EQ(m.Value("except"), "[\"internal.example.org.\"]");
  EXPECT_EQ(m.Value("force_tcp"), "true");
  EXPECT_EQ(m.Value("expire"), "\"20s\"");
  EXPECT_EQ(m.Value("max_fails"), "3");
  EXPECT_EQ(m.Value("policy"), "\"sequential\"");
  EXPECT_EQ(m.Value("health_check"), "\"500ms\"");
  EXPECT_EQ(m.Value("max_concurrent"), "1000");
  EXPECT_THAT(m.IssueSubjects(), IsEmpty());

  EXPECT_EQ(Map("forward . 1.1.1.1").Value("max_concurrent"), "0");  // CoreDNS: no limit
}

TEST(PluginMapping, ForwardOptionsPetdnsLacksAreNamed) {
  Mapped m =
      Map("forward . tls://1.1.1.1 8.8.8.8 {\n"
          "  prefer_udp\n"
          "  tls_servername dns.google\n"
          "  next NXDOMAIN\n"
          "  health_check 1s no_rec\n"
          "}");
  ASSERT_TRUE(m.instance);
  EXPECT_EQ(m.Value("to"), "[\"8.8.8.8\"]");
  EXPECT_THAT(m.IssueSubjects(),
              ElementsAre("forward tls://1.1.1.1", "forward prefer_udp", "forward tls_servername",
                          "forward next", "forward health_check no_rec"));

  Mapped only_tls = Map("forward . tls://1.1.1.1");
  EXPECT_FALSE(only_tls.instance);
  EXPECT_THAT(only_tls.IssueSubjects(), ElementsAre("forward"));
}

TEST(PluginMapping, EndpointsListenWhereCoreDnsWould) {
  EXPECT_EQ(Map("prometheus").Value("listen"), "\"127.0.0.1:9153\"");  // CoreDNS: localhost:9153
  EXPECT_EQ(Map("prometheus :9253").Value("listen"), "\":9253\"");
  EXPECT_EQ(Map("prometheus [::1]:9153").Value("listen"), "\"[::1]:9153\"");
  EXPECT_EQ(Map("prometheus localhost:9253").Value("listen"), "\"127.0.0.1:9253\"");
  Mapped named = Map("prometheus dns.example:9153");
  EXPECT_EQ(named.Value("listen"), "<unset>");
  EXPECT_THAT(named.IssueSubjects(), ElementsAre("prometheus dns.example:9153"));

  Mapped health = Map("health 169.254.20.10:8080 {\n  lameduck 5s\n}");
  EXPECT_EQ(health.Value("listen"), "\"169.254.20.10:8080\"");
  EXPECT_EQ(health.Value("lameduck"), "\"5s\"");
  EXPECT_TRUE(health.instance->process_wide);
  EXPECT_EQ(Map("health").Value("listen"), "\":8080\"");
  EXPECT_EQ(Map("ready").Value("listen"), "\":8181\"");
}

TEST(PluginMapping, LogAndErrors) {
  Mapped log = Map("log {\n  class denial error\n}");
  EXPECT_EQ(log.Value("classes"), "[\"denial\", \"error\"]");
  EXPECT_THAT(log.IssueSubjects(), IsEmpty());
  EXPECT_THAT(Map("log . \"{remote} {name}\"").IssueSubjects(), ElementsAre("log format"));
  EXPECT_THAT(Map("log example.org").IssueSubjects(), ElementsAre("log example.org"));

  Mapped errors = Map("errors {\n  consolidate 5m \".* i/o timeout$\"\n}");
  ASSERT_TRUE(errors.instance);
  EXPECT_TRUE(errors.instance->table.keys.empty());
  EXPECT_THAT(errors.IssueSubjects(), ElementsAre("errors consolidate"));
}

TEST(PluginMapping, DirectivesWithoutEquivalentAreNamed) {
  for (const char* name : {"loop", "loadbalance", "debug", "rewrite name a b", "template IN A x",
                           "whoami", "autopath @kubernetes"}) {
    SCOPED_TRACE(name);
    Mapped m = Map(name);
    EXPECT_FALSE(m.instance);
    ASSERT_EQ(m.issues.size(), 1u);
    EXPECT_EQ(m.issues[0].line, 2u);
    EXPECT_THAT(m.issues[0].reason, HasSubstr("petdns"));
  }
}

TEST(PluginMapping, ParsesGoDurations) {
  const std::vector<std::pair<std::string, std::optional<int64_t>>> cases = {
      {"5s", 5000},         {"1m30s", 90'000},   {"0.5s", 500},          {"250ms", 250},
      {"1h", 3'600'000},    {"30", 30'000},      {"1.5m", 90'000},       {"", std::nullopt},
      {"5x", std::nullopt}, {"s", std::nullopt}, {"1..2s", std::nullopt}};
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseCorefileDuration(text), expected);
  }
}

}  // namespace
}  // namespace petdns::corefile
