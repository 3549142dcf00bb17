#include "plugins/ready/ready.h"

#include <gtest/gtest.h>

namespace petdns::plugins::ready {
namespace {

TEST(Ready, OkWhenEveryPluginIsReady) {
  http::HttpResponse r = ReadyResponse("/ready", {{0, "file", true}, {1, "metrics", true}}, false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
}

TEST(Ready, ListsPluginsNotReadyOncePerLine) {
  http::HttpResponse r = ReadyResponse(
      "/ready", {{0, "kubernetes", false}, {1, "kubernetes", false}, {1, "hosts", false}}, false);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "kubernetes\nhosts\n");
}

TEST(Ready, UnavailableDuringLameDuck) {
  http::HttpResponse r = ReadyResponse("/ready", {{0, "file", true}}, true);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "Shutting down");
}

TEST(Ready, OtherPathsAreNotFound) { EXPECT_EQ(ReadyResponse("/health", {}, false).status, 404); }

}  // namespace
}  // namespace petdns::plugins::ready
