#include "plugins/file/file_plugin.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <filesystem>
#include <fstream>

#include "plugins/file/setup.h"
#include "server/chain/chain.h"
#include "server/config/config.h"
#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"
#include "tests/testing/fake_runtime.h"

namespace petdns::plugins::file {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using wire::RrType;

constexpr const char* kZoneV1 =
    "$TTL 60\n"
    "@ IN SOA ns hostmaster 1 60 60 60 60\n"
    "  IN NS ns\n"
    "ns IN A 192.0.2.1\n"
    "www IN A 192.0.2.10\n";

class FilePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    WriteZone(kZoneV1);
    std::ofstream(dir_ + "/petdns.toml") << "[[server]]\nlisten = [\"127.0.0.1:53\"]\n"
                                            "zones = [\"example.test.\"]\n"
                                            "[server.file]\npath = \"z.zone\"\nreload = \"1s\"\n"
                                         << extra_config_;
  }
  void WriteZone(const std::string& text) { std::ofstream(dir_ + "/z.zone") << text; }

  // Builds the plugin from the config file, as the server does.
  Result<chain::PluginPtr> Build() {
    auto config = config::LoadConfig(dir_ + "/petdns.toml");
    EXPECT_TRUE(config) << (config ? "" : config.error().message);
    config_ = std::make_unique<config::Config>(std::move(*config));
    chain::SetupContext ctx{
        *config_, config_->servers[0], &runtime_, false, std::make_shared<prometheus::Registry>(),
        nullptr};
    return file::Setup(ctx, *config_->servers[0].plugins.at("file"));
  }

  std::vector<ParsedResponse> Ask(chain::Plugin& plugin, std::string_view name, RrType type,
                                  listener::Transport transport = listener::Transport::kUdp,
                                  const char* peer = "127.0.0.1") {
    packet_ = MakeQuery(name, type);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, peer, &addr.sin_addr);
    sink_.messages.clear();
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr), transport};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* chain[] = {&plugin};
    chain::Next next{std::span<chain::Plugin* const>(chain)};
    (void)next(q);
    std::vector<ParsedResponse> out;
    for (const auto& m : sink_.messages) out.push_back(Parse(m));
    return out;
  }

  std::string dir_ = ::testing::TempDir() + "/file_plugin_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string extra_config_;
  petdns::testing::FakeRuntime runtime_;
  std::unique_ptr<config::Config> config_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(FilePluginTest, AnswersFromTheZoneAndPassesOtherNamesOn) {
  auto plugin = Build();
  ASSERT_TRUE(plugin) << plugin.error().message;
  auto r = Ask(**plugin, "www.example.test.", RrType::kA);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].answer, std::vector<std::string>{"www.example.test. 60 IN A 192.0.2.10"});
  auto other = Ask(**plugin, "www.example.com.", RrType::kA);  // end of chain: SERVFAIL
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].rcode, 2);
}

TEST_F(FilePluginTest, ReloadsWhenTheFileChangesAndKeepsOldDataOnError) {
  auto plugin = Build();
  ASSERT_TRUE(plugin);
  (*plugin)->OnStartup();
  auto& file = static_cast<FilePlugin&>(**plugin);

  WriteZone(std::string(kZoneV1) + "new IN A 192.0.2.20\n");
  runtime_.FireTimers();
  EXPECT_EQ(file.stats().reloads, 1u);
  EXPECT_EQ(Ask(file, "new.example.test.", RrType::kA)[0].answer.size(), 1u);

  WriteZone(std::string(kZoneV1) + "broken IN A 300.1.1.1\nextra IN A 192.0.2.99\n");
  runtime_.FireTimers();
  EXPECT_EQ(file.stats().reload_failures, 1u);
  EXPECT_EQ(Ask(file, "new.example.test.", RrType::kA)[0].answer.size(), 1u);  // still served
  EXPECT_EQ(Ask(file, "extra.example.test.", RrType::kA)[0].rcode, 3);

  runtime_.FireTimers();  // unchanged since the failed attempt: no new attempt
  EXPECT_EQ(file.stats().reload_failures, 1u);

  runtime_.FireReload();  // SIGHUP retries regardless
  EXPECT_EQ(file.stats().reload_failures, 2u);
}

TEST_F(FilePluginTest, DeletedFileIsCountedOnceKeepsTheZoneAndIsReloadedWhenBack) {
  auto plugin = Build();
  ASSERT_TRUE(plugin);
  (*plugin)->OnStartup();
  auto& file = static_cast<FilePlugin&>(**plugin);

  std::filesystem::remove(dir_ + "/z.zone");
  runtime_.FireTimers();
  runtime_.FireTimers();  // still gone: not counted again
  EXPECT_EQ(file.stats().reload_failures, 1u);
  EXPECT_EQ(Ask(file, "www.example.test.", RrType::kA)[0].answer.size(), 1u);  // still served

  WriteZone(std::string(kZoneV1) + "new IN A 192.0.2.20\n");
  runtime_.FireTimers();
  EXPECT_EQ(file.stats().reloads, 1u);
  EXPECT_EQ(Ask(file, "new.example.test.", RrType::kA)[0].answer.size(), 1u);
}

TEST_F(FilePluginTest, TransfersZoneOverTcpToAllowedClients) {
  auto plugin = Build();
  ASSERT_TRUE(plugin);
  auto r = Ask(**plugin, "example.test.", RrType::kAxfr, listener::Transport::kTcp);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(r[0].ok);
  ASSERT_EQ(r[0].answer.size(), 5u);  // SOA, NS, A ns, A www, SOA
  EXPECT_EQ(r[0].answer.front().find("example.test. 60 IN SOA"), 0u);
  EXPECT_EQ(r[0].answer.back(), r[0].answer.front());
  EXPECT_TRUE(r[0].aa);
}

TEST_F(FilePluginTest, RefusesTransfersOverUdpAndToOthers) {
  auto plugin = Build();
  ASSERT_TRUE(plugin);
  EXPECT_EQ(Ask(**plugin, "example.test.", RrType::kAxfr)[0].rcode, 5);
  EXPECT_EQ(
      Ask(**plugin, "example.test.", RrType::kAxfr, listener::Transport::kTcp, "192.0.2.77")[0]
          .rcode,
      5);
  auto& file = static_cast<FilePlugin&>(**plugin);
  EXPECT_EQ(file.stats().transfers_refused, 2u);
}

TEST_F(FilePluginTest, SplitsLargeTransfersIntoSeveralMessages) {
  std::string zone = kZoneV1;
  for (int i = 0; i < 2000; ++i)
    zone += "h" + std::to_string(i) + " IN A 10.0.7." + std::to_string(i % 250) + "\n";
  WriteZone(zone);
  auto plugin = Build();
  ASSERT_TRUE(plugin);
  auto r = Ask(**plugin, "example.test.", RrType::kAxfr, listener::Transport::kTcp);
  ASSERT_GT(r.size(), 1u);
  size_t records = 0;
  for (const auto& m : r) {
    ASSERT_TRUE(m.ok);
    EXPECT_EQ(m.id, 0x1234);
    records += m.answer.size();
  }
  EXPECT_EQ(records, 2005u);  // SOA + NS + 2 A + 2000 hosts + SOA
  EXPECT_EQ(r.front().answer.front(), r.back().answer.back());
}

TEST_F(FilePluginTest, SetupReportsBadZoneWithLine) {
  WriteZone(std::string(kZoneV1) + "oops IN A nope\n");
  auto plugin = Build();
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("z.zone:6: "), std::string::npos) << plugin.error().message;
}

TEST_F(FilePluginTest, SetupReportsUnknownKeysWithPosition) {
  extra_config_ = "colour = \"blue\"\n";
  SetUp();
  auto plugin = Build();
  ASSERT_FALSE(plugin);
  EXPECT_NE(plugin.error().message.find("petdns.toml:7:"), std::string::npos)
      << plugin.error().message;
  EXPECT_NE(plugin.error().message.find("colour"), std::string::npos);
}

}  // namespace
}  // namespace petdns::plugins::file
