#include "plugins/kubernetes/api/backoff.h"

#include <gtest/gtest.h>

namespace petdns::plugins::kubernetes::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, DoublesUpToTheCapWithoutJitter) {
  Backoff b(BackoffPolicy{.jitter = false});
  auto t = Backoff::Clock::time_point{} + seconds(1000);
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.Next(t + seconds(i)).count());
  EXPECT_EQ(got, (std::vector<int64_t>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
}

TEST(Backoff, JitterStaysInDToTwoD) {
  Backoff b(BackoffPolicy{}, /*seed=*/42);
  auto t = Backoff::Clock::time_point{} + seconds(1000);
  int64_t d = 800;
  for (int i = 0; i < 10; ++i) {
    int64_t got = b.Next(t + seconds(i)).count();
    EXPECT_GE(got, d);
    EXPECT_LT(got, 2 * d);
    d = std::min<int64_t>(d * 2, 30000);
  }
}

TEST(Backoff, ResetsAfterTwoQuietMinutes) {
  Backoff b(BackoffPolicy{.jitter = false});
  auto t = Backoff::Clock::time_point{} + seconds(1000);
  b.Next(t);
  b.Next(t + seconds(1));
  EXPECT_EQ(b.Next(t + seconds(2)), milliseconds(3200));
  EXPECT_EQ(b.Next(t + seconds(2) + seconds(119)), milliseconds(6400));  // not quiet long enough
  EXPECT_EQ(b.Next(t + seconds(2) + seconds(119) + seconds(120)), milliseconds(800));
}

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
