#include "server/uv/handle.h"

#include <gtest/gtest.h>

#include "server/uv/loop.h"
#include "server/uv/uv_error.h"

namespace petdns::uv {
namespace {

TEST(Handle, OpenSetsOwnerAndCloseResetsIt) {
  Loop loop;
  ASSERT_TRUE(loop.Init());
  Handle<uv_timer_t> timer;
  int owner = 0;
  ASSERT_TRUE(timer.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, &owner));
  ASSERT_NE(timer.get(), nullptr);
  EXPECT_EQ(timer.get()->data, &owner);
  timer.Close();
  EXPECT_EQ(timer.get(), nullptr);
  timer.Close();             // idempotent
  EXPECT_EQ(loop.Run(), 0);  // the close callback ran and freed the handle
}

TEST(Handle, OpenReportsInitError) {
  Handle<uv_timer_t> timer;
  auto st = timer.Open([](uv_timer_t*) { return UV_EINVAL; }, nullptr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(timer.get(), nullptr);
}

TEST(Handle, ReopenClosesThePreviousHandle) {
  Loop loop;
  ASSERT_TRUE(loop.Init());
  Handle<uv_timer_t> timer;
  ASSERT_TRUE(timer.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, nullptr));
  ASSERT_TRUE(timer.Open([&](uv_timer_t* t) { return uv_timer_init(loop.get(), t); }, nullptr));
  EXPECT_NE(timer.get(), nullptr);
  timer.Close();
  EXPECT_EQ(loop.Run(), 0);  // both handles were closed and freed (ASan/valgrind check the free)
}

TEST(UvError, PrefixesContextToLibuvMessage) {
  Error e = UvError(UV_EADDRINUSE, "listen udp 127.0.0.1:53");
  EXPECT_EQ(e.message, "listen udp 127.0.0.1:53: address already in use");
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(UvError(UV_ENOENT).message, "no such file or directory");
}

}  // namespace
}  // namespace petdns::uv
