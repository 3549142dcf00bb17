#include "plugins/kubernetes/api/reflector.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <random>
#include <utility>

#include "server/common/log.h"
#include "server/http/redact.h"

namespace petdns::plugins::kubernetes::api {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kLog = "plugin/kubernetes";
constexpr size_t kMaxErrorBody = 64 * 1024;

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Appends "&key=value" (or "key=value" first). Callers add keys in sorted order, like client-go.
void AddParam(std::string& query, std::string_view key, std::string_view value) {
  if (!query.empty()) query.push_back('&');
  query.append(key);
  query.push_back('=');
  query.append(UrlEncode(value));
}

std::string FormatDelay(milliseconds d) {
  if (d.count() < 1000) return std::to_string(d.count()) + "ms";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int IntField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

std::string ResourceVersionOf(const nlohmann::json& object) {
  auto meta = object.find("metadata");
  return meta == object.end() ? std::string() : StringField(*meta, "resourceVersion");
}

// metav1.Status says "ResourceVersionTooLarge" (504, or in a watch ERROR event).
bool IsTooLarge(const nlohmann::json& status) {
  if (!status.is_object()) return false;
  auto details = status.find("details");
  if (details == status.end() || !details->is_object()) return false;
  auto causes = details->find("causes");
  if (causes == details->end() || !causes->is_array()) return false;
  return std::any_of(causes->begin(), causes->end(), [](const nlohmann::json& c) {
    return StringField(c, "reason") == "ResourceVersionTooLarge";
  });
}

bool IsExpired(int code, const std::string& reason) {
  return code == 410 || reason == "Expired" || reason == "Gone";
}

std::string_view ApiGroup(Resource r) {
  return r == Resource::kEndpointSlices ? "discovery.k8s.io" : "";
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string DefaultFieldSelector(Resource resource) {
  if (resource == Resource::kPods) {
    return "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";
  }
  return {};
}

std::string_view CollectionPath(Resource resource) noexcept {
  switch (resource) {
    case Resource::kServices:
      return "/api/v1/services";
    case Resource::kEndpointSlices:
      return "/apis/discovery.k8s.io/v1/endpointslices";
    case Resource::kPods:
      return "/api/v1/pods";
    case Resource::kNamespaces:
      return "/api/v1/namespaces";
  }
  return "/";
}

std::string_view ReflectorErrorName(ReflectorError e) noexcept {
  switch (e) {
    case ReflectorError::kTransport:
      return "transport";
    case ReflectorError::kUnauthorized:
      return "unauthorized";
    case ReflectorError::kForbidden:
      return "forbidden";
    case ReflectorError::kThrottled:
      return "throttled";
    case ReflectorError::kServer:
      return "server";
    case ReflectorError::kExpired:
      return "expired";
    case ReflectorError::kClient:
      return "client";
    case ReflectorError::kDecode:
      return "decode";
    case ReflectorError::kWatchError:
      return "watch_error";
    case ReflectorError::kShortWatch:
      return "short_watch";
  }
  return "?";
}

Reflector::Reflector(Resource resource, http::HttpClient& client, chain::Runtime& runtime,
                     ObjectSink& sink, const ApiEndpoint& endpoint, TokenSource& tokens,
                     ReflectorOptions options)
    : resource_(resource),
      client_(client),
      runtime_(runtime),
      sink_(sink),
      endpoint_(endpoint),
      tokens_(tokens),
      options_(std::move(options)),
      field_selector_(options_.field_selector.empty() ? DefaultFieldSelector(resource)
                                                      : options_.field_selector),
      backoff_(options_.backoff,
               options_.seed != 0 ? options_.seed : std::random_device{}() | 1ULL),
      rng_state_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Start() {
  if (state_ != State::kStopped) return;
  alive_ = std::make_shared<Reflector*>(this);
  StartList();
}

void Reflector::Stop() noexcept {
  state_ = State::kStopped;
  request_ = Request::kNone;
  alive_.reset();  // pending retries find nothing to run
  call_.reset();
  list_.reset();
}

std::string Reflector::Describe() const { return std::string(ResourceName(resource_)); }

http::HttpRequest Reflector::BaseRequest(const std::string& query, milliseconds inactivity) {
  http::HttpRequest req;
  req.url = endpoint_.server_url + std::string(CollectionPath(resource_)) + "?" + query;
  req.tls = endpoint_.tls;
  req.connect_timeout = options_.connect_timeout;
  req.low_speed_timeout = inactivity;
  req.headers.push_back("Accept: application/json");
  req.headers.push_back("User-Agent: " + options_.user_agent);
  const std::string& token = tokens_.Get(Backoff::Clock::now());
  if (!token.empty()) req.headers.push_back("Authorization: Bearer " + token);
  return req;
}

void Reflector::Schedule(milliseconds delay, void (Reflector::*next)()) {
  state_ = State::kWaiting;
  request_ = Request::kNone;
  std::weak_ptr<Reflector*> weak = alive_;
  runtime_.After(delay, [weak, next] {
    if (auto self = weak.lock()) ((*self)->*next)();
  });
}

void Reflector::RetryList(milliseconds delay) {
  list_.reset();  // what a failed list staged is of no use to the next one
  Schedule(delay, &Reflector::StartList);
}
void Reflector::RetryWatch(milliseconds delay) { Schedule(delay, &Reflector::StartWatch); }

void Reflector::DropCall() noexcept { call_.reset(); }

milliseconds Reflector::Failed(ReflectorError kind) {
  ++stats_.errors[static_cast<size_t>(kind)];
  return backoff_.Next(Backoff::Clock::now());
}

std::string Reflector::ResponseSummary() const {
  std::string out = "HTTP " + std::to_string(status_);
  nlohmann::json j = nlohmann::json::parse(body_, nullptr, false);
  std::string message = StringField(j, "message");
  if (!message.empty()) {
    out += ": " + message;
  } else if (!body_.empty() && j.is_discarded()) {
    out += ": " + body_.substr(0, 200);
  }
  // A proxy in front of the API server may echo the request, Authorization header included.
  return http::RedactCredentials(out);
}

std::string Reflector::RbacHint() const {
  return ". RBAC: the service account needs \"list\" and \"watch\" on \"" + Describe() +
         "\" in API group \"" + std::string(ApiGroup(resource_)) +
         "\" (a ClusterRole bound with a ClusterRoleBinding)";
}

milliseconds Reflector::RetryAfter(const nlohmann::json& status) const {
  int64_t seconds = 0;
  if (!retry_after_.empty() && retry_after_.size() < 7 &&
      std::all_of(retry_after_.begin(), retry_after_.end(),
                  [](unsigned char c) { return std::isdigit(c) != 0; })) {
    seconds = std::stoll(retry_after_);
  } else if (status.is_object() && status.contains("details")) {
    seconds = IntField(status["details"], "retryAfterSeconds");
  }
  seconds = std::clamp<int64_t>(seconds, 0, options_.max_retry_after.count());
  return milliseconds(seconds * 1000);
}

// ---- LIST ----------------------------------------------------------------------------------

void Reflector::StartList() {
  if (alive_ == nullptr) return;
  state_ = State::kListing;
  list_rv_ = rv_unavailable_ ? "" : (last_rv_.empty() ? "0" : last_rv_);
  list_.reset();  // a list begun before is dropped uncommitted (after freeing what it staged)
  list_ = sink_.BeginList(resource_);
  list_items_ = 0;
  continue_.clear();
  snapshot_rv_.clear();
  pages_ = 0;
  RequestPage();
}

void Reflector::RequestPage() {
  // §3: RV "" or "0" → paged (limit=500; the cache ignores it for "0"); a specific RV → one
  // unpaged list served from the watch cache. Continue pages repeat the selectors and limit but
  // never the resourceVersion.
  const bool paged = (list_rv_.empty() || list_rv_ == "0") && options_.page_size > 0;
  std::string query;
  if (!continue_.empty()) AddParam(query, "continue", continue_);
  if (!field_selector_.empty()) AddParam(query, "fieldSelector", field_selector_);
  if (!options_.label_selector.empty()) AddParam(query, "labelSelector", options_.label_selector);
  if (paged) AddParam(query, "limit", std::to_string(options_.page_size));
  if (continue_.empty() && !list_rv_.empty()) AddParam(query, "resourceVersion", list_rv_);

  status_ = 0;
  retry_after_.clear();
  body_.clear();
  page_ = ListStreamParser();
  page_rejected_.reset();
  page_invalid_.reset();
  request_ = Request::kList;
  ++stats_.list_requests;
  auto call = client_.Start(BaseRequest(query, options_.list_inactivity_timeout),
                            {[this](int status, const http::HeaderList& headers) {
                               status_ = status;
                               if (const std::string* ra = http::FindHeader(headers, "retry-after"))
                                 retry_after_ = *ra;
                             },
                             [this](std::string_view chunk) { OnListBody(chunk); },
                             [this](Status done) { OnListDone(std::move(done)); }});
  if (!call) {
    milliseconds delay = Failed(ReflectorError::kTransport);
    log::Error(kLog, Describe() + ": list: " + call.error().message + "; retrying in " +
                         FormatDelay(delay));
    RetryList(delay);
    return;
  }
  call_ = std::move(*call);
}

void Reflector::OnListBody(std::string_view chunk) {
  if (status_ != 200) {  // an error Status, small
    if (body_.size() < kMaxErrorBody) body_.append(chunk);
    return;
  }
  if (page_rejected_ || page_invalid_) return;  // reported when the response ends
  try {
    Status st = page_.Feed(chunk, [this](nlohmann::json&& item) {
      ++list_items_;
      list_->Add(item);
    });
    if (!st) page_invalid_ = st.error().message;
  } catch (const std::exception& e) {
    page_rejected_ = e.what();
  }
}

void Reflector::OnListDone(Status transport) {
  call_.reset();
  request_ = Request::kNone;
  const std::string what = "list" + (list_rv_.empty() ? std::string(" at resourceVersion \"\"")
                                                      : " at resourceVersion " + list_rv_);
  if (!transport) {
    milliseconds delay = Failed(ReflectorError::kTransport);
    log::Warning(kLog, Describe() + ": " + what + " failed: " + transport.error().message +
                           "; retrying in " + FormatDelay(delay));
    RetryList(delay);
    return;
  }
  if (status_ == 200) {
    if (page_rejected_) {
      milliseconds delay = Failed(ReflectorError::kDecode);
      log::Error(kLog, Describe() + ": the list was rejected: " + *page_rejected_ +
                           "; retrying in " + FormatDelay(delay));
      RetryList(delay);
      return;
    }
    Result<nlohmann::json> page =
        page_invalid_ ? Result<nlohmann::json>(MakeError(ErrorCode::kParse, *page_invalid_))
                      : page_.Finish();
    page_ = ListStreamParser();  // frees the last item's buffer
    if (!page) {
      milliseconds delay = Failed(ReflectorError::kDecode);
      log::Error(kLog, Describe() + ": " + what + ": response is not a JSON object (" +
                           page.error().message + "); retrying in " + FormatDelay(delay));
      RetryList(delay);
      return;
    }
    FinishList(*page);
    return;
  }
  nlohmann::json status = nlohmann::json::parse(body_, nullptr, false);
  const std::string reason = StringField(status, "reason");
  const bool too_large = status_ == 504 && IsTooLarge(status);
  if (IsExpired(status_, reason) || too_large) {
    ++stats_.errors[static_cast<size_t>(too_large ? ReflectorError::kClient
                                                  : ReflectorError::kExpired)];
    if (!list_rv_.empty()) {
      // client-go: a list at a specific (or cached "0") RV that is too old or too new, or an
      // expired continue token, falls back at once to a consistent paged list at RV "".
      log::Info(kLog, Describe() + ": " + what + ": " + ResponseSummary() +
                          "; listing again at the latest resourceVersion");
      rv_unavailable_ = true;
      StartList();
      return;
    }
    milliseconds delay = backoff_.Next(Backoff::Clock::now());
    log::Warning(kLog, Describe() + ": " + what + ": " + ResponseSummary() + "; retrying in " +
                           FormatDelay(delay));
    RetryList(delay);
    return;
  }
  milliseconds delay = milliseconds(0);
  const std::string summary = ResponseSummary();
  if (status_ == 401) {
    tokens_.Invalidate();
    delay = Failed(ReflectorError::kUnauthorized);
    log::Warning(kLog, Describe() + ": " + what + ": " + summary +
                           " (the API server rejected petdns's credentials: check the kubeconfig "
                           "user or the service-account token)" +
                           (tokens_.has_file() ? "; re-reading the token file" : "") +
                           "; retrying in " + FormatDelay(delay));
  } else if (status_ == 403) {
    delay = Failed(ReflectorError::kForbidden);
    log::Error(kLog, Describe() + ": " + what + ": " + summary + RbacHint() + "; retrying in " +
                         FormatDelay(delay));
  } else {
    const ReflectorError kind = status_ == 429   ? ReflectorError::kThrottled
                                : status_ >= 500 ? ReflectorError::kServer
                                                 : ReflectorError::kClient;
    delay = Failed(kind);
    if (status_ == 429) delay = std::max(delay, RetryAfter(status));
    log::Warning(kLog,
                 Describe() + ": " + what + ": " + summary + "; retrying in " + FormatDelay(delay));
  }
  RetryList(delay);
}

void Reflector::FinishList(const nlohmann::json& page) {
  ++pages_;
  auto meta = page.find("metadata");
  const nlohmann::json empty_meta = nlohmann::json::object();
  const nlohmann::json& m = meta != page.end() ? *meta : empty_meta;
  if (pages_ == 1) snapshot_rv_ = StringField(m, "resourceVersion");
  // The items went to list_ while the page arrived; the envelope keeps "items": [].
  auto items = page.find("items");
  if (items != page.end() && !items->is_array() && !items->is_null()) {
    milliseconds delay = Failed(ReflectorError::kDecode);
    log::Error(kLog,
               Describe() + ": list: \"items\" is not a list; retrying in " + FormatDelay(delay));
    RetryList(delay);
    return;
  }
  const std::string next = StringField(m, "continue");
  if (!next.empty()) {
    continue_ = next;
    RequestPage();
    return;
  }
  if (snapshot_rv_.empty()) {
    milliseconds delay = Failed(ReflectorError::kDecode);
    log::Error(kLog, Describe() + ": list without metadata.resourceVersion; retrying in " +
                         FormatDelay(delay));
    RetryList(delay);
    return;
  }
  const size_t count = list_items_;
  try {
    std::unique_ptr<ListBuilder> list = std::move(list_);
    list->Commit();
  } catch (const std::exception& e) {
    milliseconds delay = Failed(ReflectorError::kDecode);
    log::Error(kLog, Describe() + ": the list was rejected: " + e.what() + "; retrying in " +
                         FormatDelay(delay));
    RetryList(delay);
    return;
  }
  if (alive_ == nullptr) return;  // the sink stopped us
  last_rv_ = snapshot_rv_;
  rv_unavailable_ = false;
  ++stats_.lists;
  if (synced_) ++stats_.relists;
  synced_ = true;
  last_sync_time_ = std::chrono::system_clock::now();
  log::Info(kLog, Describe() + ": listed " + std::to_string(count) +
                      " objects at resourceVersion " + last_rv_ + " (" + std::to_string(pages_) +
                      (pages_ == 1 ? " page)" : " pages)"));
  first_watch_after_list_ = true;
  server_errors_since_.reset();
  StartWatch();
}

// ---- WATCH ---------------------------------------------------------------------------------

void Reflector::StartWatch() {
  if (alive_ == nullptr) return;
  state_ = State::kWatching;
  const int64_t min_timeout = std::max<int64_t>(options_.min_watch_timeout.count(), 1);
  const int64_t timeout =
      min_timeout + static_cast<int64_t>(SplitMix(rng_state_) % static_cast<uint64_t>(min_timeout));
  std::string query;
  AddParam(query, "allowWatchBookmarks", "true");
  if (!field_selector_.empty()) AddParam(query, "fieldSelector", field_selector_);
  if (!options_.label_selector.empty()) AddParam(query, "labelSelector", options_.label_selector);
  AddParam(query, "resourceVersion", last_rv_);
  AddParam(query, "timeoutSeconds", std::to_string(timeout));
  AddParam(query, "watch", "true");

  status_ = 0;
  retry_after_.clear();
  body_.clear();
  parser_ = WatchStreamParser();
  stream_failed_ = false;
  watch_events_ = 0;
  watch_started_ = Backoff::Clock::now();
  request_ = Request::kWatch;
  ++stats_.watches;
  if (!first_watch_after_list_) ++stats_.watch_restarts;
  first_watch_after_list_ = false;
  auto call = client_.Start(BaseRequest(query, options_.watch_inactivity_timeout),
                            {[this](int status, const http::HeaderList& headers) {
                               status_ = status;
                               if (const std::string* ra = http::FindHeader(headers, "retry-after"))
                                 retry_after_ = *ra;
                             },
                             [this](std::string_view chunk) {
                               if (stream_failed_) return;
                               if (status_ != 200) {
                                 if (body_.size() < kMaxErrorBody) body_.append(chunk);
                                 return;
                               }
                               Status st = parser_.Feed(chunk, [this](WatchEvent&& ev) {
                                 return OnWatchEvent(std::move(ev));
                               });
                               if (!st && !stream_failed_) {
                                 stream_failed_ = true;
                                 milliseconds delay = Failed(ReflectorError::kDecode);
                                 log::Error(kLog, Describe() + ": watch: " + st.error().message +
                                                      "; relisting in " + FormatDelay(delay));
                                 DropCall();
                                 RetryList(delay);
                               }
                             },
                             [this](Status done) { OnWatchDone(std::move(done)); }});
  if (!call) {
    milliseconds delay = Failed(ReflectorError::kTransport);
    log::Error(kLog, Describe() + ": watch: " + call.error().message + "; retrying in " +
                         FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  call_ = std::move(*call);
}

bool Reflector::OnWatchEvent(WatchEvent&& ev) {
  if (ev.kind == WatchEventKind::kBookmark) {
    ++stats_.bookmarks;
    ++watch_events_;
    last_sync_time_ = std::chrono::system_clock::now();  // the server vouches we are current
    if (std::string rv = ResourceVersionOf(ev.object); !rv.empty()) last_rv_ = std::move(rv);
    return true;
  }
  if (ev.kind != WatchEventKind::kError) {
    const WatchEventType type = ev.kind == WatchEventKind::kAdded      ? WatchEventType::kAdded
                                : ev.kind == WatchEventKind::kModified ? WatchEventType::kModified
                                                                       : WatchEventType::kDeleted;
    try {
      sink_.Apply(resource_, type, ev.object);
    } catch (const std::exception& e) {
      stream_failed_ = true;
      milliseconds delay = Failed(ReflectorError::kDecode);
      log::Error(kLog, Describe() + ": watch: " + std::string(WatchEventKindName(ev.kind)) +
                           " event rejected: " + e.what() + "; relisting in " + FormatDelay(delay));
      DropCall();
      RetryList(delay);
      return false;
    }
    if (alive_ == nullptr) return false;  // the sink stopped us
    ++stats_.events;
    ++watch_events_;
    last_sync_time_ = std::chrono::system_clock::now();
    server_errors_since_.reset();
    if (std::string rv = ResourceVersionOf(ev.object); !rv.empty()) last_rv_ = std::move(rv);
    return true;
  }

  // ERROR: the object is a metav1.Status and the server ends the stream right after it.
  stream_failed_ = true;
  DropCall();
  const nlohmann::json& st = ev.object;
  const int code = IntField(st, "code");
  const std::string reason = StringField(st, "reason");
  // The message is the server's text: a proxy may quote the request's credentials in it.
  const std::string message = "ERROR event " + std::to_string(code) + " " + reason + ": " +
                              http::RedactCredentials(StringField(st, "message"));
  if (IsExpired(code, reason)) {
    // Routine after compaction: relist at the last RV (falls back to "" if that is gone too).
    milliseconds delay = Failed(ReflectorError::kExpired);
    log::Info(kLog, Describe() + ": watch: " + message + "; relisting in " + FormatDelay(delay));
    RetryList(delay);
  } else if (code == 504 && IsTooLarge(st)) {
    rv_unavailable_ = true;
    milliseconds delay = Failed(ReflectorError::kClient);
    log::Warning(kLog, Describe() + ": watch: " + message + "; relisting in " + FormatDelay(delay));
    RetryList(delay);
  } else if (code == 429) {
    milliseconds delay = Failed(ReflectorError::kThrottled);
    delay = std::max(delay, RetryAfter(st));
    log::Warning(kLog,
                 Describe() + ": watch: " + message + "; re-watching in " + FormatDelay(delay));
    RetryWatch(delay);
  } else if (code >= 500) {
    const auto now = Backoff::Clock::now();
    if (!server_errors_since_) server_errors_since_ = now;
    milliseconds delay = Failed(ReflectorError::kServer);
    if (now - *server_errors_since_ < options_.server_error_window) {
      log::Warning(kLog,
                   Describe() + ": watch: " + message + "; re-watching in " + FormatDelay(delay));
      RetryWatch(delay);
    } else {
      server_errors_since_.reset();
      log::Warning(kLog,
                   Describe() + ": watch: " + message + "; relisting in " + FormatDelay(delay));
      RetryList(delay);
    }
  } else {
    milliseconds delay = Failed(ReflectorError::kWatchError);
    log::Warning(kLog, Describe() + ": watch: " + message + "; relisting in " + FormatDelay(delay));
    RetryList(delay);
  }
  return false;
}

void Reflector::OnWatchDone(Status transport) {
  call_.reset();
  request_ = Request::kNone;
  if (stream_failed_) return;  // already handled (normally the call was dropped before this)
  if (!transport) {
    milliseconds delay = Failed(ReflectorError::kTransport);
    log::Warning(kLog, Describe() + ": watch: " + transport.error().message +
                           "; re-watching from resourceVersion " + last_rv_ + " in " +
                           FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  if (status_ != 200) {
    OnWatchHttpError();
    return;
  }
  if (Status st = parser_.Finish(); !st) {
    milliseconds delay = Failed(ReflectorError::kTransport);
    log::Warning(kLog, Describe() + ": watch: " + st.error().message +
                           "; re-watching from resourceVersion " + last_rv_ + " in " +
                           FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  if (watch_events_ == 0 && Backoff::Clock::now() - watch_started_ < options_.short_watch) {
    milliseconds delay = Failed(ReflectorError::kShortWatch);
    log::Warning(kLog, Describe() +
                           ": watch: very short watch (closed with no events); "
                           "re-watching in " +
                           FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  // The server's timeoutSeconds expired: normal, re-watch at once from the last RV.
  log::Debug(kLog, Describe() + ": watch ended after " + std::to_string(watch_events_) +
                       " events; re-watching from resourceVersion " + last_rv_);
  StartWatch();
}

void Reflector::OnWatchHttpError() {
  nlohmann::json status = nlohmann::json::parse(body_, nullptr, false);
  const std::string reason = StringField(status, "reason");
  const std::string summary = ResponseSummary();
  if (IsExpired(status_, reason)) {
    milliseconds delay = Failed(ReflectorError::kExpired);
    log::Info(kLog, Describe() + ": watch: " + summary + "; relisting in " + FormatDelay(delay));
    RetryList(delay);
    return;
  }
  if (status_ == 504 && IsTooLarge(status)) {
    rv_unavailable_ = true;
    milliseconds delay = Failed(ReflectorError::kClient);
    log::Warning(kLog, Describe() + ": watch: " + summary + "; relisting in " + FormatDelay(delay));
    RetryList(delay);
    return;
  }
  if (status_ == 401) {
    tokens_.Invalidate();
    milliseconds delay = Failed(ReflectorError::kUnauthorized);
    log::Warning(kLog, Describe() + ": watch: " + summary +
                           (tokens_.has_file() ? "; re-reading the token file" : "") +
                           "; re-watching in " + FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  if (status_ == 403) {
    milliseconds delay = Failed(ReflectorError::kForbidden);
    log::Error(kLog, Describe() + ": watch: " + summary + RbacHint() + "; re-watching in " +
                         FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  if (status_ == 429) {
    milliseconds delay = Failed(ReflectorError::kThrottled);
    delay = std::max(delay, RetryAfter(status));
    log::Warning(kLog,
                 Describe() + ": watch: " + summary + "; re-watching in " + FormatDelay(delay));
    RetryWatch(delay);
    return;
  }
  if (status_ >= 500) {
    const auto now = Backoff::Clock::now();
    if (!server_errors_since_) server_errors_since_ = now;
    milliseconds delay = Failed(ReflectorError::kServer);
    if (now - *server_errors_since_ < options_.server_error_window) {
      log::Warning(kLog,
                   Describe() + ": watch: " + summary + "; re-watching in " + FormatDelay(delay));
      RetryWatch(delay);
    } else {
      server_errors_since_.reset();
      log::Warning(kLog,
                   Describe() + ": watch: " + summary + "; relisting in " + FormatDelay(delay));
      RetryList(delay);
    }
    return;
  }
  milliseconds delay = Failed(ReflectorError::kClient);
  log::Error(kLog, Describe() + ": watch: " + summary + "; relisting in " + FormatDelay(delay));
  RetryList(delay);
}

}  // namespace petdns::plugins::kubernetes::api
