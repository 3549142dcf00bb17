#include "server/corefile/corefile_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/corefile/corefile_lexer.h"

namespace petdns::corefile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Texts(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& t : tokens) out.push_back(t.text);
  return out;
}

Corefile Parse(std::string_view text) {
  auto parsed = ParseCorefile(text, "Corefile");
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? *parsed : Corefile{};
}

std::string ParseError(std::string_view text) {
  auto parsed = ParseCorefile(text, "Corefile");
  EXPECT_FALSE(parsed);
  return parsed ? "" : parsed.error().message;
}

TEST(CorefileLexer, SplitsWordsAndDropsComments) {
  auto tokens = Tokenize("# heading\n.:53 { # open\n  forward . 1.1.1.1#dns\n}\n", "Corefile");
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_THAT(Texts(*tokens), ElementsAre(".:53", "{", "forward", ".", "1.1.1.1", "}"));
  EXPECT_EQ((*tokens)[0].line, 2u);
  EXPECT_EQ((*tokens)[2].line, 3u);
  EXPECT_TRUE((*tokens)[2].starts_line);
  EXPECT_FALSE((*tokens)[3].starts_line);
}

TEST(CorefileLexer, KeepsQuotedStringsWhole) {
  auto tokens = Tokenize("log \"{remote} \\\"{name}\\\"\" \"{\"\n", "Corefile");
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_THAT(Texts(*tokens), ElementsAre("log", "{remote} \"{name}\"", "{"));
  EXPECT_TRUE((*tokens)[1].quoted);
  EXPECT_TRUE((*tokens)[2].quoted);
}

TEST(CorefileLexer, CountsLinesInsideQuotes) {
  auto tokens = Tokenize("a \"two\nlines\"\nb\n", "Corefile");
  ASSERT_TRUE(tokens);
  EXPECT_EQ((*tokens)[2].text, "b");
  EXPECT_EQ((*tokens)[2].line, 3u);
  EXPECT_TRUE((*tokens)[2].starts_line);
}

TEST(CorefileLexer, ReportsUnterminatedQuoteWithItsLine) {
  auto tokens = Tokenize(".:53 {\n  log \"oops\n}\n", "Corefile");
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().message, "Corefile:2: unterminated quoted string");
}

TEST(CorefileParser, ReadsBlocksDirectivesAndOptionBlocks) {
  Corefile c = Parse(
      ".:53 {\n"
      "    errors\n"
      "    kubernetes cluster.local in-addr.arpa {\n"
      "       pods insecure\n"
      "       fallthrough in-addr.arpa\n"
      "    }\n"
      "    cache 30\n"
      "}\n");
  ASSERT_EQ(c.blocks.size(), 1u);
  const ServerBlock& b = c.blocks[0];
  EXPECT_THAT(Texts(b.keys), ElementsAre(".:53"));
  ASSERT_EQ(b.directives.size(), 3u);
  EXPECT_EQ(b.directives[0].name, "errors");
  const Directive& k = b.directives[1];
  EXPECT_EQ(k.name, "kubernetes");
  EXPECT_EQ(k.line, 3u);
  EXPECT_THAT(Texts(k.args), ElementsAre("cluster.local", "in-addr.arpa"));
  ASSERT_TRUE(k.has_body);
  ASSERT_EQ(k.body.size(), 2u);
  EXPECT_EQ(k.body[1].name, "fallthrough");
  EXPECT_EQ(k.body[1].line, 5u);
  EXPECT_THAT(Texts(k.body[1].args), ElementsAre("in-addr.arpa"));
  EXPECT_EQ(b.directives[2].name, "cache");
  EXPECT_FALSE(b.directives[2].has_body);
  EXPECT_TRUE(c.issues.empty());
}

TEST(CorefileParser, ReadsSeveralKeysAndBlocks) {
  Corefile c = Parse("example.org example.net:1053 {\n  whoami\n}\na.org, b.org {\n}\n");
  ASSERT_EQ(c.blocks.size(), 2u);
  EXPECT_THAT(Texts(c.blocks[0].keys), ElementsAre("example.org", "example.net:1053"));
  EXPECT_THAT(Texts(c.blocks[1].keys), ElementsAre("a.org", "b.org"));
  EXPECT_EQ(c.blocks[1].line, 4u);
  EXPECT_TRUE(c.blocks[1].directives.empty());
}

TEST(CorefileParser, NestsBlocksInsideOptionBlocks) {
  Corefile c = Parse(".:53 {\n  a {\n    b {\n      c 1\n    }\n  }\n}\n");
  const Directive& a = c.blocks.at(0).directives.at(0);
  ASSERT_EQ(a.body.size(), 1u);
  ASSERT_EQ(a.body[0].body.size(), 1u);
  EXPECT_EQ(a.body[0].body[0].name, "c");
  EXPECT_EQ(a.body[0].body[0].line, 4u);
}

TEST(CorefileParser, ReportsErrorsWithLineNumbers) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {".:53 {\n  errors\n", "Corefile:1: '{' is never closed"},
      {".:53 {\n  cache {\n    success 1\n}\n", "Corefile:1: '{' is never closed"},
      {".:53 {\n}\n}\n", "Corefile:3: unexpected '}'"},
      {".:53\n", "Corefile:1: expected '{' after the server block keys"},
      {".:53 {\n  errors { {\n  }\n}\n", "Corefile:2: unexpected '{'"},
      {"(a) {\n  import a\n}\n.:53 {\n  import a\n}\n", "Corefile:2: imports nested deeper"},
      {"(a) {\n}\n(a) {\n}\n", "Corefile:3: snippet 'a' is defined twice"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseError(text), HasSubstr(expected));
  }
}

TEST(CorefileParser, ExpandsSnippets) {
  Corefile c = Parse(
      "(common) {\n"
      "  errors\n"
      "  cache 30\n"
      "}\n"
      "example.org {\n"
      "  import common\n"
      "  file db.example.org\n"
      "}\n");
  ASSERT_EQ(c.blocks.size(), 1u);
  const auto& d = c.blocks[0].directives;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "errors");
  EXPECT_EQ(d[0].line, 2u);  // where the snippet says it
  EXPECT_EQ(d[1].name, "cache");
  EXPECT_EQ(d[2].name, "file");
}

TEST(CorefileParser, ReportsFileImportsInsteadOfReadingThem) {
  Corefile c = Parse("import /etc/coredns/custom/*.server\n.:53 {\n  import extra.conf\n}\n");
  ASSERT_EQ(c.issues.size(), 1u);
  EXPECT_EQ(c.issues[0].line, 1u);
  EXPECT_EQ(c.issues[0].subject, "import /etc/coredns/custom/*.server");
  // Inside a block the import stays a directive; the converter names it.
  EXPECT_EQ(c.blocks.at(0).directives.at(0).name, "import");
}

TEST(CorefileParser, KeepsPlaceholdersAsTextAndReportsThem) {
  Corefile c = Parse(
      ".:{$DNS_PORT} {\n"
      "  forward . {%UPSTREAM%}\n"
      "  bind __PILLAR__LOCAL__DNS__\n"
      "}\n");
  EXPECT_EQ(c.blocks.at(0).keys.at(0).text, ".:{$DNS_PORT}");
  ASSERT_EQ(c.issues.size(), 3u);
  EXPECT_EQ(c.issues[0].subject, "{$DNS_PORT}");
  EXPECT_EQ(c.issues[0].line, 1u);
  EXPECT_EQ(c.issues[1].subject, "{%UPSTREAM%}");
  EXPECT_EQ(c.issues[2].subject, "__PILLAR__LOCAL__DNS__");
  EXPECT_THAT(c.issues[2].reason, HasSubstr("substitute"));
}

TEST(CorefileParser, FormatsIssuesForStderr) {
  EXPECT_EQ(FormatIssue("Corefile", Issue{12, "loop", "no petdns equivalent"}),
            "Corefile:12: loop: not converted (no petdns equivalent)");
}

}  // namespace
}  // namespace petdns::corefile
