#include "plugins/kubernetes/ip_address.h"

#include <arpa/inet.h>

namespace petdns::plugins::kubernetes {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest IPv6 text form (with an embedded IPv4
  // part) is 45 characters.
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.size() >= sizeof(buffer)) return std::nullopt;
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buffer, a.bytes.data()) == 1) {
    a.length = 4;
  } else if (inet_pton(AF_INET6, buffer, a.bytes.data()) == 1) {
    a.length = 16;
  } else {
    return std::nullopt;
  }
  return a;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (length != 4 && length != 16) return {};
  if (inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buffer, sizeof(buffer)) == nullptr) {
    return {};
  }
  return buffer;
}

}  // namespace petdns::plugins::kubernetes
