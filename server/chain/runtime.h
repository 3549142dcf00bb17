// What the server offers plugins for work outside the query path: timers, background jobs and the
// reload signal. Implemented over libuv in server/uv/ so plugins never include <uv.h>.
// Every method is called, and every callback runs, on the main loop thread (done-callbacks of
// Background included); only the `work` function of Background runs on a pool thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "server/http/http_client.h"
#include "server/http/http_server.h"
#include "server/uv/dns_transport.h"

namespace petdns::chain {

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Calls fn every interval on the main loop until shutdown.
  virtual void Every(std::chrono::milliseconds interval, std::function<void()> fn) = 0;
  // Runs work on a pool thread, then done on the main loop. Heavy parsing goes here.
  virtual void Background(std::function<void()> work, std::function<void()> done) = 0;
  // Calls fn on the main loop when the process gets SIGHUP.
  virtual void OnReloadSignal(std::function<void()> fn) = 0;
  // Calls fn once on the main loop after `delay`. The default, for runtimes without timers (test
  // fakes), runs it as soon as a no-op background job completes.
  virtual void After(std::chrono::milliseconds delay, std::function<void()> fn) {
    (void)delay;
    Background([] {}, std::move(fn));
  }
  // An HTTP client driven by the main loop (the Kubernetes API source uses it); null when the
  // runtime has none.
  virtual std::unique_ptr<http::HttpClient> NewHttpClient() { return nullptr; }
  // Upstream DNS exchanges driven by the main loop (the forward plugin); null when the runtime
  // has none.
  virtual std::unique_ptr<uv::DnsTransport> NewDnsTransport() { return nullptr; }
  // An HTTP endpoint on the main loop (health, ready) answering through `handler`; an error when
  // it cannot listen or the runtime has none.
  virtual Result<std::unique_ptr<http::HttpServer>> NewHttpServer(const http::HttpListen& listen,
                                                                  http::HttpHandler handler) {
    (void)listen;
    (void)handler;
    return MakeError(ErrorCode::kUnavailable, "this runtime has no HTTP server");
  }
};

}  // namespace petdns::chain
