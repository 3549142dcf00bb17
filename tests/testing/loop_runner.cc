#include "tests/testing/loop_runner.h"

#include <uv.h>

#include <thread>

namespace petdns::testing {

bool RunLoopUntil(uv_loop_s* loop, const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    if (uv_run(loop, UV_RUN_NOWAIT) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace petdns::testing
