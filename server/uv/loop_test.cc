#include "server/uv/loop.h"

#include <gtest/gtest.h>

#include "server/uv/handle.h"

namespace petdns::uv {
namespace {

TEST(Loop, RunReturnsWhenNothingIsActive) {
  Loop loop;
  ASSERT_TRUE(loop.Init());
  int fired = 0;
  Handle<uv_timer_t> timer;
  ASSERT_TRUE(timer.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, &fired));
  ASSERT_EQ(uv_timer_start(
                timer.get(), [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 1, 0),
            0);
  EXPECT_EQ(loop.Run(), 0);
  EXPECT_EQ(fired, 1);
}

TEST(Loop, StopEndsRun) {
  Loop loop;
  ASSERT_TRUE(loop.Init());
  Handle<uv_timer_t> timer;
  ASSERT_TRUE(timer.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, &loop));
  ASSERT_EQ(uv_timer_start(
                timer.get(), [](uv_timer_t* t) { static_cast<Loop*>(t->data)->Stop(); }, 1, 1),
            0);
  EXPECT_NE(loop.Run(), 0);  // stopped with the repeating timer still active
}

TEST(Loop, DestructorClosesLeftoverHandles) {
  uv_timer_t raw;  // outlives the loop; closed (without callback) by ~Loop
  {
    Loop loop;
    ASSERT_TRUE(loop.Init());
    ASSERT_EQ(uv_timer_init(loop.get(), &raw), 0);
    ASSERT_EQ(uv_timer_start(
                  &raw, [](uv_timer_t*) {}, 100000, 100000),
              0);
    // A Handle closed right before the loop goes away: its close callback (which frees it) must
    // still run, or ASan/valgrind reports a leak.
    Handle<uv_timer_t> closed_late;
    ASSERT_TRUE(
        closed_late.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, nullptr));
    closed_late.Close();
    // Another Handle left open on purpose would be a bug (it must be destroyed before the loop),
    // so this test only covers raw leftovers and pending closes.
  }
  SUCCEED();  // ~Loop's PETDNS_CHECK(uv_loop_close(...) == 0) did not abort
}

TEST(Loop, DestructorWithoutInitDoesNothing) {
  Loop loop;
  SUCCEED();
}

}  // namespace
}  // namespace petdns::uv
