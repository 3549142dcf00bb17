// http::HttpServer over libuv: a tiny HTTP/1.1 server on one loop for the control-plane endpoints
// (/health, /ready). It reads the request head (bounded size, read timeout), calls the handler
// once, writes the response with "Connection: close" and closes. No threads; every method and
// callback runs on the loop's thread.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/common/error.h"
#include "server/http/http_server.h"
#include "server/uv/handle.h"
#include "server/uv/loop.h"

namespace petdns::uv {

struct HttpServerOptions {
  size_t max_request_bytes = 8192;  // a longer request head gets 431 and the connection closes
  std::chrono::milliseconds read_timeout{5000};  // no complete head by then: 408 and close
  size_t max_connections = 64;                   // beyond this, new connections are closed
};

class UvHttpServer final : public http::HttpServer {
 public:
  // Binds and listens on `listen`. `loop` must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<UvHttpServer>> Create(Loop& loop,
                                                                    const http::HttpListen& listen,
                                                                    http::HttpHandler handler,
                                                                    HttpServerOptions options = {});
  ~UvHttpServer() override;
  UvHttpServer(const UvHttpServer&) = delete;
  UvHttpServer& operator=(const UvHttpServer&) = delete;

  uint16_t port() const noexcept override { return port_; }
  size_t open_connections() const noexcept { return connections_.size(); }

 private:
  struct Connection;
  struct WriteRequest;

  UvHttpServer(uv_loop_t* loop, http::HttpHandler handler, HttpServerOptions options);
  static void OnConnection(uv_stream_t* listener, int status) noexcept;
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnTimeout(uv_timer_t* timer) noexcept;
  static void OnWrite(uv_write_t* req, int status) noexcept;
  // Writes `response` (headers only for HEAD), then closes the connection.
  void Answer(Connection& conn, const http::HttpResponse& response, bool head_only) noexcept;
  // A complete request head arrived: parse it and answer through the handler.
  void Dispatch(Connection& conn) noexcept;
  void CloseConnection(Connection* conn) noexcept;

  uv_loop_t* loop_;
  http::HttpHandler handler_;
  HttpServerOptions options_;
  Handle<uv_tcp_t> listener_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  uint16_t port_ = 0;
};

}  // namespace petdns::uv
