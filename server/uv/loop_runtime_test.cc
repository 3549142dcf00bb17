#include "server/uv/loop_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <thread>

#include "server/uv/loop.h"
#include "tests/testing/loop_runner.h"

namespace petdns::uv {
namespace {

using std::chrono::milliseconds;
using testing::RunLoopUntil;

class LoopRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init()); }

  Loop loop_;  // first: destroyed last
  std::unique_ptr<LoopRuntime> runtime_ = std::make_unique<LoopRuntime>(loop_);
};

TEST_F(LoopRuntimeTest, EveryFiresRepeatedly) {
  int count = 0;
  runtime_->Every(milliseconds(5), [&] { ++count; });
  EXPECT_TRUE(RunLoopUntil(loop_.get(), [&] { return count >= 3; }));
}

TEST_F(LoopRuntimeTest, AfterFiresOnceAndMayRescheduleItself) {
  int count = 0;
  std::function<void()> tick = [&] {
    if (++count < 3) runtime_->After(milliseconds(1), tick);
  };
  runtime_->After(milliseconds(1), tick);
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return count == 3; }));
  RunLoopUntil(
      loop_.get(), [] { return false; }, milliseconds(20));
  EXPECT_EQ(count, 3);
}

TEST_F(LoopRuntimeTest, BackgroundRunsWorkOffLoopThreadThenDoneOnIt) {
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id work_thread;
  std::thread::id done_thread;
  std::atomic<bool> worked{false};
  bool done = false;
  runtime_->Background(
      [&] {
        work_thread = std::this_thread::get_id();
        worked = true;
      },
      [&] {
        done_thread = std::this_thread::get_id();
        done = true;
      });
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return done; }));
  EXPECT_TRUE(worked);
  EXPECT_NE(work_thread, loop_thread);
  EXPECT_EQ(done_thread, loop_thread);
}

TEST_F(LoopRuntimeTest, ReloadSignalCallsEveryCallback) {
  int first = 0;
  int second = 0;
  runtime_->OnReloadSignal([&] { ++first; });
  runtime_->OnReloadSignal([&] { ++second; });
  ASSERT_EQ(raise(SIGHUP), 0);
  EXPECT_TRUE(RunLoopUntil(loop_.get(), [&] { return first == 1 && second == 1; }));
}

TEST_F(LoopRuntimeTest, TerminateSignalsCallCallbacks) {
  int calls = 0;
  runtime_->OnTerminate([&] { ++calls; });
  ASSERT_EQ(raise(SIGTERM), 0);
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return calls == 1; }));
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_TRUE(RunLoopUntil(loop_.get(), [&] { return calls == 2; }));
}

TEST_F(LoopRuntimeTest, ThrowingCallbackIsCaughtAndKeepsRunning) {
  int count = 0;
  runtime_->Every(milliseconds(1), [&] {
    ++count;
    throw std::runtime_error("boom");
  });
  EXPECT_TRUE(RunLoopUntil(loop_.get(), [&] { return count >= 2; }));
}

TEST_F(LoopRuntimeTest, ShutdownLetsTheLoopEnd) {
  int ticks = 0;
  runtime_->Every(milliseconds(1), [&] {
    if (++ticks == 3) runtime_->Shutdown();  // from inside a callback
  });
  runtime_->OnReloadSignal([] {});
  runtime_->OnTerminate([] {});
  EXPECT_EQ(loop_.Run(), 0);  // returns only once every handle is closed
  EXPECT_EQ(ticks, 3);
  EXPECT_TRUE(runtime_->shut_down());
  runtime_->Every(milliseconds(1), [&] { ++ticks; });  // ignored after shutdown
  EXPECT_EQ(loop_.Run(), 0);
  EXPECT_EQ(ticks, 3);
}

TEST_F(LoopRuntimeTest, ShutdownSkipsDoneOfPendingJobs) {
  std::atomic<bool> release{false};
  bool done = false;
  runtime_->Background(
      [&] {
        while (!release) std::this_thread::yield();
      },
      [&] { done = true; });
  runtime_->Shutdown();
  release = true;
  EXPECT_EQ(loop_.Run(), 0);  // the job finished (or was cancelled) and freed itself
  EXPECT_FALSE(done);
}

}  // namespace
}  // namespace petdns::uv
