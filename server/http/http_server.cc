#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace petdns::http {

Result<HttpListen> ParseHttpListen(std::string_view text) {
  HttpListen out;
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "expected \"[address]:port\", not '" + std::string(text) + "'");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    out.ipv6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "expected \"address:port\" or \":port\", not '" + std::string(text) + "'");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "IPv6 addresses must be in brackets, as in \"[::1]:8080\"");
    }
  }
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 ||
      number > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "port must be a number between 1 and 65535");
  }
  out.port = static_cast<uint16_t>(number);
  out.host = host.empty() ? (out.ipv6 ? "::" : "0.0.0.0") : std::string(host);
  unsigned char bytes[sizeof(in6_addr)];
  if (inet_pton(out.ipv6 ? AF_INET6 : AF_INET, out.host.c_str(), bytes) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + out.host + "' is not a literal " +
                                                      (out.ipv6 ? "IPv6" : "IPv4") + " address");
  }
  return out;
}

std::optional<RequestLine> ParseRequestLine(std::string_view head) noexcept {
  const size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
  RequestLine out;
  out.method = line.substr(0, sp1);
  out.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!out.path.starts_with('/')) return std::nullopt;
  out.path = out.path.substr(0, out.path.find('?'));
  return out;
}

std::string_view StatusText(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace petdns::http
