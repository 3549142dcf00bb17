#include "server/config/table_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace petdns::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

toml::table Parse(std::string_view text) { return toml::parse(text, std::string_view("t.toml")); }

// Finish() as text, "" when there was no problem.
std::string Problems(TableReader& reader) {
  Status status = reader.Finish();
  if (status) return "";
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  return status.error().message;
}

TEST(TableReader, ReadsEveryType) {
  const toml::table table = Parse(R"(
name = "zones/example.org.zone"
count = 42
enabled = true
names = ["a", "b"]
ttl = "1m30s"
[nested]
x = 1
)");
  TableReader reader(table, "server.file", "t.toml");
  EXPECT_EQ(reader.String("name"), "zones/example.org.zone");
  EXPECT_EQ(reader.Integer("count", 0, 100), 42);
  EXPECT_EQ(reader.Bool("enabled"), true);
  EXPECT_THAT(reader.StringArray("names").value(), ElementsAre("a", "b"));
  EXPECT_EQ(reader.Duration("ttl"), milliseconds(90'000));
  const toml::table* nested = reader.Table("nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_TRUE(nested->contains("x"));
  EXPECT_EQ(Problems(reader), "");
  EXPECT_EQ(reader.file(), "t.toml");
}

TEST(TableReader, MissingOptionalKeysYieldNulloptWithoutError) {
  const toml::table table = Parse("");
  TableReader reader(table, "server.cache", "t.toml");
  EXPECT_EQ(reader.String("a"), std::nullopt);
  EXPECT_EQ(reader.Integer("b", 0, 1), std::nullopt);
  EXPECT_EQ(reader.Bool("c"), std::nullopt);
  EXPECT_EQ(reader.StringArray("d"), std::nullopt);
  EXPECT_EQ(reader.Duration("e"), std::nullopt);
  EXPECT_EQ(reader.Table("f"), nullptr);
  EXPECT_EQ(Problems(reader), "");
}

TEST(TableReader, ReportsMissingRequiredKeysAtTheTable) {
  const toml::table root = Parse("[server]\n[server.file]\nother = 1\n");
  const toml::table& table = *root["server"]["file"].as_table();
  TableReader reader(table, "server.file", "t.toml");
  EXPECT_EQ(reader.String("path", /*required=*/true), std::nullopt);
  EXPECT_EQ(reader.Integer("n", 0, 9, /*required=*/true), std::nullopt);
  EXPECT_EQ(reader.StringArray("zones", /*required=*/true), std::nullopt);
  reader.Integer("other", 0, 9);
  EXPECT_EQ(Problems(reader),
            "t.toml:2:1: missing required key 'path' in [server.file]\n"
            "t.toml:2:1: missing required key 'n' in [server.file]\n"
            "t.toml:2:1: missing required key 'zones' in [server.file]");
}

TEST(TableReader, ReportsWrongTypesAtTheValue) {
  const toml::table table = Parse(R"(s = 1
i = "x"
f = 1.5
b = "yes"
a = "not an array"
e = ["ok", 2]
t = 3
)");
  TableReader reader(table, "server.hosts", "t.toml");
  EXPECT_EQ(reader.String("s"), std::nullopt);
  EXPECT_EQ(reader.Integer("i", 0, 9), std::nullopt);
  EXPECT_EQ(reader.Integer("f", 0, 9), std::nullopt);
  EXPECT_EQ(reader.Bool("b"), std::nullopt);
  EXPECT_EQ(reader.StringArray("a"), std::nullopt);
  EXPECT_EQ(reader.StringArray("e"), std::nullopt);
  EXPECT_EQ(reader.Table("t"), nullptr);
  EXPECT_EQ(Problems(reader),
            "t.toml:1:5: 's' must be a string\n"
            "t.toml:2:5: 'i' must be an integer\n"
            "t.toml:3:5: 'f' must be an integer\n"
            "t.toml:4:5: 'b' must be a boolean (true or false)\n"
            "t.toml:5:5: 'a' must be an array of strings\n"
            "t.toml:6:12: 'e' must be an array of strings\n"
            "t.toml:7:5: 't' must be a table");
}

TEST(TableReader, ChecksIntegerRange) {
  const toml::table table = Parse("low = 511\nhigh = 4097\nok = 4096\n");
  TableReader reader(table, "global", "t.toml");
  EXPECT_EQ(reader.Integer("low", 512, 4096), std::nullopt);
  EXPECT_EQ(reader.Integer("high", 512, 4096), std::nullopt);
  EXPECT_EQ(reader.Integer("ok", 512, 4096), 4096);
  EXPECT_EQ(Problems(reader),
            "t.toml:1:7: 'low' must be between 512 and 4096\n"
            "t.toml:2:8: 'high' must be between 512 and 4096");
}

TEST(TableReader, ReportsUnknownKeysInFileOrder) {
  const toml::table root = Parse(R"([server.file]
zeta = 1
path = "x"
alpha = true
)");
  const toml::table& table = *root["server"]["file"].as_table();
  TableReader reader(table, "server.file", "t.toml");
  EXPECT_EQ(reader.String("path"), "x");
  EXPECT_EQ(Problems(reader),
            "t.toml:2:8: unknown key 'zeta' in [server.file]\n"
            "t.toml:4:9: unknown key 'alpha' in [server.file]");
}

TEST(TableReader, AddErrorUsesTheKeyPositionAndMarksItKnown) {
  const toml::table root = Parse("[server.forward]\nto = \"nowhere\"\n");
  const toml::table& table = *root["server"]["forward"].as_table();
  TableReader reader(table, "server.forward", "t.toml");
  reader.AddError("to", "'to' must be an IP address");
  reader.AddError("", "something about the table");
  EXPECT_EQ(Problems(reader),
            "t.toml:1:1: something about the table\n"
            "t.toml:2:6: 'to' must be an IP address");
}

TEST(TableReader, FinishForgetsReportedProblems) {
  const toml::table table = Parse("x = 1\n");
  TableReader reader(table, "global", "t.toml");
  EXPECT_NE(Problems(reader), "");
  EXPECT_EQ(Problems(reader), "");
}

TEST(TableReader, ParsesDurations) {
  struct Case {
    std::string toml;
    milliseconds want;
  };
  const std::vector<Case> cases = {
      {R"(d = "500ms")", milliseconds(500)},
      {R"(d = "10s")", milliseconds(10'000)},
      {R"(d = "2m")", milliseconds(120'000)},
      {R"(d = "1h")", milliseconds(3'600'000)},
      {R"(d = "1m30s")", milliseconds(90'000)},
      {R"(d = "1h2m3s4ms")", milliseconds(3'723'004)},
      {R"(d = "0s")", milliseconds(0)},
      {"d = 7", milliseconds(7'000)},
      {"d = 0", milliseconds(0)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.toml);
    const toml::table table = Parse(c.toml);
    TableReader reader(table, "global", "t.toml");
    EXPECT_EQ(reader.Duration("d"), c.want);
    EXPECT_EQ(Problems(reader), "");
  }
}

TEST(TableReader, RejectsBadDurations) {
  struct Case {
    std::string toml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"d = 1.5", "t.toml:1:5: 'd' must be a duration (use e.g."},
      {"d = true", "t.toml:1:5: 'd' must be a duration (use e.g."},
      {"d = -3", "t.toml:1:5: 'd' must not be negative"},
      {R"(d = "-3s")", "t.toml:1:5: 'd' must not be negative"},
      {R"(d = "10")", R"(t.toml:1:5: 'd': invalid duration "10" (use e.g.)"},
      {R"(d = "")", R"(t.toml:1:5: 'd': invalid duration "" ()"},
      {R"(d = "5d")", R"(t.toml:1:5: 'd': invalid duration "5d" ()"},
      {R"(d = "1.5s")", R"(t.toml:1:5: 'd': invalid duration "1.5s" ()"},
      {R"(d = "s")", R"(t.toml:1:5: 'd': invalid duration "s" ()"},
      {R"(d = "10 s")", R"(t.toml:1:5: 'd': invalid duration "10 s" ()"},
      {R"(d = "99999999999999999999h")", R"(t.toml:1:5: 'd': invalid duration)"},
      {R"(d = "9223372036854775807s")", R"(t.toml:1:5: 'd': invalid duration)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.toml);
    const toml::table table = Parse(c.toml);
    TableReader reader(table, "global", "t.toml");
    EXPECT_EQ(reader.Duration("d"), std::nullopt);
    EXPECT_THAT(Problems(reader), ::testing::StartsWith(c.error));
  }
}

TEST(TableReader, UsesTheTablePositionForImplicitTables) {
  // [a.b] creates [a] implicitly; toml++ may not know where [a] is, so the file alone is fine too.
  const toml::table root = Parse("\n[a.b]\nx = 1\n");
  const toml::table& a = *root["a"].as_table();
  TableReader reader(a, "a", "t.toml");
  reader.AddError("", "problem");
  EXPECT_THAT(Problems(reader), HasSubstr("problem"));
}

}  // namespace
}  // namespace petdns::config
