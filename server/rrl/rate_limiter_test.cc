#include "server/rrl/rate_limiter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <string_view>

namespace petdns::rrl {
namespace {

sockaddr_storage Address(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
  }
  return ss;
}

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

struct Tally {
  int sent = 0, dropped = 0, slipped = 0;
};

// `count` answers for `answer` to `client` within the second `now` (the fake clock).
Tally Burst(RateLimiter& limiter, const char* client, std::string_view answer, int count,
            uint32_t now) {
  const sockaddr_storage ss = Address(client);
  Tally t;
  for (int i = 0; i < count; ++i) {
    switch (limiter.Check(reinterpret_cast<const sockaddr*>(&ss), Bytes(answer), now)) {
      case Action::kSend:
        ++t.sent;
        break;
      case Action::kDrop:
        ++t.dropped;
        break;
      case Action::kSlip:
        ++t.slipped;
        break;
    }
  }
  return t;
}

RateLimiterSettings Settings(uint32_t rate, uint32_t slip = 2, uint32_t window = 1) {
  RateLimiterSettings s;
  s.responses_per_second = rate;
  s.slip = slip;
  s.window_seconds = window;
  s.table_size = 1024;
  return s;
}

TEST(RateLimiter, AllowsTheRateEachSecondAndSlipsEverySecondLimitedAnswer) {
  RateLimiter limiter(Settings(10));
  Tally t = Burst(limiter, "192.0.2.1", "www", 50, 100);
  EXPECT_EQ(t.sent, 10);
  EXPECT_EQ(t.slipped, 20);
  EXPECT_EQ(t.dropped, 20);
  t = Burst(limiter, "192.0.2.1", "www", 50, 101);  // a new second: 10 more
  EXPECT_EQ(t.sent, 10);
  EXPECT_EQ(limiter.slipped(), 40u);
  EXPECT_EQ(limiter.dropped(), 40u);
}

TEST(RateLimiter, CreditIsCappedAtOneSecond) {
  RateLimiter limiter(Settings(5));
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 1, 100).sent, 1);
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 100, 200).sent, 5);  // not 100 s worth
}

TEST(RateLimiter, NetblocksAndAnswersHaveTheirOwnAccounts) {
  RateLimiter limiter(Settings(3));
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 10, 7).sent, 3);
  // Same /24: same account.
  EXPECT_EQ(Burst(limiter, "192.0.2.200", "www", 10, 7).sent, 0);
  // Another /24, or another answer: fresh accounts.
  EXPECT_EQ(Burst(limiter, "192.0.3.1", "www", 10, 7).sent, 3);
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "mail", 10, 7).sent, 3);
  // IPv6: /56 by default.
  EXPECT_EQ(Burst(limiter, "2001:db8:0:1::1", "www", 10, 7).sent, 3);
  EXPECT_EQ(Burst(limiter, "2001:db8:0:ff::2", "www", 10, 7).sent, 0);
  EXPECT_EQ(Burst(limiter, "2001:db8:0:100::1", "www", 10, 7).sent, 3);
}

TEST(RateLimiter, SlipZeroDropsEverythingAndSlipOneSlipsEverything) {
  RateLimiter never(Settings(1, 0));
  Tally t = Burst(never, "192.0.2.1", "www", 10, 1);
  EXPECT_EQ(t.sent, 1);
  EXPECT_EQ(t.slipped, 0);
  EXPECT_EQ(t.dropped, 9);
  RateLimiter always(Settings(1, 1));
  t = Burst(always, "192.0.2.1", "www", 10, 1);
  EXPECT_EQ(t.sent, 1);
  EXPECT_EQ(t.slipped, 9);
  EXPECT_EQ(t.dropped, 0);
}

TEST(RateLimiter, WindowKeepsASustainedFloodLimitedLonger) {
  RateLimiter limiter(Settings(10, 0, 3));  // debt up to 2 s of credit
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 100, 50).sent, 10);
  // The debt (20) takes two seconds of credit to pay off.
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 100, 51).sent, 0);
  EXPECT_EQ(Burst(limiter, "192.0.2.1", "www", 1, 54).sent, 1);  // quiet long enough: back
}

TEST(RateLimiter, ExemptClientsAndZeroRate) {
  RateLimiterSettings s = Settings(1);
  s.exempt = *CidrSet::Parse({"10.0.0.0/8"});
  RateLimiter limiter(std::move(s));
  const sockaddr_storage inside = Address("10.1.2.3");
  const sockaddr_storage outside = Address("11.1.2.3");
  EXPECT_TRUE(limiter.Exempt(reinterpret_cast<const sockaddr*>(&inside)));
  EXPECT_FALSE(limiter.Exempt(reinterpret_cast<const sockaddr*>(&outside)));
  RateLimiter off(Settings(0));
  EXPECT_EQ(Burst(off, "192.0.2.1", "www", 1000, 1).sent, 1000);
}

TEST(RateLimiter, ManyAnswersFitTheFixedTable) {
  RateLimiter limiter(Settings(1));
  // Far more accounts than slots: evicted ones start over, nothing grows or crashes.
  for (int i = 0; i < 20000; ++i) {
    Burst(limiter, "192.0.2.1", "name" + std::to_string(i), 2, 1);
  }
  EXPECT_GT(limiter.dropped() + limiter.slipped(), 0u);
}

}  // namespace
}  // namespace petdns::rrl
