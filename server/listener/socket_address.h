// Parsing and printing of IPv4/IPv6 socket addresses for the listeners. Pure functions, any thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "server/common/error.h"

namespace petdns::listener {

// Parses a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", no brackets) host. "" means 0.0.0.0.
// The result holds a sockaddr_in or sockaddr_in6 with `port`.
[[nodiscard]] Result<sockaddr_storage> ParseSocketAddress(std::string_view host, uint16_t port);

// "127.0.0.1:53", "[::1]:53"; "<unknown address>" for nullptr or another family.
std::string FormatSocketAddress(const sockaddr* address);

// The port in host byte order; 0 for nullptr or another family.
uint16_t PortOf(const sockaddr* address);

}  // namespace petdns::listener
