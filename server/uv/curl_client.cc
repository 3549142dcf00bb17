#include "server/uv/curl_client.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "server/common/check.h"
#include "server/common/log.h"
#include "server/http/redact.h"

namespace petdns::uv {
namespace {

constexpr std::string_view kLog = "http";

template <auto F>
struct CFree {
  void operator()(auto* p) const noexcept { F(p); }
};
using EasyPtr = std::unique_ptr<CURL, CFree<curl_easy_cleanup>>;
using SlistPtr = std::unique_ptr<curl_slist, CFree<curl_slist_free_all>>;
using UrlPtr = std::unique_ptr<CURLU, CFree<curl_url_cleanup>>;

// curl_url_get hands out curl_malloc'd strings.
struct CurlStringFree {
  void operator()(char* p) const noexcept { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlStringFree>;

Status GlobalInit() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kInternal,
                     std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
  return {};
}

// Appends `line` to `list`; false when curl is out of memory.
bool Append(SlistPtr& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) return false;
  (void)list.release();  // `next` is the same list head (or a new one when it was empty)
  list.reset(next);
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Runs a user callback at a C callback boundary: nothing may escape into curl or libuv.
template <class Fn>
bool Guarded(Fn&& fn, std::string_view what) noexcept {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    log::Error(kLog, std::string(what) + " callback threw: " + e.what());
  } catch (...) {
    log::Error(kLog, std::string(what) + " callback threw a non-std exception");
  }
  return false;
}

}  // namespace

struct CurlClient::Socket {
  curl_socket_t fd = CURL_SOCKET_BAD;
  CurlClient* client = nullptr;
  Handle<uv_poll_t> poll;
};

struct CurlClient::Transfer {
  uint64_t id = 0;
  CurlClient* client = nullptr;  // nullptr once the client is gone
  EasyPtr easy;
  SlistPtr headers;
  SlistPtr connect_to;
  std::string url;
  http::HttpCallbacks callbacks;
  std::chrono::milliseconds idle_timeout{0};
  Handle<uv_timer_t> idle;
  char error[CURL_ERROR_SIZE] = {};
  // Response header block being read; a 1xx block is discarded.
  int status = 0;
  http::HeaderList response_headers;
  bool headers_delivered = false;
  bool added = false;      // inside the multi handle
  bool done = false;       // finished (on_done due or delivered)
  bool cancelled = false;  // released by its Call: no more callbacks, abort the transfer

  void RestartIdle() noexcept {
    if (idle.get() == nullptr) return;
    int rc = uv_timer_start(idle.get(), &CurlClient::OnIdleTimer,
                            static_cast<uint64_t>(idle_timeout.count()), 0);
    if (rc != 0) log::Error(kLog, UvError(rc, "idle timer").message);
  }
};

class CurlClient::Call final : public http::HttpCall {
 public:
  explicit Call(std::unique_ptr<Transfer> t) : t_(std::move(t)) {}
  ~Call() override {
    if (t_->client != nullptr) {
      t_->client->Release(std::move(t_));
    } else {
      t_->idle.Close();
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

 private:
  std::unique_ptr<Transfer> t_;
};

Result<std::unique_ptr<CurlClient>> CurlClient::Create(Loop& loop) {
  if (auto st = GlobalInit(); !st) return st.error();
  std::unique_ptr<CurlClient> client(new CurlClient(loop));
  client->multi_.reset(curl_multi_init());
  if (client->multi_ == nullptr) return MakeError(ErrorCode::kInternal, "curl_multi_init failed");
  uv_loop_t* l = loop.get();
  if (auto st =
          client->timeout_.Open([l](uv_timer_t* t) { return uv_timer_init(l, t); }, client.get());
      !st) {
    return st.error().WithContext("curl timer");
  }
  CURLM* m = client->multi_.get();
  CURLMcode rc = curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &CurlClient::OnSocket);
  if (rc == CURLM_OK) rc = curl_multi_setopt(m, CURLMOPT_SOCKETDATA, client.get());
  if (rc == CURLM_OK)
    rc = curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &CurlClient::OnTimerRequest);
  if (rc == CURLM_OK) rc = curl_multi_setopt(m, CURLMOPT_TIMERDATA, client.get());
  if (rc != CURLM_OK) {
    return MakeError(ErrorCode::kInternal,
                     std::string("curl_multi_setopt: ") + curl_multi_strerror(rc));
  }
  return client;
}

CurlClient::CurlClient(Loop& loop) : loop_(loop) {}

CurlClient::~CurlClient() {
  // Calls may outlive us: detach them (out of the multi handle, timers closed) so their later
  // destruction only frees the easy handle.
  for (auto& [id, t] : transfers_) {
    if (t->added) curl_multi_remove_handle(multi_.get(), t->easy.get());
    t->added = false;
    t->cancelled = true;
    t->client = nullptr;
    t->idle.Close();
  }
  transfers_.clear();
  for (auto& t : graveyard_) {
    if (t->added) curl_multi_remove_handle(multi_.get(), t->easy.get());
  }
  graveyard_.clear();
  to_add_.clear();
  // curl_multi_cleanup may still report sockets as removed: sockets_ and timeout_ stay valid.
  multi_.reset();
  sockets_.clear();
  timeout_.Close();
}

Result<std::unique_ptr<http::HttpCall>> CurlClient::Start(http::HttpRequest request,
                                                          http::HttpCallbacks callbacks) {
  auto t = std::make_unique<Transfer>();
  t->id = next_id_++;
  t->client = this;
  t->callbacks = std::move(callbacks);
  t->idle_timeout = request.low_speed_timeout;
  t->url = http::RedactUrl(request.url);  // for messages only: never a password in a log
  t->easy.reset(curl_easy_init());
  if (t->easy == nullptr) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* e = t->easy.get();

  std::string url = request.url;
  const http::TlsOptions& tls = request.tls;
  if (!tls.server_name.empty()) {
    // Verify the certificate for (and send SNI of) server_name while connecting to the URL's host:
    // rewrite the URL's host and pin the connection with CURLOPT_CONNECT_TO.
    UrlPtr u(curl_url());
    if (u == nullptr) return MakeError(ErrorCode::kInternal, "curl_url failed");
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "invalid URL " + t->url);
    }
    char* raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "URL without host: " + t->url);
    }
    CurlString host(raw);
    raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_PORT, &raw, CURLU_DEFAULT_PORT) != CURLUE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "URL without port: " + t->url);
    }
    CurlString port(raw);
    if (curl_url_set(u.get(), CURLUPART_HOST, tls.server_name.c_str(), 0) != CURLUE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "invalid TLS server name " + tls.server_name);
    }
    raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK) {
      return MakeError(ErrorCode::kInternal, "cannot rebuild URL " + t->url);
    }
    CurlString rebuilt(raw);
    url = rebuilt.get();
    if (!Append(t->connect_to,
                tls.server_name + ":" + port.get() + ":" + host.get() + ":" + port.get())) {
      return MakeError(ErrorCode::kInternal, "out of memory");
    }
  }
  for (const auto& line : request.headers) {
    if (!Append(t->headers, line)) return MakeError(ErrorCode::kInternal, "out of memory");
  }

  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, option, value);
  };
  auto set_blob = [&](CURLoption option, const std::string& data) {
    curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, option, &blob);
  };
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_HTTPGET, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));  // NOLINT
  set(CURLOPT_NOSIGNAL, 1L);
  // With an https_proxy, the proxy's "200 Connection established" block must not look like the
  // response.
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  set(CURLOPT_PRIVATE, static_cast<void*>(t.get()));
  set(CURLOPT_ERRORBUFFER, t->error);
  set(CURLOPT_HEADERFUNCTION, &CurlClient::OnHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(t.get()));
  set(CURLOPT_WRITEFUNCTION, &CurlClient::OnWrite);
  set(CURLOPT_WRITEDATA, static_cast<void*>(t.get()));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));  // NOLINT
  // Dead peers on long watches: TCP keepalive as client-go does (30 s).
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_TCP_KEEPIDLE, 30L);
  set(CURLOPT_TCP_KEEPINTVL, 30L);
  if (t->headers != nullptr) set(CURLOPT_HTTPHEADER, t->headers.get());
  if (t->connect_to != nullptr) set(CURLOPT_CONNECT_TO, t->connect_to.get());
  if (!tls.ca_pem.empty()) {
    set_blob(CURLOPT_CAINFO_BLOB, tls.ca_pem);
  } else if (!tls.ca_file.empty()) {
    set(CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.client_cert_pem.empty()) {
    set_blob(CURLOPT_SSLCERT_BLOB, tls.client_cert_pem);
    set(CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls.client_cert_file.empty()) {
    set(CURLOPT_SSLCERT, tls.client_cert_file.c_str());
  }
  if (!tls.client_key_pem.empty()) {
    set_blob(CURLOPT_SSLKEY_BLOB, tls.client_key_pem);
    set(CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls.client_key_file.empty()) {
    set(CURLOPT_SSLKEY, tls.client_key_file.c_str());
  }
  set(CURLOPT_SSL_VERIFYPEER, tls.insecure_skip_verify ? 0L : 1L);
  set(CURLOPT_SSL_VERIFYHOST, tls.insecure_skip_verify ? 0L : 2L);
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kInvalidArgument, "GET " + t->url + ": " + curl_easy_strerror(rc));
  }

  if (t->idle_timeout.count() > 0) {
    uv_loop_t* l = loop_.get();
    if (auto st = t->idle.Open([l](uv_timer_t* h) { return uv_timer_init(l, h); }, t.get()); !st) {
      return st.error().WithContext("idle timer");
    }
  }
  Transfer* raw_t = t.get();
  auto call = std::make_unique<Call>(std::move(t));
  transfers_.emplace(raw_t->id, raw_t);
  if (in_curl_ > 0) {
    to_add_.push_back(raw_t->id);  // curl refuses re-entrant calls; AfterAction adds it
  } else {
    CURLMcode mrc = curl_multi_add_handle(multi_.get(), raw_t->easy.get());
    if (mrc != CURLM_OK) {
      return MakeError(ErrorCode::kInternal,
                       std::string("curl_multi_add_handle: ") + curl_multi_strerror(mrc));
      // ~Call releases the transfer
    }
    raw_t->added = true;
    raw_t->RestartIdle();
  }
  return std::unique_ptr<http::HttpCall>(std::move(call));
}

void CurlClient::Release(std::unique_ptr<Transfer> t) noexcept {
  transfers_.erase(t->id);
  t->cancelled = true;
  t->idle.Close();
  if (in_curl_ > 0) {
    // We are inside a curl callback (a user callback destroyed a call): curl still uses the easy
    // handle, so remove and free it once curl returns.
    graveyard_.push_back(std::move(t));
    return;
  }
  if (t->added) curl_multi_remove_handle(multi_.get(), t->easy.get());
}

void CurlClient::AddHandle(Transfer* t) noexcept {
  CURLMcode mrc = curl_multi_add_handle(multi_.get(), t->easy.get());
  if (mrc != CURLM_OK) {
    t->done = true;
    Finish(t, Error{ErrorCode::kInternal,
                    std::string("curl_multi_add_handle: ") + curl_multi_strerror(mrc)});
    return;
  }
  t->added = true;
  t->RestartIdle();
}

void CurlClient::SocketAction(curl_socket_t fd, int events) noexcept {
  ++in_curl_;
  int running = 0;
  CURLMcode rc = curl_multi_socket_action(multi_.get(), fd, events, &running);
  --in_curl_;
  if (rc != CURLM_OK) log::Error(kLog, std::string("curl: ") + curl_multi_strerror(rc));
  if (in_curl_ == 0) AfterAction();
}

void CurlClient::AfterAction() noexcept {
  // 1. Collect finished transfers; their user callbacks run last, when curl is idle.
  std::vector<std::pair<uint64_t, Status>> finished;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    auto* t = reinterpret_cast<Transfer*>(priv);
    curl_multi_remove_handle(multi_.get(), easy);  // invalidates `msg`
    if (t == nullptr) continue;
    t->added = false;
    if (t->cancelled || t->done) continue;  // in the graveyard, or failed by the idle timer
    t->done = true;
    t->idle.Close();
    if (result == CURLE_OK) {
      finished.emplace_back(t->id, Status{});
    } else {
      // curl's error text may quote the URL (or a header): keep credentials out of it.
      std::string detail = http::RedactCredentials(
          http::RedactUrl(t->error[0] != '\0' ? t->error : curl_easy_strerror(result)));
      finished.emplace_back(t->id, Error{ErrorCode::kUnavailable, "GET " + t->url + ": " + detail});
    }
  }
  // 2. Free transfers released while curl was running.
  for (auto& t : graveyard_) {
    if (t->added) curl_multi_remove_handle(multi_.get(), t->easy.get());
    t->added = false;
  }
  graveyard_.clear();
  // 3. Add transfers started while curl was running.
  std::vector<uint64_t> to_add;
  to_add.swap(to_add_);
  for (uint64_t id : to_add) {
    if (auto it = transfers_.find(id); it != transfers_.end()) AddHandle(it->second);
  }
  // 4. Report completions. A callback may release or start any call, so look each one up again.
  for (auto& [id, status] : finished) {
    if (auto it = transfers_.find(id); it != transfers_.end())
      Finish(it->second, std::move(status));
  }
}

void CurlClient::Finish(Transfer* t, Status status) noexcept {
  // on_done may destroy the call (and with it `t`): keep the function alive in a local.
  auto done = std::move(t->callbacks.on_done);
  t->callbacks = {};
  if (done) Guarded([&] { done(std::move(status)); }, "http on_done");
}

int CurlClient::OnSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp,
                         void* socketp) noexcept {
  auto* client = static_cast<CurlClient*>(userp);
  auto* sock = static_cast<Socket*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (sock != nullptr) client->sockets_.erase(sock->fd);  // ~Handle closes the poll
    return 0;
  }
  if (sock == nullptr) {
    client->sockets_.erase(fd);  // a stale entry for a reused descriptor number
    auto s = std::make_unique<Socket>();
    s->fd = fd;
    s->client = client;
    uv_loop_t* l = client->loop_.get();
    if (auto st =
            s->poll.Open([l, fd](uv_poll_t* p) { return uv_poll_init_socket(l, p, fd); }, s.get());
        !st) {
      log::Error(kLog, "poll socket: " + st.error().message);
      return -1;
    }
    sock = s.get();
    if (curl_multi_assign(client->multi_.get(), fd, sock) != CURLM_OK) return -1;
    client->sockets_[fd] = std::move(s);
  }
  int events = 0;
  if ((what & CURL_POLL_IN) != 0) events |= UV_READABLE;
  if ((what & CURL_POLL_OUT) != 0) events |= UV_WRITABLE;
  if (int rc = uv_poll_start(sock->poll.get(), events, &CurlClient::OnPoll); rc != 0) {
    log::Error(kLog, UvError(rc, "poll start").message);
    return -1;
  }
  return 0;
}

int CurlClient::OnTimerRequest(CURLM* /*multi*/, long timeout_ms, void* userp) noexcept {  // NOLINT
  auto* client = static_cast<CurlClient*>(userp);
  uv_timer_t* timer = client->timeout_.get();
  if (timer == nullptr) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(timer);
    return 0;
  }
  // Even a 0 ms timeout goes through the loop: curl forbids calling it back from this callback.
  if (int rc = uv_timer_start(timer, &CurlClient::OnTimeout, static_cast<uint64_t>(timeout_ms), 0);
      rc != 0) {
    log::Error(kLog, UvError(rc, "curl timer").message);
    return -1;
  }
  return 0;
}

void CurlClient::OnPoll(uv_poll_t* poll, int status, int events) noexcept {
  auto* sock = static_cast<Socket*>(poll->data);
  if (sock == nullptr) return;
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if ((events & UV_READABLE) != 0) flags |= CURL_CSELECT_IN;
    if ((events & UV_WRITABLE) != 0) flags |= CURL_CSELECT_OUT;
  }
  sock->client->SocketAction(sock->fd, flags);  // may free `sock`
}

void CurlClient::OnTimeout(uv_timer_t* timer) noexcept {
  auto* client = static_cast<CurlClient*>(timer->data);
  if (client == nullptr) return;
  client->SocketAction(CURL_SOCKET_TIMEOUT, 0);
}

void CurlClient::OnIdleTimer(uv_timer_t* timer) noexcept {
  auto* t = static_cast<Transfer*>(timer->data);
  if (t == nullptr || t->done || t->cancelled || t->client == nullptr) return;
  CurlClient* client = t->client;
  if (t->added) curl_multi_remove_handle(client->multi_.get(), t->easy.get());
  t->added = false;
  t->done = true;
  t->idle.Close();
  client->Finish(
      t, Error{ErrorCode::kUnavailable, "GET " + t->url + ": no data received for " +
                                            std::to_string(t->idle_timeout.count()) + " ms"});
}

size_t CurlClient::OnHeader(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  const size_t total = size * n;
  if (t->cancelled) return 0;
  t->RestartIdle();
  std::string_view line(data, total);
  if (line.starts_with("HTTP/")) {  // status line of a new header block
    t->status = 0;
    t->response_headers.clear();
    if (size_t sp = line.find(' '); sp != std::string_view::npos) {
      std::string_view code = line.substr(sp + 1, 3);
      for (char c : code) {
        if (c < '0' || c > '9') break;
        t->status = t->status * 10 + (c - '0');
      }
    }
    return total;
  }
  std::string_view trimmed = Trim(line);
  if (trimmed.empty()) {  // end of the block
    if (t->status >= 200 && !t->headers_delivered) {
      t->headers_delivered = true;
      if (t->callbacks.on_headers) {
        bool ok = Guarded([&] { t->callbacks.on_headers(t->status, t->response_headers); },
                          "http on_headers");
        if (!ok || t->cancelled) return 0;
      }
    }
    return total;
  }
  if (size_t colon = trimmed.find(':'); colon != std::string_view::npos) {
    try {
      std::string name(Trim(trimmed.substr(0, colon)));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      t->response_headers.emplace_back(std::move(name),
                                       std::string(Trim(trimmed.substr(colon + 1))));
    } catch (...) {
      return 0;  // out of memory: abort the transfer
    }
  }
  return total;
}

size_t CurlClient::OnWrite(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  const size_t total = size * n;
  if (t->cancelled) return CURL_WRITEFUNC_ERROR;
  t->RestartIdle();
  if (t->callbacks.on_body) {
    bool ok = Guarded([&] { t->callbacks.on_body(std::string_view(data, total)); }, "http on_body");
    if (!ok || t->cancelled) return CURL_WRITEFUNC_ERROR;
  }
  return total;
}

}  // namespace petdns::uv
