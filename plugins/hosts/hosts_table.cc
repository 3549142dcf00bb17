#include "plugins/hosts/hosts_table.h"

#include <arpa/inet.h>

#include <algorithm>

#include "server/wire/name.h"

namespace petdns::plugins::hosts {
namespace {

bool InZones(std::string_view name, std::span<const std::string> zones) {
  return std::any_of(zones.begin(), zones.end(),
                     [&](const std::string& z) { return wire::IsSubdomain(name, z); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Parses one line; an empty string means OK (or nothing to do), else the reason it is bad.
std::string ParseLine(std::string_view text, std::span<const std::string> zones,
                      std::vector<HostsLine>& out) {
  if (size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  std::vector<std::string_view> fields = Fields(Trim(text));
  if (fields.empty()) return {};
  HostsLine line;
  std::string address(fields[0]);
  if (size_t pct = address.find('%'); pct != std::string::npos) address.resize(pct);  // fe80::1%lo
  if (inet_pton(AF_INET, address.c_str(), line.address.data()) == 1) {
    line.v6 = false;
  } else if (inet_pton(AF_INET6, address.c_str(), line.address.data()) == 1) {
    line.v6 = true;
  } else {
    return "invalid address '" + std::string(fields[0]) + "'";
  }
  if (fields.size() < 2) return "no host name after address '" + std::string(fields[0]) + "'";
  for (size_t i = 1; i < fields.size(); ++i) {
    std::string name(fields[i]);
    if (name != "." && !name.ends_with('.')) name += '.';
    auto wire_name = wire::NameFromText(name);
    if (!wire_name) {
      return "invalid name '" + std::string(fields[i]) + "': " + wire_name.error().message;
    }
    std::string lower = wire::LowerName(*wire_name);
    if (!InZones(lower, zones)) continue;  // outside the block's zones: not ours to answer
    line.names.push_back(std::move(lower));
  }
  if (!line.names.empty()) out.push_back(std::move(line));
  return {};
}

void AddRdata(zones::RRset& rrset, wire::RrType type, uint32_t ttl, std::string rdata,
              size_t* added) {
  rrset.type = type;
  rrset.ttl = ttl;
  if (rrset.rdatas.contains(rdata)) return;
  rrset.rdatas.push_back(rdata);
  if (added != nullptr) ++*added;
}

}  // namespace

ParsedHosts ParseHosts(std::string_view text, std::string_view source,
                       std::span<const std::string> zones, uint32_t first_line) {
  ParsedHosts parsed;
  uint32_t number = first_line;
  size_t pos = 0;
  bool last_bad = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    std::string reason = ParseLine(line, zones, parsed.lines);
    last_bad = !reason.empty();
    if (last_bad) {
      parsed.errors.push_back(std::string(source) + ":" + std::to_string(number) + ": " + reason);
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
    ++number;
  }
  parsed.truncated = !text.empty() && text.back() != '\n' && last_bad;
  return parsed;
}

std::string ReverseName(const HostsLine& line) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  if (!line.v6) {
    for (int i = 3; i >= 0; --i) {
      std::string label = std::to_string(line.address[static_cast<size_t>(i)]);
      name += static_cast<char>(label.size());
      name += label;
    }
    name += std::string_view("\7in-addr\4arpa\0", 14);
  } else {
    for (int i = 15; i >= 0; --i) {
      uint8_t byte = line.address[static_cast<size_t>(i)];
      name += '\1';
      name += kHex[byte & 0xF];
      name += '\1';
      name += kHex[byte >> 4];
    }
    name += std::string_view("\3ip6\4arpa\0", 10);
  }
  return name;
}

std::shared_ptr<const HostsTable> HostsTable::Build(std::span<const ParsedHosts* const> sources,
                                                    const HostsTableOptions& options) {
  auto table = std::make_shared<HostsTable>();
  for (const ParsedHosts* source : sources) {
    if (source == nullptr) continue;
    for (const HostsLine& line : source->lines) {
      std::string rdata(reinterpret_cast<const char*>(line.address.data()), line.v6 ? 16 : 4);
      std::string reverse;
      bool want_ptr = options.reverse;
      if (want_ptr) {
        reverse = ReverseName(line);
        want_ptr = InZones(reverse, options.zones);
      }
      for (const std::string& name : line.names) {
        Forward& fwd = table->forward_[name];
        if (line.v6) {
          AddRdata(fwd.aaaa, wire::RrType::kAaaa, options.ttl, rdata, &table->entries_);
        } else {
          AddRdata(fwd.a, wire::RrType::kA, options.ttl, rdata, &table->entries_);
        }
        if (want_ptr) {
          AddRdata(table->reverse_[reverse], wire::RrType::kPtr, options.ttl, name, nullptr);
        }
      }
    }
  }
  return table;
}

const zones::RRset* HostsTable::Find(std::string_view name, wire::RrType type) const noexcept {
  if (type == wire::RrType::kPtr) {
    auto it = reverse_.find(name);
    return it == reverse_.end() ? nullptr : &it->second;
  }
  if (type != wire::RrType::kA && type != wire::RrType::kAaaa) return nullptr;
  auto it = forward_.find(name);
  if (it == forward_.end()) return nullptr;
  const zones::RRset& rrset = type == wire::RrType::kA ? it->second.a : it->second.aaaa;
  return rrset.rdatas.empty() ? nullptr : &rrset;
}

bool HostsTable::HasName(std::string_view name) const noexcept {
  return forward_.find(name) != forward_.end();
}

}  // namespace petdns::plugins::hosts
