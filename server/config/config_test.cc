#include "server/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace petdns::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kExample = R"([global]
tcp_idle_timeout = "10s"
tcp_max_connections = 1024
udp_max_payload = 1232
log_level = "info"

[[server]]
listen = ["127.0.0.1:5353", "[::1]:5353"]
zones  = ["example.org."]
[server.file]
path = "zones/example.org.zone"
)";

// The error message of a load that must fail, "" (and a test failure) if it succeeded.
std::string LoadError(std::string_view text, ErrorCode code = ErrorCode::kInvalidArgument) {
  Result<Config> config = LoadConfigFromString(text, "p.toml");
  if (config) {
    ADD_FAILURE() << "loaded without error:\n" << text;
    return "";
  }
  EXPECT_EQ(config.error().code, code);
  return config.error().message;
}

// A one-block config listening on 127.0.0.1:53 with the given zones array.
std::string WithZones(std::string_view zones) {
  return "[[server]]\nlisten = [\"127.0.0.1:53\"]\nzones = " + std::string(zones) + "\n";
}

TEST(LoadConfig, ParsesTheExample) {
  Result<Config> config = LoadConfigFromString(kExample, "etc/petdns.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->path, "etc/petdns.toml");
  EXPECT_EQ(config->directory, "etc");
  EXPECT_EQ(config->global.tcp_idle_timeout_ms, 10'000u);
  EXPECT_EQ(config->global.tcp_max_connections, 1024u);
  EXPECT_EQ(config->global.udp_max_payload, 1232);
  EXPECT_EQ(config->global.log_level, "info");
  ASSERT_EQ(config->servers.size(), 1u);
  const ServerBlock& block = config->servers[0];
  EXPECT_EQ(block.index, 0u);
  EXPECT_EQ(block.position.ToString(), "etc/petdns.toml:7:1");
  ASSERT_EQ(block.listen.size(), 2u);
  EXPECT_EQ(block.listen[0].host, "127.0.0.1");
  EXPECT_EQ(block.listen[0].port, 5353);
  EXPECT_EQ(block.listen[0].text, "127.0.0.1:5353");
  EXPECT_EQ(block.listen[1].host, "::1");
  EXPECT_EQ(block.listen[1].port, 5353);
  EXPECT_THAT(block.zones, ElementsAre("example.org."));
  ASSERT_EQ(block.plugins.size(), 1u);
  const toml::table* file = block.plugins.at("file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ((*file)["path"].value<std::string>(), "zones/example.org.zone");
}

TEST(LoadConfig, GlobalIsOptionalAndHasDefaults) {
  Result<Config> config = LoadConfigFromString(WithZones(R"(["a."])"), "petdns.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->directory, ".");
  EXPECT_EQ(config->global.tcp_idle_timeout_ms, 10'000u);
  EXPECT_EQ(config->global.tcp_max_connections, 1024u);
  EXPECT_EQ(config->global.udp_max_payload, 1232);
  EXPECT_EQ(config->global.log_level, "info");
  EXPECT_TRUE(config->servers[0].plugins.empty());
}

TEST(LoadConfig, PluginTablesSurviveCopyAndMove) {
  Result<Config> loaded = LoadConfigFromString(kExample, "p.toml");
  ASSERT_TRUE(loaded) << loaded.error().message;
  Config copy = *loaded;
  Config moved = *std::move(loaded);
  for (const Config* config : {&copy, &moved}) {
    const toml::table* file = config->servers[0].plugins.at("file");
    EXPECT_EQ((*file)["path"].value<std::string>(), "zones/example.org.zone");
  }
}

TEST(LoadConfig, ParsesListenAddresses) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:5353", "127.0.0.1", 5353},
      {"[::1]:53", "::1", 53},
      {"[0:0::1]:53", "::1", 53},
      {":53", "", 53},
      {"0.0.0.0:1", "0.0.0.0", 1},
      {"[::]:65535", "::", 65535},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string text = "[[server]]\nlisten = [\"" + c.text + "\"]\nzones = [\".\"]\n";
    Result<Config> config = LoadConfigFromString(text, "p.toml");
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_EQ(config->servers[0].listen.size(), 1u);
    const ListenAddress& address = config->servers[0].listen[0];
    EXPECT_EQ(address.host, c.host);
    EXPECT_EQ(address.port, c.port);
    EXPECT_EQ(address.text, c.text);
  }
}

TEST(LoadConfig, RejectsBadListenAddresses) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:0", "port must be a number between 1 and 65535"},
      {"127.0.0.1:65536", "port must be a number between 1 and 65535"},
      {"127.0.0.1:5x", "port must be a number between 1 and 65535"},
      {"127.0.0.1:", "missing port"},
      {"127.0.0.1", "missing port"},
      {"[::1]", "missing port"},
      {"[::1]53", "expected ':port' after ']'"},
      {"[::1:53", "missing ']'"},
      {"::1:53", "IPv6 addresses must be in brackets"},
      {"localhost:53", "host must be a literal IPv4 address"},
      {"[localhost]:53", "'localhost' is not an IPv6 address"},
      {"[127.0.0.1]:53", "'127.0.0.1' is not an IPv6 address"},
      {"[]:53", "empty IPv6 address"},
      {"", "missing port"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string text =
        "[[server]]\nlisten = [\":54\", \"" + c.text + "\"]\nzones = [\".\"]\n";
    const std::string error = LoadError(text);
    EXPECT_THAT(error, StartsWith("p.toml:2:18: invalid listen address '" + c.text + "': "));
    EXPECT_THAT(error, HasSubstr(c.error));
  }
}

TEST(LoadConfig, RejectsMissingEmptyOrMistypedListen) {
  EXPECT_EQ(LoadError("[[server]]\nzones = [\".\"]\n"),
            "p.toml:1:1: missing required key 'listen' in [[server]]");
  EXPECT_EQ(LoadError("[[server]]\nlisten = []\nzones = [\".\"]\n"),
            "p.toml:2:10: 'listen' must not be empty");
  EXPECT_EQ(LoadError("[[server]]\nlisten = \":53\"\nzones = [\".\"]\n"),
            "p.toml:2:10: 'listen' must be an array of strings");
  EXPECT_EQ(LoadError("[[server]]\nlisten = [53]\nzones = [\".\"]\n"),
            "p.toml:2:11: 'listen' must be an array of strings");
  EXPECT_EQ(LoadError("[[server]]\nlisten = [\":53\", \":53\"]\nzones = [\".\"]\n"),
            "p.toml:2:18: duplicate listen address ':53'");
}

TEST(NormalizeZoneName, LowerCasesAndAddsTheTrailingDot) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"example.org", "example.org."},
      {"Example.ORG.", "example.org."},
      {".", "."},
      {"org", "org."},
      {"_tcp.A-b.c", "_tcp.a-b.c."},
      {std::string(63, 'a'), std::string(63, 'a') + "."},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Result<std::string> name = NormalizeZoneName(c.in);
    ASSERT_TRUE(name) << name.error().message;
    EXPECT_EQ(*name, c.want);
  }
}

TEST(NormalizeZoneName, RejectsBadNames) {
  // 4 labels of 63 bytes: 4 * 64 + 1 = 257 bytes in wire form.
  const std::string label(63, 'a');
  const std::string too_long = label + "." + label + "." + label + "." + label;
  // 3 * 64 + 62 + 1 = 255 bytes: the longest allowed.
  const std::string longest = label + "." + label + "." + label + "." + std::string(61, 'a');
  EXPECT_TRUE(NormalizeZoneName(longest));
  struct Case {
    std::string in;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "empty name"},
      {"example..org", "empty label"},
      {".example.org", "empty label"},
      {"example.org..", "empty label"},
      {"..", "empty label"},
      {std::string(64, 'a') + ".org", "label longer than 63 bytes"},
      {too_long, "name longer than 255 bytes"},
      {longest + "a", "name longer than 255 bytes"},
      {"exa mple.org", "unsupported character"},
      {"a\\.b", "unsupported character"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Result<std::string> name = NormalizeZoneName(c.in);
    ASSERT_FALSE(name);
    EXPECT_EQ(name.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(name.error().message, "invalid zone name '" + c.in + "': " + c.error);
  }
}

TEST(LoadConfig, NormalizesZones) {
  Result<Config> config =
      LoadConfigFromString(WithZones(R"(["Example.ORG", ".", "b.example.org."])"), "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_THAT(config->servers[0].zones, ElementsAre("example.org.", ".", "b.example.org."));
}

TEST(LoadConfig, RejectsBadAndDuplicateZones) {
  EXPECT_EQ(LoadError(WithZones(R"(["a..b", "Example.org", "example.org."])")),
            "p.toml:3:10: invalid zone name 'a..b': empty label\n"
            "p.toml:3:33: duplicate zone 'example.org.' (first listed at p.toml:3:18)");
  EXPECT_EQ(LoadError(WithZones("[]")), "p.toml:3:9: 'zones' must not be empty");
  EXPECT_EQ(LoadError("[[server]]\nlisten = [\":53\"]\n"),
            "p.toml:1:1: missing required key 'zones' in [[server]]");
}

TEST(LoadConfig, CollectsAllProblemsInFileOrder) {
  const std::string error = LoadError(R"([global]
udp_max_payload = 100
log_level = "loud"

[[server]]
listen = ["localhost:53"]
zones = ["a..b"]
bogus = 1
[server.fil]
path = "x"

[[server]]
listen = [":70000"]
zones = ["ok."]
)");
  EXPECT_EQ(error,
            "p.toml:2:19: 'udp_max_payload' must be between 512 and 4096\n"
            "p.toml:3:13: 'log_level' must be one of debug, info, warning, error\n"
            "p.toml:6:11: invalid listen address 'localhost:53': host must be a literal IPv4 "
            "address or a bracketed IPv6 address, not 'localhost'\n"
            "p.toml:7:10: invalid zone name 'a..b': empty label\n"
            "p.toml:8:9: unknown key 'bogus' in [[server]]\n"
            "p.toml:9:1: unknown plugin 'fil' in [[server]]\n"
            "p.toml:13:11: invalid listen address ':70000': port must be a number between 1 and "
            "65535");
}

TEST(LoadConfig, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(LoadError("servers = 1\n" + WithZones(R"(["a."])")),
            "p.toml:1:11: unknown top-level key 'servers' (expected [global] or [[server]])");
  EXPECT_EQ(LoadError("[globals]\nx = 1\n" + WithZones(R"(["a."])")),
            "p.toml:1:1: unknown top-level key 'globals' (expected [global] or [[server]])");
}

TEST(LoadConfig, RequiresAServerBlock) {
  EXPECT_EQ(LoadError(""), "p.toml: at least one [[server]] block is required");
  EXPECT_EQ(LoadError("[global]\nlog_level = \"debug\"\n"),
            "p.toml: at least one [[server]] block is required");
  EXPECT_EQ(LoadError("server = []\n"), "p.toml: at least one [[server]] block is required");
  EXPECT_THAT(LoadError("[server]\nlisten = [\":53\"]\n"),
              StartsWith("p.toml:1:1: 'server' must be an array of tables ([[server]])"));
  EXPECT_THAT(LoadError("global = 3\n" + WithZones(R"(["a."])")),
              StartsWith("p.toml:1:10: 'global' must be a table ([global])"));
}

TEST(LoadConfig, ReportsTomlSyntaxErrorsWithPosition) {
  const std::string error =
      LoadError("[[server]]\nlisten = [\":53\"\nzones = [\".\"]\n", ErrorCode::kParse);
  EXPECT_THAT(error, StartsWith("p.toml:3:"));
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_THAT(LoadError("a = = 1\n", ErrorCode::kParse), StartsWith("p.toml:1:"));
}

TEST(LoadConfig, AcceptsKnownPluginsAndRejectsUnknownOnes) {
  Result<Config> config = LoadConfigFromString(WithZones(R"(["a."])") + R"(
[server.cache]
ttl = 30
[server.forward]
to = ["192.0.2.1:53"]
[server.health]
)",
                                               "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  std::vector<std::string> names;
  for (const auto& [name, table] : config->servers[0].plugins) {
    names.push_back(name);
    EXPECT_NE(table, nullptr);
  }
  EXPECT_THAT(names, ElementsAre("cache", "forward", "health"));

  EXPECT_EQ(LoadError(WithZones(R"(["a."])") + "[server.kubernets]\n"),
            "p.toml:4:1: unknown plugin 'kubernets' in [[server]]");
  EXPECT_EQ(LoadError(WithZones(R"(["a."])") + "cache = 30\n"),
            "p.toml:4:9: plugin 'cache' must be a table ([server.cache])");
}

TEST(LoadConfig, RejectsTheSameZoneOnASharedListenAddress) {
  const std::string error = LoadError(R"([[server]]
listen = ["127.0.0.1:53", "[::1]:53"]
zones = ["example.org.", "a."]

[[server]]
listen = ["[::1]:53"]
zones = ["b.", "EXAMPLE.org"]
)");
  EXPECT_EQ(error,
            "p.toml:7:16: zone 'example.org.' is also served at p.toml:3:10 by another [[server]] "
            "block on the shared listen address '[::1]:53'");
}

TEST(LoadConfig, AllowsSharedListenAddressesWithDistinctZones) {
  Result<Config> config = LoadConfigFromString(R"([[server]]
listen = [":53"]
zones = ["example.org."]
[[server]]
listen = ["0.0.0.0:53"]
zones = ["example.com."]
[[server]]
listen = ["127.0.0.1:5353"]
zones = ["example.org."]
)",
                                               "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->servers.size(), 3u);
  EXPECT_EQ(config->servers[2].index, 2u);
  EXPECT_EQ(config->servers[2].position.ToString(), "p.toml:7:1");
  // ":53" and "0.0.0.0:53" are the same socket.
  EXPECT_THAT(LoadError(R"([[server]]
listen = [":53"]
zones = ["a."]
[[server]]
listen = ["0.0.0.0:53"]
zones = ["a."]
)"),
              StartsWith("p.toml:6:10: zone 'a.' is also served at p.toml:3:10"));
}

TEST(LoadConfig, ReadsGlobalOptions) {
  Result<Config> config = LoadConfigFromString(R"([global]
tcp_idle_timeout = 30
tcp_max_connections = 1
udp_max_payload = 4096
log_level = "debug"
)" + WithZones(R"(["a."])"),
                                               "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->global.tcp_idle_timeout_ms, 30'000u);
  EXPECT_EQ(config->global.tcp_max_connections, 1u);
  EXPECT_EQ(config->global.udp_max_payload, 4096);
  EXPECT_EQ(config->global.log_level, "debug");

  config = LoadConfigFromString(
      "[global]\ntcp_idle_timeout = \"1m30s\"\nudp_max_payload = 512\n" + WithZones(R"(["a."])"),
      "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->global.tcp_idle_timeout_ms, 90'000u);
  EXPECT_EQ(config->global.udp_max_payload, 512);
}

TEST(LoadConfig, ReadsHardeningOptions) {
  Result<Config> config = LoadConfigFromString(R"([global]
tcp_read_timeout = "500ms"
tcp_max_queued_bytes = 4096
user = "nobody"
group = "nogroup"
[global.rrl]
responses_per_second = 10
window = 5
slip = 3
ipv4_prefix_length = 32
ipv6_prefix_length = 64
table_size = 2048
exempt = ["10.0.0.0/8", "::1"]
)" + WithZones(R"(["a."])"),
                                               "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  const GlobalOptions& g = config->global;
  EXPECT_EQ(g.tcp_read_timeout_ms, 500u);
  EXPECT_EQ(g.tcp_max_queued_bytes, 4096u);
  EXPECT_EQ(g.user, "nobody");
  EXPECT_EQ(g.group, "nogroup");
  EXPECT_EQ(g.rrl.responses_per_second, 10u);
  EXPECT_EQ(g.rrl.window_seconds, 5u);
  EXPECT_EQ(g.rrl.slip, 3u);
  EXPECT_EQ(g.rrl.ipv4_prefix_length, 32);
  EXPECT_EQ(g.rrl.ipv6_prefix_length, 64);
  EXPECT_EQ(g.rrl.table_size, 2048u);
  EXPECT_THAT(g.rrl.exempt, ElementsAre("10.0.0.0/8", "::1"));
}

TEST(LoadConfig, HardeningDefaultsAndErrors) {
  Result<Config> config = LoadConfigFromString(WithZones(R"(["a."])"), "p.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->global.tcp_read_timeout_ms, 2'000u);
  EXPECT_EQ(config->global.tcp_max_queued_bytes, 256u * 1024);
  EXPECT_TRUE(config->global.user.empty());
  EXPECT_EQ(config->global.rrl.responses_per_second, 0u);  // off

  EXPECT_THAT(LoadError("[global]\ngroup = \"x\"\n" + WithZones(R"(["a."])")),
              HasSubstr("'group' needs 'user'"));
  EXPECT_THAT(LoadError("[global]\nuser = \"\"\n" + WithZones(R"(["a."])")),
              HasSubstr("'user' must not be empty"));
  EXPECT_THAT(LoadError("[global]\ntcp_max_queued_bytes = 10\n" + WithZones(R"(["a."])")),
              HasSubstr("tcp_max_queued_bytes"));
  EXPECT_THAT(LoadError("[global.rrl]\nslip = 11\n" + WithZones(R"(["a."])")),
              HasSubstr("p.toml:2:8"));
  EXPECT_THAT(LoadError("[global.rrl]\nexempt = [\"10.0.0.0/33\"]\n" + WithZones(R"(["a."])")),
              HasSubstr("p.toml:2:10"));
  EXPECT_THAT(LoadError("[global.rrl]\nrate = 5\n" + WithZones(R"(["a."])")),
              HasSubstr("unknown key 'rate'"));
}

TEST(LoadConfig, RejectsGlobalOptionsOutOfRange) {
  struct Case {
    std::string line;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"udp_max_payload = 511", "p.toml:2:19: 'udp_max_payload' must be between 512 and 4096"},
      {"udp_max_payload = 4097", "p.toml:2:19: 'udp_max_payload' must be between 512 and 4096"},
      {"udp_max_payload = \"1232\"", "p.toml:2:19: 'udp_max_payload' must be an integer"},
      {"tcp_max_connections = 0",
       "p.toml:2:23: 'tcp_max_connections' must be between 1 and 1000000"},
      {"tcp_idle_timeout = 0", "p.toml:2:20: 'tcp_idle_timeout' must be between 1ms and 24h"},
      {"tcp_idle_timeout = \"25h\"", "p.toml:2:20: 'tcp_idle_timeout' must be between 1ms and 24h"},
      {"tcp_idle_timeout = 1.5", "p.toml:2:20: 'tcp_idle_timeout' must be a duration"},
      {"tcp_idle_timeout = \"10\"", "p.toml:2:20: 'tcp_idle_timeout': invalid duration \"10\""},
      {"log_level = \"verbose\"",
       "p.toml:2:13: 'log_level' must be one of debug, info, warning, error"},
      {"listen = [\":53\"]", "p.toml:2:10: unknown key 'listen' in [global]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    EXPECT_THAT(LoadError("[global]\n" + c.line + "\n" + WithZones(R"(["a."])")),
                StartsWith(c.error));
  }
}

TEST(LoadConfig, ReadsAFile) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "petdns_config";
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / "petdns.toml";
  {
    std::ofstream out(path);
    out << kExample;
  }
  Result<Config> config = LoadConfig(path.string());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->path, path.string());
  EXPECT_EQ(config->directory, dir.string());
  EXPECT_THAT(config->servers[0].zones, ElementsAre("example.org."));

  {
    std::ofstream out(path);
    out << "[[server]]\nlisten = [\":53\"]\nzones = [\"a..\"]\n";
  }
  config = LoadConfig(path.string());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, path.string() + ":3:10: invalid zone name 'a..': empty label");
  std::filesystem::remove_all(dir);
}

TEST(LoadConfig, ReportsUnreadableFiles) {
  const std::string missing = ::testing::TempDir() + "/petdns_no_such_file.toml";
  Result<Config> config = LoadConfig(missing);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kIo);
  EXPECT_EQ(config.error().message, "cannot read " + missing + ": No such file or directory");

  config = LoadConfig(::testing::TempDir());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kIo);
  EXPECT_THAT(config.error().message, StartsWith("cannot read " + ::testing::TempDir() + ": "));
}

TEST(SourcePosition, FormatsFileLineAndColumn) {
  EXPECT_EQ((SourcePosition{"a.toml", 3, 7}.ToString()), "a.toml:3:7");
  EXPECT_EQ((SourcePosition{"a.toml", 0, 0}.ToString()), "a.toml");
}

}  // namespace
}  // namespace petdns::config
