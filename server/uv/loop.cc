#include "server/uv/loop.h"

#include "server/common/check.h"
#include "server/uv/uv_error.h"

namespace petdns::uv {

Loop::~Loop() {
  if (!initialized_) return;
  // Handles nobody closed (a bug elsewhere, or raw handles owned by a caller that outlives us):
  // close them without a callback; their memory belongs to whoever created them.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (uv_is_closing(h) == 0) uv_close(h, nullptr);
      },
      nullptr);
  // Runs pending close callbacks (Handle<T> frees its memory there) and lets in-flight requests
  // (writes cancelled by the closes, queued work) finish.
  uv_run(&loop_, UV_RUN_DEFAULT);
  PETDNS_CHECK(uv_loop_close(&loop_) == 0);
}

Status Loop::Init() {
  PETDNS_CHECK(!initialized_);
  if (int rc = uv_loop_init(&loop_); rc != 0) return UvError(rc, "uv_loop_init");
  initialized_ = true;
  return {};
}

int Loop::Run(uv_run_mode mode) noexcept { return uv_run(&loop_, mode); }

void Loop::Stop() noexcept { uv_stop(&loop_); }

}  // namespace petdns::uv
