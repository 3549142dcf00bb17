#include "plugins/kubernetes/manifests/yaml_to_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

json One(std::string_view text) {
  YamlParseResult result = YamlToJson(text);
  EXPECT_TRUE(result.ok) << result.line << ": " << result.error;
  EXPECT_EQ(result.documents.size(), 1u);
  return result.documents.empty() ? json() : result.documents[0].value;
}

TEST(YamlToJson, TypesPlainScalarsByTheCoreSchema) {
  struct Case {
    std::string yaml;
    json want;
  };
  std::vector<Case> cases = {
      {"80", 80},
      {"-3", -3},
      {"+7", 7},
      {"0x1F", 31},
      {"0o17", 15},
      {"1.5", 1.5},
      {"1e3", 1000.0},
      {"true", true},
      {"False", false},
      {"TRUE", true},
      {"null", nullptr},
      {"~", nullptr},
      {"", nullptr},
      {"yes", "yes"},  // YAML 1.2: only true/false are booleans
      {"on", "on"},
      {"1Gi", "1Gi"},
      {"10.244.0.1", "10.244.0.1"},
      {".inf", ".inf"},
      {"web-0", "web-0"},
      {"\"80\"", "80"},
      {"'true'", "true"},
      {"\"null\"", "null"},
      {"!!str 80", "80"},
      {"!!int \"80\"", 80},
      {"!!bool 'true'", true},
      {"18446744073709551615", 18446744073709551615ULL},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    json doc = One("v: " + c.yaml + "\n");
    EXPECT_EQ(doc["v"], c.want);
    EXPECT_EQ(doc["v"].type(), c.want.type());
  }
}

TEST(YamlToJson, KeepsKubernetesFieldTypes) {
  json doc = One(R"(
spec:
  replicas: 2
  publishNotReadyAddresses: true
  ports:
  - port: 80
    targetPort: web
metadata:
  annotations:
    petdns.io/ready-replicas: "1"
    note: |
      line one
      line two
)");
  EXPECT_TRUE(doc["spec"]["replicas"].is_number_integer());
  EXPECT_EQ(doc["spec"]["publishNotReadyAddresses"], true);
  EXPECT_EQ(doc["spec"]["ports"][0]["port"], 80);
  EXPECT_EQ(doc["spec"]["ports"][0]["targetPort"], "web");
  EXPECT_EQ(doc["metadata"]["annotations"]["petdns.io/ready-replicas"], "1");
  EXPECT_EQ(doc["metadata"]["annotations"]["note"], "line one\nline two\n");
}

TEST(YamlToJson, SplitsDocumentsAndKeepsEmptyOnes) {
  YamlParseResult result = YamlToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(result.ok);
  ASSERT_EQ(result.documents.size(), 3u);
  EXPECT_EQ(result.documents[0].value, json({{"a", 1}}));
  EXPECT_TRUE(result.documents[1].value.is_null());
  EXPECT_EQ(result.documents[2].value, json({{"b", 2}}));
  EXPECT_EQ(result.documents[2].line, 4);
}

TEST(YamlToJson, ExpandsAliasesAndMergeKeys) {
  json doc = One("base: &b {app: web, tier: db}\nuse: *b\nmerged:\n  <<: *b\n  tier: cache\n");
  EXPECT_EQ(doc["use"], json({{"app", "web"}, {"tier", "db"}}));
  EXPECT_EQ(doc["merged"], json({{"app", "web"}, {"tier", "cache"}}));
}

TEST(YamlToJson, ReportsSyntaxErrorsWithLine) {
  YamlParseResult result = YamlToJson("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_FALSE(result.ok);
  EXPECT_GT(result.line, 1);
  EXPECT_FALSE(result.error.empty());
}

TEST(YamlToJson, RejectsDuplicateKeys) {
  YamlParseResult result = YamlToJson("a: 1\nb: 2\na: 3\n");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.line, 3);
  EXPECT_EQ(result.error, "duplicate key \"a\"");
}

TEST(YamlToJson, RejectsValuesThatDoNotMatchTheirTag) {
  YamlParseResult result = YamlToJson("a: 1\nb: !!int eighty\n");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.line, 2);
}

TEST(YamlToJson, StopsAliasBombs) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev +
            ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev +
            ", " + prev + ", " + prev + "]\n";
  }
  YamlParseResult result = YamlToJson(text);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("too large"), std::string::npos);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
