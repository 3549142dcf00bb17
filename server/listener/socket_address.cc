#include "server/listener/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace petdns::listener {

Result<sockaddr_storage> ParseSocketAddress(std::string_view host, uint16_t port) {
  sockaddr_storage storage{};
  const std::string text(host.empty() ? std::string_view("0.0.0.0") : host);  // NUL-terminated
  auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return storage;
  }
  storage = {};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return storage;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "invalid IP address \"" + text + "\" (want IPv4 or IPv6 without brackets)");
}

std::string FormatSocketAddress(const sockaddr* address) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (address == nullptr) return "<unknown address>";
  if (address->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    if (inet_ntop(AF_INET, &in4->sin_addr, buf, sizeof(buf)) == nullptr) return "<bad address>";
    return std::string(buf) + ":" + std::to_string(ntohs(in4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)) == nullptr) return "<bad address>";
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "<unknown address>";
}

uint16_t PortOf(const sockaddr* address) {
  if (address == nullptr) return 0;
  if (address->sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  }
  if (address->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  }
  return 0;
}

}  // namespace petdns::listener
