#include "plugins/kubernetes/api/watch_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace petdns::plugins::kubernetes::api {
namespace {

const std::string kAdded =
    R"({"type":"ADDED","object":{"kind":"Service","metadata":{"name":"a {b}","resourceVersion":"10","annotations":{"x":"quote \" and \\ and }"}}}})"
    "\n";
const std::string kBookmark =
    R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"12"},"spec":{}}})"
    "\n";
const std::string kDeleted =
    R"({"type":"DELETED","object":{"kind":"Service","metadata":{"name":"b","resourceVersion":"13"}}})"
    "\n";

struct Collector {
  std::vector<WatchEvent> events;
  WatchStreamParser::EventFn Fn() {
    return [this](WatchEvent&& e) {
      events.push_back(std::move(e));
      return true;
    };
  }
  std::vector<std::string> Summary() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(std::string(WatchEventKindName(e.kind)) + " " +
                    e.object["metadata"]["resourceVersion"].get<std::string>());
    }
    return out;
  }
};

TEST(WatchStreamParser, SeveralEventsInOneChunk) {
  WatchStreamParser p;
  Collector c;
  ASSERT_TRUE(p.Feed(kAdded + kBookmark + kDeleted, c.Fn()));
  EXPECT_EQ(c.Summary(), (std::vector<std::string>{"ADDED 10", "BOOKMARK 12", "DELETED 13"}));
  EXPECT_EQ(c.events[0].object["metadata"]["name"], "a {b}");
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_TRUE(p.Finish());
}

TEST(WatchStreamParser, EventSplitAtEveryByte) {
  const std::string stream = kAdded + kBookmark + kDeleted;
  for (size_t step : {1u, 2u, 7u, 64u}) {
    SCOPED_TRACE(step);
    WatchStreamParser p;
    Collector c;
    for (size_t i = 0; i < stream.size(); i += step) {
      ASSERT_TRUE(p.Feed(std::string_view(stream).substr(i, step), c.Fn()));
    }
    EXPECT_EQ(c.Summary(), (std::vector<std::string>{"ADDED 10", "BOOKMARK 12", "DELETED 13"}));
    EXPECT_TRUE(p.Finish());
  }
}

TEST(WatchStreamParser, EventEndAndNextStartInOneChunk) {
  WatchStreamParser p;
  Collector c;
  const std::string both = kAdded + kDeleted;
  const size_t cut = kAdded.size() - 5;
  ASSERT_TRUE(p.Feed(both.substr(0, cut), c.Fn()));
  EXPECT_TRUE(c.events.empty());
  EXPECT_FALSE(p.Finish());  // mid-event
  ASSERT_TRUE(p.Feed(both.substr(cut, 20), c.Fn()));
  EXPECT_EQ(c.events.size(), 1u);
  ASSERT_TRUE(p.Feed(both.substr(cut + 20), c.Fn()));
  EXPECT_EQ(c.Summary(), (std::vector<std::string>{"ADDED 10", "DELETED 13"}));
}

TEST(WatchStreamParser, ToleratesCrlfBlankLinesAndMissingNewline) {
  WatchStreamParser p;
  Collector c;
  std::string a = kAdded;
  a.pop_back();
  ASSERT_TRUE(
      p.Feed("\r\n\n" + a + "\r\n\r\n" + kBookmark.substr(0, kBookmark.size() - 1), c.Fn()));
  EXPECT_EQ(c.events.size(), 2u);
  EXPECT_TRUE(p.Finish());
}

TEST(WatchStreamParser, GarbageIsAnError) {
  struct Case {
    std::string input;
    std::string error;
  };
  std::vector<Case> cases = {
      {"<html>oops</html>\n", "garbage in watch stream: <html>"},
      {R"({"type":"ADDED","object":{"a":tru}})"
       "\n",
       "invalid JSON"},
      {R"({"object":{}})"
       "\n",
       "without a \"type\""},
      {R"({"type":"RENAMED","object":{}})"
       "\n",
       "unknown watch event type \"RENAMED\""},
      {R"({"type":"ADDED","object":[1]})"
       "\n",
       "ADDED without an object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    WatchStreamParser p;
    Collector col;
    Status st = p.Feed(kAdded + c.input + kDeleted, col.Fn());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find(c.error), std::string::npos) << st.error().message;
    EXPECT_EQ(col.events.size(), 1u);  // the good event before the bad one
  }
}

TEST(WatchStreamParser, UnbalancedLineIsAnErrorAtItsLineBreak) {
  // A line whose braces never close must not swallow the events after it.
  WatchStreamParser p;
  Collector c;
  Status st = p.Feed(kAdded + R"({"type":"ADDED","object":{garbage)" + "\n", c.Fn());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cut short at the end of its line: {\"type\":\"ADDED\""),
            std::string::npos)
      << st.error().message;
  EXPECT_EQ(c.events.size(), 1u);
  // Also when the line break comes in a later chunk, with more events after it.
  WatchStreamParser q;
  Collector d;
  ASSERT_TRUE(q.Feed(R"({"type":"ADDED","object":{"a":[1,)", d.Fn()));
  EXPECT_FALSE(q.Feed("\n" + kBookmark + kDeleted, d.Fn()));
  EXPECT_TRUE(d.events.empty());
}

TEST(WatchStreamParser, StopsWhenTheCallbackSaysSo) {
  WatchStreamParser p;
  int seen = 0;
  ASSERT_TRUE(p.Feed(kAdded + kBookmark + kDeleted, [&](WatchEvent&&) {
    ++seen;
    return false;
  }));
  EXPECT_EQ(seen, 1);
}

TEST(WatchStreamParser, OversizedEventIsAnError) {
  WatchStreamParser p(/*max_event_bytes=*/32);
  Collector c;
  Status st = p.Feed(kAdded.substr(0, 40), c.Fn());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("larger than 32 bytes"), std::string::npos);
}

TEST(WatchStreamParser, ErrorEventCarriesTheStatus) {
  WatchStreamParser p;
  Collector c;
  ASSERT_TRUE(p.Feed(
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 48000 (48150)","reason":"Expired","code":410}})j"
      "\n",
      c.Fn()));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, WatchEventKind::kError);
  EXPECT_EQ(c.events[0].object["code"], 410);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
