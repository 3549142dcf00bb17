#include "client/resolv_conf.h"

#include <gtest/gtest.h>

#include <vector>

namespace petdns::client {
namespace {

using ::std::chrono::seconds;

constexpr std::string_view kPod =
    "nameserver 10.96.0.10\n"
    "search default.svc.cluster.local svc.cluster.local cluster.local\n"
    "options ndots:5\n";

TEST(ResolvConf, ParsesAPodsFile) {
  ResolvConf c = ParseResolvConf(kPod, "web-0");
  EXPECT_EQ(c.servers, (std::vector<std::string>{"10.96.0.10:53"}));
  EXPECT_EQ(c.search, (std::vector<std::string>{"default.svc.cluster.local.", "svc.cluster.local.",
                                                "cluster.local."}));
  EXPECT_EQ(c.ndots, 5);
  EXPECT_EQ(c.timeout, seconds(5));
  EXPECT_EQ(c.attempts, 2);
  EXPECT_FALSE(c.rotate);
  EXPECT_FALSE(c.use_tcp);
}

TEST(ResolvConf, FollowsGoRules) {
  ResolvConf c = ParseResolvConf(
      "# comment\n"
      "; comment\n"
      "nameserver 1.1.1.1\n"
      "nameserver ::1\n"
      "nameserver dns.example\n"  // not an IP: skipped
      "nameserver 2.2.2.2\n"
      "nameserver 3.3.3.3\n"  // a fourth: skipped
      "search a.example b.example.\n"
      "domain only.example\n"  // the last search/domain line wins
      "options ndots:20 timeout:0 attempts:3 rotate use-vc unknown\r\n",
      "host");
  EXPECT_EQ(c.servers, (std::vector<std::string>{"1.1.1.1:53", "[::1]:53", "2.2.2.2:53"}));
  EXPECT_EQ(c.search, (std::vector<std::string>{"only.example."}));
  EXPECT_EQ(c.ndots, 15);
  EXPECT_EQ(c.timeout, seconds(1));
  EXPECT_EQ(c.attempts, 3);
  EXPECT_TRUE(c.rotate);
  EXPECT_TRUE(c.use_tcp);
}

TEST(ResolvConf, DefaultsWithoutServersOrSearch) {
  ResolvConf c = ParseResolvConf("options ndots:x\n", "web-0.example.org");
  EXPECT_EQ(c.servers, (std::vector<std::string>{"127.0.0.1:53", "[::1]:53"}));
  EXPECT_EQ(c.search, (std::vector<std::string>{"example.org."}));
  EXPECT_EQ(c.ndots, 0);
  EXPECT_EQ(DefaultResolvConf("web-0").search, std::vector<std::string>{});
  EXPECT_EQ(DefaultResolvConf("a.b.").search, (std::vector<std::string>{"b."}));
}

TEST(ResolvConf, NameListForAPod) {
  ResolvConf c = ParseResolvConf(kPod, "web-0");
  EXPECT_EQ(NameList(c, "nginx"), (std::vector<std::string>{"nginx.default.svc.cluster.local.",
                                                            "nginx.svc.cluster.local.",
                                                            "nginx.cluster.local.", "nginx."}));
  EXPECT_EQ(NameList(c, "nginx.default.svc.cluster.local."),
            (std::vector<std::string>{"nginx.default.svc.cluster.local."}));
}

TEST(ResolvConf, NameListTriesBareNameFirstWithEnoughDots) {
  ResolvConf c;
  c.search = {"example.org."};
  c.ndots = 1;
  EXPECT_EQ(NameList(c, "a.b"), (std::vector<std::string>{"a.b.", "a.b.example.org."}));
  EXPECT_EQ(NameList(c, "a"), (std::vector<std::string>{"a.example.org.", "a."}));
  c.ndots = 0;
  EXPECT_EQ(NameList(c, "a"), (std::vector<std::string>{"a.", "a.example.org."}));
  EXPECT_TRUE(NameList(c, std::string(254, 'a')).empty());
}

struct DomainCase {
  std::string content;
  std::string with_ns;     // the goal with -ns (prefixed with "<ns>." by the caller)
  std::string without_ns;  // the whole domain without a namespace
};

// The reference's table (§4.1), observed with the original binary.
TEST(ResolvConf, FindClusterDomainMatchesTheOriginalRegex) {
  std::vector<DomainCase> cases = {
      {std::string(kPod), "svc.cluster.local", "default.svc.cluster.local"},
      {"search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver "
       "10.96.0.10\noptions ndots:5\n",
       "svc.cluster.local", "default.svc.cluster.local"},
      {"nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local",
       "svc.cluster.local", "default.svc.cluster.local"},
      {"nameserver 10.96.0.10\nsearch\tdefault.svc.cluster.local\tsvc.cluster.local\tcluster."
       "local\n",
       "svc.cluster.local", "default.svc.cluster.local"},
      {"nameserver 10.96.0.10\r\nsearch default.svc.cluster.local svc.cluster.local "
       "cluster.local\r\noptions ndots:5\r\n",
       "svc.cluster.local", "default.svc.cluster.local"},
      {"search default.svc.k8s.example.com svc.k8s.example.com k8s.example.com\n",
       "svc.k8s.example.com", "default.svc.k8s.example.com"},
      {"search svc.cluster.local\n", "svc.cluster.local", ""},
      {"search default.svc.cluster.local\n", "", "default.svc.cluster.local"},
      {"search svc.a.local x.svc.b.local svc.c.local\n", "svc.c.local", "x.svc.b.local"},
      {"search svc.a.local\nsearch svc.b.local\n", "svc.b.local", "search svc.b.local"},
      {"search foo.com\nsearch svc.cluster.local\n", "svc.cluster.local",
       "search svc.cluster.local"},
      {"search svc.cluster.local\nsearch foo.com\n", "svc.cluster.local", ""},
      {"search svc.a.local\nnameserver 1.2.3.4\noptions svc.zz.local\n", "svc.zz.local",
       "options svc.zz.local"},
      {"search  svc.cluster.local.\n", "svc.cluster.local", ""},
      {"search svcXcluster.local\n", "svcXcluster.local", ""},
      {"search svc.cluster.l\n", "svc.cluster", ""},
      {"search svc.cluster.local-x\n", "svc.cluster.local", ""},
      {"nameserver 1.2.3.4\n", "", ""},
      {"search example.com\n", "", ""},
      {"domain svc.cluster.local\n", "", ""},
      {"#search svc.cluster.local\n", "", ""},
      {" search svc.cluster.local\n", "", ""},
      {"searchsvc.cluster.local\n", "", ""},
      {"", "", ""},
  };
  for (const DomainCase& c : cases) {
    SCOPED_TRACE(c.content);
    EXPECT_EQ(FindClusterDomain(c.content, true), c.with_ns);
    EXPECT_EQ(FindClusterDomain(c.content, false), c.without_ns);
  }
}

TEST(ResolvConf, FindClusterDomainCapsLabelsAt63) {
  std::string long_label(70, 'a');
  // TAIL's last label is AN{2,63}: a longer one is cut at 63 characters.
  EXPECT_EQ(FindClusterDomain("search svc." + long_label + "\n", true),
            "svc." + long_label.substr(0, 63));
}

TEST(ResolvConf, FindClusterDomainHandlesLongFilesQuickly) {
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "search a b c d e f g h i j k l m n o p\n";
  content += "search x svc.cluster.local\n";
  EXPECT_EQ(FindClusterDomain(content, true), "svc.cluster.local");
}

TEST(ResolvConf, ReadWholeFileFailsForFoldersAndMissingFiles) {
  EXPECT_FALSE(ReadWholeFile(::testing::TempDir()));
  EXPECT_FALSE(ReadWholeFile(::testing::TempDir() + "resolv_conf_test_missing"));
  Result<std::string> proc = ReadWholeFile("/proc/self/comm");  // size 0 in stat, has content
  ASSERT_TRUE(proc);
  EXPECT_FALSE(proc->empty());
}

}  // namespace
}  // namespace petdns::client
