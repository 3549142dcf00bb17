#include "server/uv/loop_runtime.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/uv/curl_client.h"
#include "server/uv/dns_transport.h"
#include "server/uv/http_server.h"

namespace petdns::uv {
namespace {

constexpr std::string_view kLog = "runtime";

// Runs a user callback at a libuv callback boundary: nothing may escape into libuv.
void RunGuarded(const std::function<void()>& fn, std::string_view what) noexcept {
  try {
    if (fn) fn();
  } catch (const std::exception& e) {
    log::Error(kLog, std::string(what) + " callback threw: " + e.what());
  } catch (...) {
    log::Error(kLog, std::string(what) + " callback threw a non-std exception");
  }
}

}  // namespace

struct LoopRuntime::Timer {
  Handle<uv_timer_t> handle;
  std::function<void()> fn;
  bool one_shot = false;
  bool fired = false;  // a one-shot timer that ran: its slot is reused by the next After()
};

struct LoopRuntime::Job {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> done;
  LoopRuntime* owner = nullptr;  // nullptr once the runtime shut down: skip `done`
};

struct LoopRuntime::SignalWatch {
  Handle<uv_signal_t> handle;
  const std::vector<std::function<void()>>* fns = nullptr;
};

LoopRuntime::LoopRuntime(Loop& loop) : loop_(loop) {}

LoopRuntime::~LoopRuntime() { Shutdown(); }

void LoopRuntime::Every(std::chrono::milliseconds interval, std::function<void()> fn) {
  if (shut_down_) return;
  auto timer = std::make_unique<Timer>();
  timer->fn = std::move(fn);
  uv_loop_t* loop = loop_.get();
  if (auto st =
          timer->handle.Open([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }, timer.get());
      !st) {
    log::Error(kLog, "timer: " + st.error().message);
    return;
  }
  uint64_t ms = interval.count() > 0 ? static_cast<uint64_t>(interval.count()) : 1;
  if (int rc = uv_timer_start(timer->handle.get(), &LoopRuntime::OnTimer, ms, ms); rc != 0) {
    log::Error(kLog, UvError(rc, "timer start").message);
    return;  // ~Timer closes the handle
  }
  timers_.push_back(std::move(timer));
}

void LoopRuntime::After(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (shut_down_) return;
  // Drop one-shot timers that already fired (never the one running now: it is not `fired` yet).
  std::erase_if(timers_, [](const std::unique_ptr<Timer>& t) { return t->one_shot && t->fired; });
  auto timer = std::make_unique<Timer>();
  timer->fn = std::move(fn);
  timer->one_shot = true;
  uv_loop_t* loop = loop_.get();
  if (auto st =
          timer->handle.Open([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }, timer.get());
      !st) {
    log::Error(kLog, "timer: " + st.error().message);
    return;
  }
  auto ms = static_cast<uint64_t>(std::max<int64_t>(delay.count(), 0));
  if (int rc = uv_timer_start(timer->handle.get(), &LoopRuntime::OnTimer, ms, 0); rc != 0) {
    log::Error(kLog, UvError(rc, "timer start").message);
    return;
  }
  timers_.push_back(std::move(timer));
}

std::unique_ptr<http::HttpClient> LoopRuntime::NewHttpClient() {
  auto client = CurlClient::Create(loop_);
  if (!client) {
    log::Error(kLog, "http client: " + client.error().message);
    return nullptr;
  }
  return std::move(*client);
}

Result<std::unique_ptr<http::HttpServer>> LoopRuntime::NewHttpServer(const http::HttpListen& listen,
                                                                     http::HttpHandler handler) {
  auto server = UvHttpServer::Create(loop_, listen, std::move(handler));
  if (!server) return server.error();
  return std::unique_ptr<http::HttpServer>(std::move(*server));
}

std::unique_ptr<DnsTransport> LoopRuntime::NewDnsTransport() { return NewLoopDnsTransport(loop_); }

void LoopRuntime::Background(std::function<void()> work, std::function<void()> done) {
  if (shut_down_) return;
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->done = std::move(done);
  job->owner = this;
  job->req.data = job.get();
  if (int rc =
          uv_queue_work(loop_.get(), &job->req, &LoopRuntime::OnWork, &LoopRuntime::OnWorkDone);
      rc != 0) {
    log::Error(kLog, UvError(rc, "queue background work").message);
    return;
  }
  jobs_.insert(job.release());  // libuv owns it until OnWorkDone
}

void LoopRuntime::OnReloadSignal(std::function<void()> fn) {
  if (shut_down_) return;
  reload_fns_.push_back(std::move(fn));
  WatchSignal(hup_, SIGHUP, &reload_fns_);
}

void LoopRuntime::OnTerminate(std::function<void()> fn) {
  if (shut_down_) return;
  terminate_fns_.push_back(std::move(fn));
  WatchSignal(term_, SIGTERM, &terminate_fns_);
  WatchSignal(int_, SIGINT, &terminate_fns_);
}

void LoopRuntime::Shutdown() noexcept {
  if (shut_down_) return;
  shut_down_ = true;
  // Only close the handles: a callback that is running right now (a timer calling Shutdown) still
  // uses its Timer/SignalWatch, so those objects live until the destructor.
  for (auto& timer : timers_) timer->handle.Close();
  for (auto* watch : {hup_.get(), term_.get(), int_.get()}) {
    if (watch != nullptr) watch->handle.Close();
  }
  for (Job* job : jobs_) {
    job->owner = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&job->req));  // fails harmlessly if already running
  }
  jobs_.clear();
}

void LoopRuntime::WatchSignal(std::unique_ptr<SignalWatch>& watch, int signum,
                              const std::vector<std::function<void()>>* fns) {
  if (watch != nullptr) return;
  auto w = std::make_unique<SignalWatch>();
  w->fns = fns;
  uv_loop_t* loop = loop_.get();
  if (auto st = w->handle.Open([loop](uv_signal_t* s) { return uv_signal_init(loop, s); }, w.get());
      !st) {
    log::Error(kLog, "signal: " + st.error().message);
    return;
  }
  if (int rc = uv_signal_start(w->handle.get(), &LoopRuntime::OnSignal, signum); rc != 0) {
    log::Error(kLog, UvError(rc, std::string("watch signal ") + strsignal(signum)).message);
    return;
  }
  watch = std::move(w);
}

void LoopRuntime::OnTimer(uv_timer_t* t) noexcept {
  auto* timer = static_cast<Timer*>(t->data);
  if (timer == nullptr) return;
  RunGuarded(timer->fn, "timer");
  if (timer->one_shot) {
    timer->fired = true;
    timer->handle.Close();
  }
}

void LoopRuntime::OnSignal(uv_signal_t* s, int signum) noexcept {
  auto* watch = static_cast<SignalWatch*>(s->data);
  if (watch == nullptr) return;
  // A callback may register more callbacks (reallocating the vector): iterate over a copy.
  std::vector<std::function<void()>> fns;
  try {
    fns = *watch->fns;
  } catch (...) {
    log::Error(kLog, "out of memory handling a signal");
    return;
  }
  for (const auto& fn : fns) RunGuarded(fn, strsignal(signum));
}

void LoopRuntime::OnWork(uv_work_t* req) noexcept {
  auto* job = static_cast<Job*>(req->data);
  RunGuarded(job->work, "background work");
}

void LoopRuntime::OnWorkDone(uv_work_t* req, int status) noexcept {
  std::unique_ptr<Job> job(static_cast<Job*>(req->data));
  if (job->owner == nullptr) return;  // runtime shut down: nobody wants `done` any more
  job->owner->jobs_.erase(job.get());
  if (status != 0) {
    log::Error(kLog, UvError(status, "background work").message);
    return;
  }
  RunGuarded(job->done, "background done");
}

}  // namespace petdns::uv
