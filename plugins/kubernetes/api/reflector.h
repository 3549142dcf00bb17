// Keeps one ObjectSink resource in step with the API server the way client-go's Reflector does:
// paged LIST → sink.BeginList/Add/Commit, then WATCH from the list's resourceVersion → sink.Apply
// per event, re-watching on clean ends, relisting on 410 Expired/Gone or bad data, backing off on
// errors. See README.md for the state machine. Main loop thread only; nothing blocks (HTTP is
// async, timers go through chain::Runtime::After).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugins/kubernetes/api/backoff.h"
#include "plugins/kubernetes/api/kube_config.h"
#include "plugins/kubernetes/api/list_stream.h"
#include "plugins/kubernetes/api/token_source.h"
#include "plugins/kubernetes/api/watch_stream.h"
#include "plugins/kubernetes/object_sink.h"
#include "server/chain/runtime.h"
#include "server/http/http_client.h"

namespace petdns::plugins::kubernetes::api {

struct ReflectorOptions {
  std::string label_selector;  // labelSelector on list and watch ("" = none)
  std::string
      field_selector;     // fieldSelector; empty = the resource's default (DefaultFieldSelector)
  int page_size = 500;    // limit= on paged lists
  BackoffPolicy backoff;  // 800 ms ×2 jitter [d,2d) cap 30 s reset after 2 min
  // timeoutSeconds= of each watch is random in [min_watch_timeout, 2×min_watch_timeout).
  std::chrono::seconds min_watch_timeout{300};
  // No byte for this long on a watch (bookmarks arrive about every 60 s) → drop it and re-watch.
  std::chrono::milliseconds watch_inactivity_timeout{150'000};
  // No byte for this long while a list page is being served → treat as a connection error.
  std::chrono::milliseconds list_inactivity_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  // A watch that ends cleanly this soon with no event is an error ("very short watch").
  std::chrono::milliseconds short_watch{1'000};
  // 5xx on a watch: keep re-watching for this long, then relist.
  std::chrono::milliseconds server_error_window{60'000};
  std::chrono::seconds max_retry_after{300};  // Retry-After values are clamped to this
  std::string user_agent = "petdns";
  uint64_t seed = 0;  // jitter and watch timeouts; 0 = random
};

// The default fieldSelector of a resource: pods skip finished ones (as CoreDNS does).
std::string DefaultFieldSelector(Resource resource);
// "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", … (all namespaces).
std::string_view CollectionPath(Resource resource) noexcept;

enum class ReflectorError : uint8_t {
  kTransport,     // connect/TLS/reset/truncated/inactivity
  kUnauthorized,  // 401
  kForbidden,     // 403
  kThrottled,     // 429
  kServer,        // 5xx
  kExpired,       // 410 (list, continue token, or watch ERROR event)
  kClient,        // other 4xx (bad selector, 404, 422), or 504 ResourceVersionTooLarge
  kDecode,        // undecodable list or watch event
  kWatchError,    // other ERROR events in a watch stream
  kShortWatch,    // watch closed almost at once without events
};
inline constexpr size_t kReflectorErrorKinds = 10;
std::string_view ReflectorErrorName(ReflectorError e) noexcept;  // "transport", …

struct ReflectorStats {
  uint64_t list_requests = 0;   // pages requested
  uint64_t lists = 0;           // complete lists committed to the sink
  uint64_t relists = 0;         // of those, the ones after the first
  uint64_t watches = 0;         // watch requests started
  uint64_t watch_restarts = 0;  // of those, the ones after the first of each list
  uint64_t events = 0;          // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  std::array<uint64_t, kReflectorErrorKinds> errors{};
  uint64_t error(ReflectorError e) const { return errors[static_cast<size_t>(e)]; }
};

class Reflector {
 public:
  enum class State : uint8_t { kStopped, kListing, kWatching, kWaiting };

  // All references must outlive the Reflector. `tokens` may be shared by several reflectors.
  Reflector(Resource resource, http::HttpClient& client, chain::Runtime& runtime, ObjectSink& sink,
            const ApiEndpoint& endpoint, TokenSource& tokens, ReflectorOptions options);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Starts the first list now. No-op if running.
  void Start();
  // Cancels the request in flight and any pending retry; the sink gets nothing more.
  void Stop() noexcept;

  Resource resource() const noexcept { return resource_; }
  State state() const noexcept { return state_; }
  // True once a first complete list reached the sink (stays true across relists and errors).
  bool synced() const noexcept { return synced_; }
  // Wall-clock time of the last committed list (nullopt before the first).
  std::optional<std::chrono::system_clock::time_point> last_sync_time() const {
    return last_sync_time_;
  }
  const std::string& last_resource_version() const noexcept { return last_rv_; }
  const ReflectorStats& stats() const noexcept { return stats_; }

 private:
  enum class Request : uint8_t { kNone, kList, kWatch };

  void StartList();
  void RequestPage();
  void OnListBody(std::string_view chunk);
  void OnListDone(Status transport);
  void FinishList(const nlohmann::json& page);
  void StartWatch();
  bool OnWatchEvent(WatchEvent&& event);
  void OnWatchDone(Status transport);
  void OnWatchHttpError();

  // Waits (via runtime_.After) then runs `next`; `delay` 0 still goes through the loop.
  void Schedule(std::chrono::milliseconds delay, void (Reflector::*next)());
  void RetryList(std::chrono::milliseconds delay);
  void RetryWatch(std::chrono::milliseconds delay);
  // Counts a failed request; returns how long to wait before retrying.
  std::chrono::milliseconds Failed(ReflectorError kind);
  // Retry-After (header, else the Status body's details.retryAfterSeconds), clamped; 0 if none.
  std::chrono::milliseconds RetryAfter(const nlohmann::json& status) const;
  std::string RbacHint() const;  // appended to 403 log lines
  // Ends the current call from inside one of its callbacks.
  void DropCall() noexcept;

  http::HttpRequest BaseRequest(const std::string& query, std::chrono::milliseconds inactivity);
  std::string Describe() const;         // "services" for log lines
  std::string ResponseSummary() const;  // "HTTP 403 Forbidden: <message>" from the body

  Resource resource_;
  http::HttpClient& client_;
  chain::Runtime& runtime_;
  ObjectSink& sink_;
  const ApiEndpoint& endpoint_;
  TokenSource& tokens_;
  ReflectorOptions options_;
  std::string field_selector_;
  Backoff backoff_;
  uint64_t rng_state_;

  State state_ = State::kStopped;
  Request request_ = Request::kNone;
  std::unique_ptr<http::HttpCall> call_;
  std::shared_ptr<Reflector*> alive_;  // scheduled callbacks hold a weak_ptr; reset on Stop
  bool synced_ = false;
  std::optional<std::chrono::system_clock::time_point> last_sync_time_;
  ReflectorStats stats_;

  // Current response.
  int status_ = 0;
  std::string retry_after_;
  std::string body_;  // list pages and error responses
  WatchStreamParser parser_;
  bool stream_failed_ = false;  // the watch callbacks already decided what happens next

  // List state.
  std::string last_rv_;
  bool rv_unavailable_ = false;  // the last list at a specific RV got 410/TooLarge: use ""
  std::string list_rv_;          // resourceVersion= of the list being assembled
  std::string continue_;         // token for the next page
  std::string snapshot_rv_;      // metadata.resourceVersion of the first page
  // The list being received: items go to the sink's builder page by page, as each arrives, and
  // only a complete list is committed. Nothing holds the whole list as JSON.
  std::unique_ptr<ListBuilder> list_;
  size_t list_items_ = 0;
  ListStreamParser page_;
  std::optional<std::string> page_rejected_;  // the sink threw on an item: why
  std::optional<std::string> page_invalid_;   // the page is not valid JSON: why
  int pages_ = 0;

  // Watch state.
  Backoff::Clock::time_point watch_started_{};
  uint64_t watch_events_ = 0;  // events in the current watch
  bool first_watch_after_list_ = true;
  std::optional<Backoff::Clock::time_point> server_errors_since_;
};

}  // namespace petdns::plugins::kubernetes::api
