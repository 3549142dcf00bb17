// The hosts plugin's data: hosts(5) text parsed into address → names lines, and those lines
// compiled into an immutable lookup table of A, AAAA and PTR RRsets keyed by lower-cased wire
// name. Parsing and building run on a pool thread; a built table is shared read-only with the
// worker loop through shared_ptr<const HostsTable>.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/wire/dns.h"
#include "zones/rrset.h"

namespace petdns::plugins::hosts {

// One usable line: an address and the names (lower-cased absolute wire names) that map to it.
struct HostsLine {
  bool v6 = false;
  std::array<uint8_t, 16> address{};  // 4 bytes used for IPv4
  std::vector<std::string> names;
};

struct ParsedHosts {
  std::vector<HostsLine> lines;
  std::vector<std::string> errors;  // "source:line: reason", one per skipped line
  // The text does not end in a newline and its last line is bad: most likely a file caught
  // half-written. Reloads keep the previous table in that case.
  bool truncated = false;
};

// Parses hosts(5) text: "ADDRESS NAME [ALIAS...]", '#' starts a comment, blank lines are skipped.
// Names are taken as absolute ("db" is "db."); names outside every zone of `zones` (lower-cased
// wire names) are ignored, as CoreDNS does. A bad line is reported and skipped. `first_line` is the
// number given to the text's first line (inline entries are numbered one per entry).
ParsedHosts ParseHosts(std::string_view text, std::string_view source,
                       std::span<const std::string> zones, uint32_t first_line = 1);

struct HostsTableOptions {
  uint32_t ttl = 3600;
  bool reverse = true;             // generate PTRs
  std::vector<std::string> zones;  // PTR owners must lie inside one of these (lower wire)
};

class HostsTable {
 public:
  // Merges the sources in order; duplicate (name, address) pairs count once.
  static std::shared_ptr<const HostsTable> Build(std::span<const ParsedHosts* const> sources,
                                                 const HostsTableOptions& options);

  // The RRset of `type` (A, AAAA or PTR) owned by the lower-cased wire `name`, or nullptr.
  const zones::RRset* Find(std::string_view name, wire::RrType type) const noexcept;
  // Whether `name` has an A or AAAA record (it exists: other types get NODATA).
  bool HasName(std::string_view name) const noexcept;
  // Distinct (name, address) pairs.
  size_t entries() const noexcept { return entries_; }

 private:
  struct Forward {
    zones::RRset a;
    zones::RRset aaaa;
  };
  // Transparent hashing: lookups take the query's string_view without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;
  NameMap<Forward> forward_;
  NameMap<zones::RRset> reverse_;
  size_t entries_ = 0;
};

// "4.3.2.1.in-addr.arpa." / nibbles ".ip6.arpa." for an address, as a lower-cased wire name.
std::string ReverseName(const HostsLine& line);

}  // namespace petdns::plugins::hosts
