// http::HttpClient over libcurl's multi interface, driven by a libuv loop: one uv_poll per socket
// curl asks for (CURLMOPT_SOCKETFUNCTION), one uv_timer for curl's timeouts
// (CURLMOPT_TIMERFUNCTION); no thread per request, nothing blocks the loop. Create, use and destroy
// it on the loop's thread only. Destroy it before the uv::Loop; calls still alive at that point
// are cancelled and become inert (destroying them later is fine).
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "server/common/error.h"
#include "server/http/http_client.h"
#include "server/uv/handle.h"
#include "server/uv/loop.h"

namespace petdns::uv {

class CurlClient final : public http::HttpClient {
 public:
  // Initialises libcurl once per process (curl_global_init) and a multi handle on `loop`.
  [[nodiscard]] static Result<std::unique_ptr<CurlClient>> Create(Loop& loop);
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  [[nodiscard]] Result<std::unique_ptr<http::HttpCall>> Start(
      http::HttpRequest request, http::HttpCallbacks callbacks) override;

  // Transfers started and not yet finished or cancelled (for tests and metrics).
  size_t active_calls() const noexcept { return transfers_.size(); }

 private:
  struct Transfer;
  struct Socket;
  class Call;
  struct MultiDeleter {
    void operator()(CURLM* multi) const noexcept { curl_multi_cleanup(multi); }
  };

  explicit CurlClient(Loop& loop);

  // Called by ~Call: forget the transfer, and free it now or, inside curl, after the action.
  void Release(std::unique_ptr<Transfer> transfer) noexcept;
  // Runs curl_multi_socket_action and everything that had to wait until curl returned.
  void SocketAction(curl_socket_t fd, int events) noexcept;
  void AfterAction() noexcept;
  void AddHandle(Transfer* t) noexcept;
  void Finish(Transfer* t, Status status) noexcept;

  static int OnSocket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp) noexcept;
  static int OnTimerRequest(CURLM* multi, long timeout_ms, void* userp) noexcept;  // NOLINT
  static void OnPoll(uv_poll_t* poll, int status, int events) noexcept;
  static void OnTimeout(uv_timer_t* timer) noexcept;
  static void OnIdleTimer(uv_timer_t* timer) noexcept;
  static size_t OnHeader(char* data, size_t size, size_t n, void* userp) noexcept;
  static size_t OnWrite(char* data, size_t size, size_t n, void* userp) noexcept;

  Loop& loop_;
  std::unique_ptr<CURLM, MultiDeleter> multi_;
  Handle<uv_timer_t> timeout_;
  std::unordered_map<curl_socket_t, std::unique_ptr<Socket>> sockets_;
  std::unordered_map<uint64_t, Transfer*> transfers_;  // live, owned by their Call
  std::vector<std::unique_ptr<Transfer>> graveyard_;   // released inside curl
  std::vector<uint64_t> to_add_;                       // started inside curl
  uint64_t next_id_ = 1;
  int in_curl_ = 0;  // > 0 while curl_multi_* runs: callbacks may not call back into curl
};

}  // namespace petdns::uv
