// A chain::Runtime for unit tests: Background runs work and done at once on the calling thread,
// timers and reload callbacks are kept so a test can fire them by hand.
#pragma once

#include <functional>
#include <vector>

#include "server/chain/runtime.h"

namespace petdns::testing {

class FakeRuntime final : public chain::Runtime {
 public:
  void Every(std::chrono::milliseconds, std::function<void()> fn) override {
    timers.push_back(std::move(fn));
  }
  void Background(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
  void OnReloadSignal(std::function<void()> fn) override { reloads.push_back(std::move(fn)); }

  void FireTimers() {
    for (auto& fn : timers) fn();
  }
  void FireReload() {
    for (auto& fn : reloads) fn();
  }

  std::vector<std::function<void()>> timers;
  std::vector<std::function<void()>> reloads;
};

}  // namespace petdns::testing
