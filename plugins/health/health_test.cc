#include "plugins/health/health.h"

#include <gtest/gtest.h>

namespace petdns::plugins::health {
namespace {

TEST(Health, AnswersOkOnHealth) {
  http::HttpResponse r = HealthResponse("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
}

TEST(Health, OtherPathsAreNotFound) {
  EXPECT_EQ(HealthResponse("/").status, 404);
  EXPECT_EQ(HealthResponse("/ready").status, 404);
}

}  // namespace
}  // namespace petdns::plugins::health
