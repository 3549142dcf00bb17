#include "plugins/hosts/hosts_plugin.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <filesystem>
#include <fstream>

#include "plugins/hosts/setup.h"
#include "server/config/config.h"
#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"
#include "tests/testing/fake_runtime.h"

namespace petdns::plugins::hosts {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using wire::RrType;
using Lines = std::vector<std::string>;

std::string W(std::string_view text) { return wire::LowerName(*wire::NameFromText(text)); }

TEST(ParseHosts, ReportsBadLinesWithFileAndLineAndKeepsTheRest) {
  std::vector<std::string> zones = {W(".")};
  ParsedHosts parsed = ParseHosts(
      "# comment\n10.0.0.1 db.example.org db # trailing\n300.1.1.1 bad\n\n::1 localhost\n"
      "10.0.0.2\n",
      "hosts", zones);
  ASSERT_EQ(parsed.lines.size(), 2u);
  EXPECT_EQ(parsed.lines[0].names, (Lines{W("db.example.org."), W("db.")}));
  EXPECT_TRUE(parsed.lines[1].v6);
  EXPECT_EQ(parsed.errors, (Lines{"hosts:3: invalid address '300.1.1.1'",
                                  "hosts:6: no host name after address '10.0.0.2'"}));
  EXPECT_FALSE(parsed.truncated);
}

TEST(ParseHosts, SkipsNamesOutsideTheZonesAndFlagsAHalfWrittenLastLine) {
  std::vector<std::string> zones = {W("example.org.")};
  ParsedHosts parsed = ParseHosts("10.0.0.1 a.example.org other.net\n10.0.0.", "h", zones);
  ASSERT_EQ(parsed.lines.size(), 1u);
  EXPECT_EQ(parsed.lines[0].names, Lines{W("a.example.org.")});
  EXPECT_TRUE(parsed.truncated);
}

TEST(HostsTable, ReverseNamesForIpv4AndIpv6) {
  HostsLine v4;
  v4.address = {192, 0, 2, 10};
  EXPECT_EQ(wire::NameToText(ReverseName(v4)), "10.2.0.192.in-addr.arpa.");
  HostsLine v6;
  v6.v6 = true;
  v6.address = {0x20, 0x01, 0x0d, 0xb8};
  v6.address[15] = 0x1;
  EXPECT_EQ(wire::NameToText(ReverseName(v6)),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
}

class HostsPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    WriteHosts("10.0.0.1 db.example.org\n2001:db8::1 db.example.org\n10.0.0.2 web.example.org\n");
  }
  void WriteHosts(const std::string& text) { std::ofstream(dir_ + "/hosts") << text; }

  Result<chain::PluginPtr> Build(const std::string& table,
                                 const std::string& zones =
                                     "\"example.org.\", \"in-addr.arpa.\", "
                                     "\"ip6.arpa.\"") {
    std::ofstream(dir_ + "/petdns.toml")
        << "[[server]]\nlisten = [\"127.0.0.1:53\"]\nzones = [" << zones << "]\n[server.hosts]\n"
        << table;
    auto config = config::LoadConfig(dir_ + "/petdns.toml");
    EXPECT_TRUE(config) << (config ? "" : config.error().message);
    config_ = std::make_unique<config::Config>(std::move(*config));
    chain::SetupContext ctx{*config_, config_->servers[0], &runtime_, false, registry_, nullptr};
    return hosts::Setup(ctx, *config_->servers[0].plugins.at("hosts"));
  }

  // Asks the plugin; a query passed on reaches a stub that answers NOTIMP (rcode 4).
  ParsedResponse Ask(chain::Plugin& plugin, std::string_view name, RrType type) {
    packet_ = MakeQuery(name, type);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    sink_.messages.clear();
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr),
                                listener::Transport::kUdp};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* chain[] = {&plugin, &marker_};
    (void)chain::Next(std::span<chain::Plugin* const>(chain))(q);
    EXPECT_EQ(sink_.messages.size(), 1u);
    return sink_.messages.empty() ? ParsedResponse{} : Parse(sink_.messages[0]);
  }

  struct Marker final : chain::Plugin {
    std::string_view Name() const noexcept override { return "marker"; }
    chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
      return q.ReplyRcode(wire::Rcode::kNotImp);
    }
  };

  std::string dir_ = ::testing::TempDir() + "/hosts_plugin_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  petdns::testing::FakeRuntime runtime_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<config::Config> config_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  Marker marker_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(HostsPluginTest, AnswersAAaaaAndPtrFromFileAndInlineEntries) {
  auto plugin = Build("path = \"hosts\"\nttl = 60\nentries = [\"10.0.0.9 inline.example.org\"]\n");
  ASSERT_TRUE(plugin) << plugin.error().message;
  auto a = Ask(**plugin, "DB.example.org.", RrType::kA);
  EXPECT_TRUE(a.aa);
  EXPECT_EQ(a.answer, Lines{"DB.example.org. 60 IN A 10.0.0.1"});
  EXPECT_EQ(Ask(**plugin, "db.example.org.", RrType::kAaaa).answer,
            Lines{"db.example.org. 60 IN AAAA 2001:db8::1"});
  EXPECT_EQ(Ask(**plugin, "inline.example.org.", RrType::kA).answer,
            Lines{"inline.example.org. 60 IN A 10.0.0.9"});
  EXPECT_EQ(Ask(**plugin, "2.0.0.10.in-addr.arpa.", RrType::kPtr).answer,
            Lines{"2.0.0.10.in-addr.arpa. 60 IN PTR web.example.org."});
  EXPECT_EQ(
      Ask(**plugin, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
          RrType::kPtr)
          .answer.size(),
      1u);
}

TEST_F(HostsPluginTest, NodataForOtherTypesNxdomainForUnknownNamesOtherZonesPassOn) {
  auto plugin = Build("path = \"hosts\"\n");
  ASSERT_TRUE(plugin);
  auto nodata = Ask(**plugin, "web.example.org.", RrType::kAaaa);
  EXPECT_EQ(nodata.rcode, 0);
  EXPECT_TRUE(nodata.answer.empty());
  EXPECT_TRUE(nodata.authority.empty());  // no SOA: hosts has no zone apex
  EXPECT_EQ(Ask(**plugin, "web.example.org.", RrType::kMx).rcode, 0);
  auto nx = Ask(**plugin, "nope.example.org.", RrType::kA);
  EXPECT_EQ(nx.rcode, 3);
  EXPECT_TRUE(nx.aa);
  EXPECT_EQ(Ask(**plugin, "www.example.com.", RrType::kA).rcode, 4);         // not our zone
  EXPECT_EQ(Ask(**plugin, "9.9.9.9.in-addr.arpa.", RrType::kPtr).rcode, 4);  // CoreDNS: on
}

TEST_F(HostsPluginTest, FallthroughPassesUnknownNamesOn) {
  auto all = Build("path = \"hosts\"\nfallthrough = true\n");
  ASSERT_TRUE(all);
  EXPECT_EQ(Ask(**all, "nope.example.org.", RrType::kA).rcode, 4);
  EXPECT_EQ(Ask(**all, "web.example.org.", RrType::kAaaa).rcode, 0);  // NODATA stays ours
  auto some = Build("path = \"hosts\"\nfallthrough = [\"sub.example.org\"]\n");
  ASSERT_TRUE(some);
  EXPECT_EQ(Ask(**some, "x.sub.example.org.", RrType::kA).rcode, 4);
  EXPECT_EQ(Ask(**some, "x.example.org.", RrType::kA).rcode, 3);
}

TEST_F(HostsPluginTest, NoReverseAndPtrOnlyInsideTheBlocksZones) {
  auto off = Build("path = \"hosts\"\nno_reverse = true\n");
  ASSERT_TRUE(off);
  EXPECT_EQ(Ask(**off, "2.0.0.10.in-addr.arpa.", RrType::kPtr).rcode, 4);
  auto forward_only = Build("path = \"hosts\"\n", "\"example.org.\"");
  ASSERT_TRUE(forward_only);
  EXPECT_EQ(Ask(**forward_only, "2.0.0.10.in-addr.arpa.", RrType::kPtr).rcode, 4);
}

TEST_F(HostsPluginTest, ReloadsOnChangeKeepsOldTableForHalfWrittenOrMissingFile) {
  auto plugin = Build("path = \"hosts\"\nreload = \"1s\"\n");
  ASSERT_TRUE(plugin);
  (*plugin)->OnStartup();
  auto& hosts = static_cast<HostsPlugin&>(**plugin);
  EXPECT_EQ(hosts.table().entries(), 3u);
  EXPECT_EQ(registry_->Collect().size(), 2u);

  WriteHosts("10.0.0.5 new.example.org\nbad line here\n");
  runtime_.FireTimers();
  EXPECT_EQ(hosts.stats().reloads, 1u);
  EXPECT_EQ(Ask(hosts, "new.example.org.", RrType::kA).answer.size(), 1u);  // bad line skipped
  EXPECT_EQ(Ask(hosts, "db.example.org.", RrType::kA).rcode, 3);

  WriteHosts("10.0.0.5 new.example.org\n10.0.0.6 other.exa");
  runtime_.FireTimers();  // still being written: "other.exa." is a valid name, so it is taken
  EXPECT_EQ(hosts.stats().reloads, 2u);
  WriteHosts("10.0.0.5 new.example.org\n10.0.0.");
  runtime_.FireTimers();  // a cut address: keep the previous table
  EXPECT_EQ(hosts.stats().reload_failures, 1u);
  EXPECT_EQ(Ask(hosts, "new.example.org.", RrType::kA).answer.size(), 1u);

  std::filesystem::remove(dir_ + "/hosts");
  runtime_.FireTimers();  // gone: keep serving
  runtime_.FireReload();  // SIGHUP: read fails, keep serving
  EXPECT_EQ(hosts.stats().reload_failures, 2u);
  EXPECT_EQ(Ask(hosts, "new.example.org.", RrType::kA).answer.size(), 1u);
}

TEST_F(HostsPluginTest, ConfigErrorsAreReported) {
  auto bad = Build("entries = [\"300.0.0.1 x.example.org\"]\nfallthrough = 3\nbogus = 1\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("entries[0]:1: invalid address '300.0.0.1'"),
            std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("fallthrough"), std::string::npos);
  EXPECT_NE(bad.error().message.find("bogus"), std::string::npos);
}

TEST_F(HostsPluginTest, MissingFileStartsEmptyAndIsPickedUpLater) {
  std::filesystem::remove(dir_ + "/hosts");
  auto plugin = Build("path = \"hosts\"\n");
  ASSERT_TRUE(plugin) << plugin.error().message;
  (*plugin)->OnStartup();
  EXPECT_EQ(Ask(**plugin, "db.example.org.", RrType::kA).rcode, 3);
  WriteHosts("10.0.0.1 db.example.org\n");
  runtime_.FireTimers();
  EXPECT_EQ(Ask(**plugin, "db.example.org.", RrType::kA).answer.size(), 1u);
}

}  // namespace
}  // namespace petdns::plugins::hosts
