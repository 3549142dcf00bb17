#include "server/uv/http_server.h"

#include <exception>
#include <string_view>

#include "server/common/log.h"
#include "server/uv/uv_error.h"

namespace petdns::uv {
namespace {

constexpr std::string_view kLog = "http";

}  // namespace

struct UvHttpServer::Connection {
  UvHttpServer* server = nullptr;
  Handle<uv_tcp_t> tcp;
  Handle<uv_timer_t> timer;
  std::string head;  // bytes received so far, up to max_request_bytes
  std::array<char, 2048> read_buffer{};
  bool answered = false;  // a response is being written: ignore further input
};

// A write in flight with its bytes (CONVENTIONS §4): owned by libuv from a successful uv_write
// until OnWrite.
struct UvHttpServer::WriteRequest {
  uv_write_t req{};
  std::string data;
};

UvHttpServer::UvHttpServer(uv_loop_t* loop, http::HttpHandler handler, HttpServerOptions options)
    : loop_(loop), handler_(std::move(handler)), options_(options) {}

UvHttpServer::~UvHttpServer() {
  connections_.clear();  // each Handle closes; pending writes complete with UV_ECANCELED
  listener_.Close();
}

Result<std::unique_ptr<UvHttpServer>> UvHttpServer::Create(Loop& loop,
                                                           const http::HttpListen& listen,
                                                           http::HttpHandler handler,
                                                           HttpServerOptions options) {
  std::unique_ptr<UvHttpServer> server(new UvHttpServer(loop.get(), std::move(handler), options));
  const std::string where = "http listen " + (listen.ipv6 ? "[" + listen.host + "]" : listen.host) +
                            ":" + std::to_string(listen.port);
  sockaddr_storage address{};
  int rc =
      listen.ipv6
          ? uv_ip6_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in6*>(&address))
          : uv_ip4_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in*>(&address));
  if (rc != 0) return UvError(rc, where);
  uv_loop_t* l = loop.get();
  if (Status st =
          server->listener_.Open([l](uv_tcp_t* t) { return uv_tcp_init(l, t); }, server.get());
      !st) {
    return st.error().WithContext(where);
  }
  if (rc = uv_tcp_bind(server->listener_.get(), reinterpret_cast<const sockaddr*>(&address), 0);
      rc != 0) {
    return UvError(rc, where);
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(server->listener_.get());
  if (rc = uv_listen(stream, 64, &UvHttpServer::OnConnection); rc != 0) return UvError(rc, where);
  sockaddr_storage bound{};
  int len = sizeof(bound);
  if (rc = uv_tcp_getsockname(server->listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
      rc != 0) {
    return UvError(rc, where);
  }
  server->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  return server;
}

void UvHttpServer::OnConnection(uv_stream_t* listener, int status) noexcept {
  auto* self = static_cast<UvHttpServer*>(listener->data);
  if (self == nullptr) return;
  if (status != 0) {
    log::Warning(kLog, UvError(status, "accept").message);
    return;
  }
  auto conn = std::make_unique<Connection>();
  conn->server = self;
  uv_loop_t* l = self->loop_;
  if (!conn->tcp.Open([l](uv_tcp_t* t) { return uv_tcp_init(l, t); }, conn.get())) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(conn->tcp.get());
  if (uv_accept(listener, stream) != 0) return;  // ~Connection closes the handle
  if (self->connections_.size() >= self->options_.max_connections) return;
  if (!conn->timer.Open([l](uv_timer_t* t) { return uv_timer_init(l, t); }, conn.get())) return;
  auto ms = static_cast<uint64_t>(std::max<int64_t>(self->options_.read_timeout.count(), 1));
  if (uv_timer_start(conn->timer.get(), &UvHttpServer::OnTimeout, ms, 0) != 0) return;
  if (uv_read_start(stream, &UvHttpServer::OnAlloc, &UvHttpServer::OnRead) != 0) return;
  Connection* raw = conn.get();
  self->connections_.emplace(raw, std::move(conn));
}

void UvHttpServer::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* conn = static_cast<Connection*>(handle->data);
  if (conn == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(conn->read_buffer.data(), static_cast<unsigned>(conn->read_buffer.size()));
}

void UvHttpServer::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* conn = static_cast<Connection*>(stream->data);
  if (conn == nullptr || nread == 0) return;
  UvHttpServer* self = conn->server;
  if (nread < 0) {  // EOF or error before a complete head
    if (!conn->answered) self->CloseConnection(conn);
    return;
  }
  if (conn->answered) return;
  const size_t room = self->options_.max_request_bytes - conn->head.size();
  conn->head.append(buf->base, std::min(static_cast<size_t>(nread), room));
  if (conn->head.find("\r\n\r\n") != std::string::npos) return self->Dispatch(*conn);
  if (conn->head.size() >= self->options_.max_request_bytes) {
    return self->Answer(*conn, {431, "request too large\n"}, false);
  }
}

void UvHttpServer::OnTimeout(uv_timer_t* timer) noexcept {
  auto* conn = static_cast<Connection*>(timer->data);
  if (conn == nullptr) return;
  if (conn->answered) return conn->server->CloseConnection(conn);  // the client does not read
  conn->server->Answer(*conn, {408, "request timeout\n"}, false);
}

void UvHttpServer::Dispatch(Connection& conn) noexcept {
  std::optional<http::RequestLine> line = http::ParseRequestLine(conn.head);
  if (!line) return Answer(conn, {400, "bad request\n"}, false);
  const bool head_only = line->method == "HEAD";
  if (line->method != "GET" && !head_only) {
    return Answer(conn, {405, "method not allowed\n"}, false);
  }
  http::HttpResponse response;
  try {
    response = handler_(line->method, line->path);
  } catch (const std::exception& e) {
    log::Error(kLog, std::string("handler threw: ") + e.what());
    response = {500, "internal error\n"};
  } catch (...) {
    response = {500, "internal error\n"};
  }
  Answer(conn, response, head_only);
}

void UvHttpServer::Answer(Connection& conn, const http::HttpResponse& response,
                          bool head_only) noexcept {
  conn.answered = true;
  auto* stream = reinterpret_cast<uv_stream_t*>(conn.tcp.get());
  (void)uv_read_stop(stream);
  auto write = std::make_unique<WriteRequest>();
  try {
    write->data = "HTTP/1.1 " + std::to_string(response.status) + " " +
                  std::string(http::StatusText(response.status)) +
                  "\r\nContent-Type: " + response.content_type +
                  "\r\nContent-Length: " + std::to_string(response.body.size()) +
                  "\r\nConnection: close\r\n\r\n";
    if (!head_only) write->data += response.body;
  } catch (...) {
    return CloseConnection(&conn);
  }
  write->req.data = write.get();
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  if (uv_write(&write->req, stream, &buf, 1, &UvHttpServer::OnWrite) != 0) {
    return CloseConnection(&conn);
  }
  (void)write.release();  // libuv owns it until OnWrite
}

void UvHttpServer::OnWrite(uv_write_t* req, int) noexcept {
  std::unique_ptr<WriteRequest> write(static_cast<WriteRequest*>(req->data));
  auto* conn = static_cast<Connection*>(req->handle->data);
  if (conn == nullptr) return;  // the connection is already closing
  conn->server->CloseConnection(conn);
}

void UvHttpServer::CloseConnection(Connection* conn) noexcept {
  connections_.erase(conn);  // ~Connection closes both handles
}

}  // namespace petdns::uv
