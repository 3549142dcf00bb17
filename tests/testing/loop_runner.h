// Test helper: drive a libuv loop until a condition holds or a time limit passes.
#pragma once

#include <chrono>
#include <functional>

struct uv_loop_s;

namespace petdns::testing {

// Runs `loop` (UV_RUN_NOWAIT steps, sleeping briefly when idle) until pred() is true or `timeout`
// passes. Returns pred()'s final value.
bool RunLoopUntil(uv_loop_s* loop, const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace petdns::testing
