#include "plugins/kubernetes/api/list_stream.h"

#include <gtest/gtest.h>

#include <vector>

namespace petdns::plugins::kubernetes::api {
namespace {

using nlohmann::json;

// Feeds `body` in pieces of `step` bytes; returns the items and the envelope (or the error).
struct Outcome {
  std::vector<json> items;
  Result<json> envelope = json();
};

Outcome Parse(std::string_view body, size_t step, size_t max_item = 64u << 20) {
  ListStreamParser parser(max_item);
  Outcome out;
  for (size_t at = 0; at < body.size(); at += step) {
    Status st = parser.Feed(body.substr(at, step),
                            [&](json&& item) { out.items.push_back(std::move(item)); });
    if (!st) {
      out.envelope = st.error();
      return out;
    }
  }
  out.envelope = parser.Finish();
  return out;
}

constexpr std::string_view kList =
    R"({"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"42",)"
    R"("continue":"tok","items":"not these"},"items":[ {"metadata":{"name":"a"},)"
    R"("spec":{"ports":[{"port":80}],"note":"brackets ] } [ { and \"quotes\""}},)"
    "\n"
    R"({"metadata":{"name":"b"}} ],"tail":{"items":[1,2]}})";

TEST(ListStreamParser, HandsOutEachItemWhateverTheChunking) {
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, kList.size()}) {
    SCOPED_TRACE(step);
    Outcome out = Parse(kList, step);
    ASSERT_TRUE(out.envelope) << out.envelope.error().message;
    ASSERT_EQ(out.items.size(), 2u);
    EXPECT_EQ(out.items[0]["metadata"]["name"], "a");
    EXPECT_EQ(out.items[0]["spec"]["note"], "brackets ] } [ { and \"quotes\"");
    EXPECT_EQ(out.items[1]["metadata"]["name"], "b");
    // The envelope keeps everything but the items: only the top-level "items" is streamed.
    EXPECT_EQ(out.envelope->at("items"), json::array());
    EXPECT_EQ(out.envelope->at("metadata").at("resourceVersion"), "42");
    EXPECT_EQ(out.envelope->at("metadata").at("items"), "not these");
    EXPECT_EQ(out.envelope->at("tail").at("items"), json::array({1, 2}));
  }
}

TEST(ListStreamParser, KeepsItemsThatAreNotAListInTheEnvelope) {
  Outcome null_items = Parse(R"({"metadata":{},"items":null})", 3);
  ASSERT_TRUE(null_items.envelope);
  EXPECT_TRUE(null_items.envelope->at("items").is_null());
  Outcome scalar_items = Parse(R"({"items":[1, "two" ,null]})", 1);
  ASSERT_TRUE(scalar_items.envelope);
  EXPECT_EQ(scalar_items.items, (std::vector<json>{1, "two", nullptr}));
  Outcome empty = Parse(R"( {"items":[ ]} )", 1);
  ASSERT_TRUE(empty.envelope);
  EXPECT_TRUE(empty.items.empty());
}

TEST(ListStreamParser, RejectsWhatIsNotOneJsonObject) {
  struct Case {
    const char* body;
    const char* error;
  };
  std::vector<Case> cases = {
      {"", "empty response"},
      {"[]", "not a JSON object: []"},
      {R"({"items":[{"a":1}])", "the response ended inside the JSON object"},
      {R"({"items":[{"a":}]})", "invalid JSON in list item 0: {\"a\":}"},
      {R"({"items":[]} x)", "data after the JSON object: x"},
      {R"({"kind" "x","items":[]})", "invalid JSON: {\"kind\" \"x\",\"items\":[]}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Outcome out = Parse(c.body, 2);
    ASSERT_FALSE(out.envelope);
    EXPECT_EQ(out.envelope.error().message, c.error);
  }
}

TEST(ListStreamParser, LimitsTheSizeOfOneItem) {
  std::string body = R"({"items":[{"name":")" + std::string(100, 'x') + R"("}]})";
  Outcome out = Parse(body, 16, /*max_item=*/64);
  ASSERT_FALSE(out.envelope);
  EXPECT_EQ(out.envelope.error().message, "list item larger than 64 bytes");
  EXPECT_TRUE(Parse(body, 16, /*max_item=*/200).envelope);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
