#include "server/corefile/zone_names.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "server/config/config.h"

namespace petdns::corefile {
namespace {

std::optional<std::string> ReverseZone(std::string_view address, std::string_view prefix_text) {
  int prefix = 0;
  if (prefix_text.empty() || prefix_text.size() > 3) return std::nullopt;
  for (char c : prefix_text) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  const std::string host(address);
  std::array<unsigned char, 16> bytes{};
  std::string zone;
  if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) {
    if (prefix > 32 || prefix % 8 != 0) return std::nullopt;
    for (int i = prefix / 8 - 1; i >= 0; --i) zone += std::to_string(bytes[i]) + ".";
    return zone + "in-addr.arpa.";
  }
  if (inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    if (prefix > 128 || prefix % 4 != 0) return std::nullopt;
    constexpr char kHex[] = "0123456789abcdef";
    for (int nibble = prefix / 4 - 1; nibble >= 0; --nibble) {
      const unsigned char byte = bytes[nibble / 2];
      zone += kHex[nibble % 2 == 0 ? byte >> 4 : byte & 0x0f];
      zone += '.';
    }
    return zone + "ip6.arpa.";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> NormalizeZone(std::string_view text) {
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    return ReverseZone(text.substr(0, slash), text.substr(slash + 1));
  }
  auto name = config::NormalizeZoneName(text);
  if (!name) return std::nullopt;
  return *name;
}

bool IsInside(std::string_view name, std::string_view zone) {
  if (zone == ".") return true;
  if (name == zone) return true;
  return name.size() > zone.size() && name.ends_with(zone) &&
         name[name.size() - zone.size() - 1] == '.';
}

std::vector<std::string> IntersectZones(const std::vector<std::string>& zones,
                                        const std::vector<std::string>& block_zones) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& zone) {
    if (std::find(out.begin(), out.end(), zone) == out.end()) out.push_back(zone);
  };
  for (const std::string& zone : zones) {
    for (const std::string& block : block_zones) {
      if (IsInside(zone, block)) {
        add(zone);
      } else if (IsInside(block, zone)) {
        add(block);
      }
    }
  }
  return out;
}

bool IsIpAddress(std::string_view text) {
  std::string host(text.substr(0, text.find('%')));
  std::array<unsigned char, 16> bytes{};
  return inet_pton(AF_INET, host.c_str(), bytes.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1;
}

std::optional<std::string> NormalizeHttpListen(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (host == "localhost") return "127.0.0.1:" + std::string(port);
  if (!host.empty() && !IsIpAddress(host)) return std::nullopt;
  return std::string(text);
}

}  // namespace petdns::corefile
