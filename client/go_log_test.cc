#include "client/go_log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace petdns::client {
namespace {

class GoLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) old_tz_ = tz;
    had_tz_ = tz != nullptr;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", old_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  // 2026-11-21 23:28:37 UTC, the reference run's first timestamp.
  std::chrono::system_clock::time_point t_ = std::chrono::system_clock::from_time_t(1795303717);

 private:
  std::string old_tz_;
  bool had_tz_ = false;
};

TEST_F(GoLogTest, PrefixesTimestampAndAddsNewline) {
  EXPECT_EQ(GoLogger::Format(t_, "Peer finder exiting"),
            "2026/11/21 23:28:37 Peer finder exiting\n");
}

TEST_F(GoLogTest, KeepsTrailingNewlineWithoutAddingAnother) {
  EXPECT_EQ(GoLogger::Format(t_, "a\nb\n"), "2026/11/21 23:28:37 a\nb\n");
}

TEST_F(GoLogTest, EmptyMessageIsTimestampAndSpace) {
  EXPECT_EQ(GoLogger::Format(t_, ""), "2026/11/21 23:28:37 \n");
}

TEST(GoList, FormatsLikeGoPercentV) {
  EXPECT_EQ(GoList({}), "[]");
  EXPECT_EQ(GoList({"a"}), "[a]");
  EXPECT_EQ(GoList({"a", "b", "c"}), "[a b c]");
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
}

}  // namespace
}  // namespace petdns::client
