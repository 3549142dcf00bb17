// uv::Loop owns one uv_loop_t. Declare it before every Handle that uses it so it is destroyed last.
// All methods except Stop() run on the thread that runs the loop; Stop() too (use uv_async from
// other threads).
#pragma once

#include <uv.h>

#include "server/common/error.h"

namespace petdns::uv {

class Loop {
 public:
  Loop() = default;
  // Closes every handle still open, runs the loop until their close callbacks (and any pending
  // requests) have finished, then checks that uv_loop_close succeeds.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  [[nodiscard]] Status Init();

  uv_loop_t* get() noexcept { return &loop_; }
  // Runs the loop (uv_run) and returns its result: non-zero if handles are still active.
  int Run(uv_run_mode mode = UV_RUN_DEFAULT) noexcept;
  // Makes Run() return at the end of the current iteration.
  void Stop() noexcept;

 private:
  uv_loop_t loop_{};
  bool initialized_ = false;
};

}  // namespace petdns::uv
