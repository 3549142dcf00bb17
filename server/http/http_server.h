// Abstract HTTP/1.1 endpoint for the control plane (/health, /ready): GET requests in, one short
// text response out, connection closed. No libuv types here; server/uv/http_server.h implements
// it on the main loop (chain::Runtime::NewHttpServer). The handler runs on that loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "server/common/error.h"

namespace petdns::http {

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

// Called for every well-formed request; `path` is the request target without its query string.
using HttpHandler = std::function<HttpResponse(std::string_view method, std::string_view path)>;

// A listening endpoint. Destroying it closes the listener and every open connection.
class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The bound TCP port (useful after binding port 0).
  virtual uint16_t port() const noexcept = 0;
};

// Where an HTTP endpoint listens: "127.0.0.1:8080", "[::1]:8080" or ":8080" (every IPv4
// address). Used by the metrics, health and ready plugins for their `listen` key.
struct HttpListen {
  std::string host;  // literal IPv4/IPv6 address; "0.0.0.0" for ":port"
  uint16_t port = 0;
  bool ipv6 = false;
};
[[nodiscard]] Result<HttpListen> ParseHttpListen(std::string_view text);

// The request line of an HTTP/1.x request head ("GET /ready?x=1 HTTP/1.1").
struct RequestLine {
  std::string_view method;
  std::string_view path;  // without "?query"
};
// Parses the first line of `head`; nullopt when it is not "METHOD SP target SP HTTP/1.x".
std::optional<RequestLine> ParseRequestLine(std::string_view head) noexcept;

// "OK", "Not Found", … for the status codes the endpoints use.
std::string_view StatusText(int status) noexcept;

}  // namespace petdns::http
