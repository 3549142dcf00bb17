#include "client/flags.h"

#include <gtest/gtest.h>

#include <vector>

namespace petdns::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Every line Go prints for the original's flags, in Go's order (sorted by name).
constexpr std::string_view kOriginalUsageLines[] = {
    "  -domain string\n"
    "    \tThe Cluster Domain which is used by the Cluster, if not set tries to determine it "
    "from /etc/resolv.conf file.\n",
    "  -ns string\n"
    "    \tThe namespace this pod is running in. If unspecified, the POD_NAMESPACE env var is "
    "used.\n",
    "  -on-change string\n"
    "    \tScript to run on change, must accept a new line separated list of peers via stdin.\n",
    "  -on-start string\n"
    "    \tScript to run on start, must accept a new line separated list of peers via stdin.\n",
    "  -service string\n"
    "    \tGoverning service responsible for the DNS records of the domain this pod is in.\n",
};

constexpr std::string_view kFullUsage =
    "Usage of /peer-finder:\n"
    "  -dns-server ip:port\n"
    "    \tpetdns extension: query this DNS server (ip:port, IPv6 as [ip]:port) instead of the "
    "nameservers in the resolv.conf file; its search list and options still apply.\n"
    "  -domain string\n"
    "    \tThe Cluster Domain which is used by the Cluster, if not set tries to determine it "
    "from /etc/resolv.conf file.\n"
    "  -hostname name\n"
    "    \tpetdns extension: use this name as the pod's hostname instead of the system "
    "hostname.\n"
    "  -hosts-file file\n"
    "    \tpetdns extension: keep an /etc/hosts-format file with a line \"IP FQDN pet.service "
    "pet\" for each peer address, replaced atomically; lines outside petdns's marker comments "
    "are kept.\n"
    "  -min-peers int\n"
    "    \tpetdns extension: run the first script only when the peer list has at least this many "
    "peers.\n"
    "  -ns string\n"
    "    \tThe namespace this pod is running in. If unspecified, the POD_NAMESPACE env var is "
    "used.\n"
    "  -on-change string\n"
    "    \tScript to run on change, must accept a new line separated list of peers via stdin.\n"
    "  -on-start string\n"
    "    \tScript to run on start, must accept a new line separated list of peers via stdin.\n"
    "  -poll-interval duration\n"
    "    \tpetdns extension: time to wait between two DNS polls. (default 1s)\n"
    "  -resolv-conf file\n"
    "    \tpetdns extension: read the nameservers, search list, options and cluster domain from "
    "this file. (default \"/etc/resolv.conf\")\n"
    "  -service string\n"
    "    \tGoverning service responsible for the DNS records of the domain this pod is in.\n"
    "  -timeout duration\n"
    "    \tpetdns extension: exit with status 1 if no peer list with this pod in it was found "
    "within this time (0s: wait forever).\n";

FlagParseResult Parse(std::vector<std::string> args, PeerFinderOptions& options) {
  return ParseFlags("/peer-finder", args, options);
}

TEST(Flags, UsageTextIsGoPrintDefaults) { EXPECT_EQ(UsageText("/peer-finder"), kFullUsage); }

TEST(Flags, UsageKeepsTheOriginalLinesVerbatimAndInOrder) {
  std::string usage = UsageText("./peer-finder");
  EXPECT_TRUE(usage.starts_with("Usage of ./peer-finder:\n"));
  size_t pos = 0;
  for (std::string_view line : kOriginalUsageLines) {
    size_t at = usage.find(line, pos);
    ASSERT_NE(at, std::string::npos) << line;
    pos = at + line.size();
  }
}

TEST(Flags, AcceptsEveryGoSyntax) {
  struct Case {
    std::vector<std::string> args;
  };
  std::vector<Case> cases = {
      {{"-service", "nginx"}},
      {{"-service=nginx"}},
      {{"--service", "nginx"}},
      {{"--service=nginx"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0]);
    PeerFinderOptions options;
    FlagParseResult r = Parse(c.args, options);
    EXPECT_EQ(r.exit_code, -1);
    EXPECT_EQ(r.output, "");
    EXPECT_EQ(options.service, "nginx");
  }
}

TEST(Flags, ParsesAllFlags) {
  PeerFinderOptions options;
  FlagParseResult r = Parse({"-on-start",
                             "echo a; cat",
                             "-on-change=x.sh",
                             "--ns",
                             "default",
                             "-domain",
                             "cluster.local",
                             "-service",
                             "nginx",
                             "-dns-server",
                             "127.0.0.1:1053",
                             "-resolv-conf",
                             "/tmp/r",
                             "-hostname",
                             "web-0",
                             "-hosts-file",
                             "/etc/hosts",
                             "-min-peers",
                             "3",
                             "-timeout",
                             "1m30s",
                             "-poll-interval",
                             "250ms"},
                            options);
  ASSERT_EQ(r.exit_code, -1) << r.output;
  EXPECT_EQ(options.on_start, "echo a; cat");
  EXPECT_EQ(options.on_change, "x.sh");
  EXPECT_EQ(options.ns, "default");
  EXPECT_EQ(options.domain, "cluster.local");
  EXPECT_EQ(options.service, "nginx");
  EXPECT_EQ(options.dns_server, "127.0.0.1:1053");
  EXPECT_EQ(options.resolv_conf, "/tmp/r");
  EXPECT_EQ(options.hostname, "web-0");
  EXPECT_EQ(options.hosts_file, "/etc/hosts");
  EXPECT_EQ(options.min_peers, 3);
  EXPECT_EQ(options.timeout, seconds(90));
  EXPECT_EQ(options.poll_interval, milliseconds(250));
}

TEST(Flags, DefaultsKeepTheOriginalBehaviour) {
  PeerFinderOptions options;
  ASSERT_EQ(Parse({}, options).exit_code, -1);
  EXPECT_EQ(options.resolv_conf, "/etc/resolv.conf");
  EXPECT_EQ(options.poll_interval, seconds(1));
  EXPECT_EQ(options.timeout, seconds(0));
  EXPECT_EQ(options.min_peers, 0);
  EXPECT_EQ(options.dns_server, "");
  EXPECT_EQ(options.hosts_file, "");
}

TEST(Flags, ValueMayStartWithDash) {
  PeerFinderOptions options;
  ASSERT_EQ(Parse({"-on-start", "-x", "-service", "s"}, options).exit_code, -1);
  EXPECT_EQ(options.on_start, "-x");
  EXPECT_EQ(options.service, "s");
}

TEST(Flags, EmptyValueAfterEquals) {
  PeerFinderOptions options;
  options.service = "before";
  ASSERT_EQ(Parse({"-service="}, options).exit_code, -1);
  EXPECT_EQ(options.service, "");
}

TEST(Flags, StopsAtFirstPositionalArgument) {
  PeerFinderOptions options;
  ASSERT_EQ(Parse({"-service", "nginx", "-on-start", "tee", "-ns", "default", "extra", "-domain",
                   "x", "-bogus"},
                  options)
                .exit_code,
            -1);
  EXPECT_EQ(options.ns, "default");
  EXPECT_EQ(options.domain, "");
}

TEST(Flags, DoubleDashAndSingleDashEndFlags) {
  PeerFinderOptions options;
  ASSERT_EQ(Parse({"-ns", "a", "--", "-domain", "x"}, options).exit_code, -1);
  EXPECT_EQ(options.domain, "");
  ASSERT_EQ(Parse({"-ns", "a", "-", "-domain", "x"}, options).exit_code, -1);
  EXPECT_EQ(options.domain, "");
}

TEST(Flags, UnknownFlagPrintsErrorAndUsageAndExits2) {
  PeerFinderOptions options;
  FlagParseResult r = Parse({"-service", "x", "-bogus"}, options);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "flag provided but not defined: -bogus\n" + std::string(kFullUsage));
  r = Parse({"--bogus=1"}, options);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.output.starts_with("flag provided but not defined: -bogus\nUsage of"));
}

TEST(Flags, HelpPrintsUsageAndExits0) {
  for (std::string flag : {"-h", "-help", "--help", "--h", "-help=1"}) {
    SCOPED_TRACE(flag);
    PeerFinderOptions options;
    FlagParseResult r = Parse({flag, "-bogus"}, options);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.output, kFullUsage);
  }
}

TEST(Flags, MissingValueExits2) {
  PeerFinderOptions options;
  FlagParseResult r = Parse({"-ns", "default", "-service"}, options);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "flag needs an argument: -service\n" + std::string(kFullUsage));
}

TEST(Flags, BadSyntaxExits2) {
  for (std::string arg : {"---service", "-=x", "--=x"}) {
    SCOPED_TRACE(arg);
    PeerFinderOptions options;
    FlagParseResult r = Parse({arg}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "bad flag syntax: " + arg + "\n" + std::string(kFullUsage));
  }
}

TEST(Flags, InvalidValuesExit2WithGoMessages) {
  struct Case {
    std::vector<std::string> args;
    std::string first_line;
  };
  std::vector<Case> cases = {
      {{"-timeout", "10"}, "invalid value \"10\" for flag -timeout: parse error"},
      {{"-poll-interval=abc"}, "invalid value \"abc\" for flag -poll-interval: parse error"},
      {{"-min-peers", "three"}, "invalid value \"three\" for flag -min-peers: parse error"},
      {{"-min-peers", "99999999999999999999"},
       "invalid value \"99999999999999999999\" for flag -min-peers: value out of range"},
      {{"-dns-server", "dns.example:53"},
       "invalid value \"dns.example:53\" for flag -dns-server: not an IP address (want ip:port "
       "or [ip6]:port)"},
      {{"-dns-server", "127.0.0.1:99999"},
       "invalid value \"127.0.0.1:99999\" for flag -dns-server: bad port (want ip:port or "
       "[ip6]:port)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.first_line);
    PeerFinderOptions options;
    FlagParseResult r = Parse(c.args, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, c.first_line + "\n" + std::string(kFullUsage));
  }
}

TEST(Flags, IntegersUseGoBasePrefixes) {
  PeerFinderOptions options;
  ASSERT_EQ(Parse({"-min-peers", "0x10"}, options).exit_code, -1);
  EXPECT_EQ(options.min_peers, 16);
  ASSERT_EQ(Parse({"-min-peers", "010"}, options).exit_code, -1);
  EXPECT_EQ(options.min_peers, 8);
  ASSERT_EQ(Parse({"-min-peers", "-2"}, options).exit_code, -1);
  EXPECT_EQ(options.min_peers, -2);
}

TEST(Flags, DnsServerForms) {
  for (std::string server : {"127.0.0.1:53", "127.0.0.1", "[::1]:5353", "::1", "[fe80::1%lo]:53"}) {
    SCOPED_TRACE(server);
    PeerFinderOptions options;
    EXPECT_EQ(Parse({"-dns-server", server}, options).exit_code, -1);
    EXPECT_EQ(options.dns_server, server);
  }
}

TEST(GoDuration, ParsesLikeTimeParseDuration) {
  using std::chrono::hours;
  using std::chrono::microseconds;
  using std::chrono::minutes;
  using std::chrono::nanoseconds;
  struct Case {
    std::string text;
    std::optional<Duration> want;
  };
  std::vector<Case> cases = {
      {"0", Duration(0)},
      {"1s", seconds(1)},
      {"-1s", seconds(-1)},
      {"+5m", minutes(5)},
      {"1h2m3s", hours(1) + minutes(2) + seconds(3)},
      {"1.5s", milliseconds(1500)},
      {".5s", milliseconds(500)},
      {"250ms", milliseconds(250)},
      {"10us", microseconds(10)},
      {"10\xc2\xb5s", microseconds(10)},
      {"7ns", nanoseconds(7)},
      {"1m0s", minutes(1)},
      {"", std::nullopt},
      {"10", std::nullopt},
      {"s", std::nullopt},
      {".s", std::nullopt},
      {"1d", std::nullopt},
      {"1s ", std::nullopt},
      {"3000000h", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ParseGoDuration(c.text), c.want);
  }
}

TEST(GoDuration, FormatsLikeDurationString) {
  using std::chrono::hours;
  using std::chrono::microseconds;
  using std::chrono::minutes;
  using std::chrono::nanoseconds;
  EXPECT_EQ(FormatGoDuration(Duration(0)), "0s");
  EXPECT_EQ(FormatGoDuration(seconds(1)), "1s");
  EXPECT_EQ(FormatGoDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatGoDuration(minutes(2)), "2m0s");
  EXPECT_EQ(FormatGoDuration(hours(1) + seconds(1)), "1h0m1s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatGoDuration(microseconds(1500)), "1.5ms");
  EXPECT_EQ(FormatGoDuration(microseconds(10)), "10\xc2\xb5s");
  EXPECT_EQ(FormatGoDuration(nanoseconds(7)), "7ns");
  EXPECT_EQ(FormatGoDuration(seconds(-3)), "-3s");
}

TEST(GoQuote, QuotesLikeStrconvQuote) {
  EXPECT_EQ(GoQuote("abc"), "\"abc\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("a\nb\t\x01"), "\"a\\nb\\t\\x01\"");
}

}  // namespace
}  // namespace petdns::client
