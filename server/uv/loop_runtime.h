// chain::Runtime over a uv::Loop: timers, background jobs, SIGHUP reload and SIGTERM/SIGINT
// callbacks for the main loop. Every method is called, and every callback runs, on the loop's
// thread; only Background's `work` runs on a libuv pool thread. Exceptions thrown by callbacks are
// caught at the libuv callback boundary and logged.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

#include "server/chain/runtime.h"
#include "server/uv/handle.h"
#include "server/uv/loop.h"

namespace petdns::uv {

class LoopRuntime : public chain::Runtime {
 public:
  // `loop` must outlive this object.
  explicit LoopRuntime(Loop& loop);
  ~LoopRuntime() override;
  LoopRuntime(const LoopRuntime&) = delete;
  LoopRuntime& operator=(const LoopRuntime&) = delete;

  void Every(std::chrono::milliseconds interval, std::function<void()> fn) override;
  // If the job is still queued at Shutdown() it is cancelled; if it is already running, it
  // finishes but `done` is not called.
  void Background(std::function<void()> work, std::function<void()> done) override;
  void OnReloadSignal(std::function<void()> fn) override;
  void After(std::chrono::milliseconds delay, std::function<void()> fn) override;
  std::unique_ptr<http::HttpClient> NewHttpClient() override;
  std::unique_ptr<DnsTransport> NewDnsTransport() override;
  Result<std::unique_ptr<http::HttpServer>> NewHttpServer(const http::HttpListen& listen,
                                                          http::HttpHandler handler) override;
  // Calls fn on the loop when the process gets SIGTERM or SIGINT. Several callbacks are allowed;
  // they run in registration order.
  void OnTerminate(std::function<void()> fn);

  // Closes every timer and signal handle and cancels queued background jobs so the loop can end.
  // Later registrations are ignored. Idempotent; also called by the destructor.
  void Shutdown() noexcept;
  bool shut_down() const noexcept { return shut_down_; }

 private:
  struct Timer;
  struct Job;
  struct SignalWatch;

  // Starts watching `signum` unless `watch` already does; its callbacks are `*fns`.
  void WatchSignal(std::unique_ptr<SignalWatch>& watch, int signum,
                   const std::vector<std::function<void()>>* fns);
  static void OnTimer(uv_timer_t* t) noexcept;
  static void OnSignal(uv_signal_t* s, int signum) noexcept;
  static void OnWork(uv_work_t* req) noexcept;
  static void OnWorkDone(uv_work_t* req, int status) noexcept;

  Loop& loop_;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::unique_ptr<SignalWatch> hup_;
  std::unique_ptr<SignalWatch> term_;
  std::unique_ptr<SignalWatch> int_;
  std::vector<std::function<void()>> reload_fns_;
  std::vector<std::function<void()>> terminate_fns_;  // shared by SIGTERM and SIGINT
  std::unordered_set<Job*> jobs_;                     // queued or running; owned by libuv
  bool shut_down_ = false;
};

}  // namespace petdns::uv
