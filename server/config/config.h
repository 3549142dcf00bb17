// The typed petdns configuration, read from a TOML file. This module is the only place that parses
// TOML files; plugins read their own sub-table through config::TableReader (table_reader.h).
// Loading is control-plane work on the main thread; a loaded Config is immutable and shareable.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/common/error.h"

namespace petdns::config {

// "127.0.0.1:5353" or "[::1]:5353"; a port alone (":53") means every address.
struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", or "" for any
  uint16_t port = 53;
  std::string text;  // as written in the file, for logs and errors
};

// Where something was written: for error messages of the form "petdns.toml:12:3: message".
struct SourcePosition {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string ToString() const;  // "file:line:column" (or "file" when line is 0)
};

// One [[server]] block.
struct ServerBlock {
  size_t index = 0;                   // position in the file, 0-based
  std::vector<ListenAddress> listen;  // UDP and TCP on each
  std::vector<std::string> zones;     // lower case, absolute, with trailing dot: "example.org."
  // Plugin name ("file", "kubernetes", ...) → its sub-table ([server.file]). Points into
  // Config::document, which outlives the block.
  std::map<std::string, const toml::table*> plugins;
  SourcePosition position;
};

// Response rate limiting for UDP ([global.rrl]); off unless responses_per_second > 0.
struct RrlOptions {
  uint32_t responses_per_second = 0;  // per client netblock and answer; 0 = off
  uint32_t window_seconds = 5;        // how long a flood is remembered (its debt is capped at this)
  uint32_t slip = 2;                  // every Nth limited response goes out truncated; 0 = never
  uint8_t ipv4_prefix_length = 24;
  uint8_t ipv6_prefix_length = 56;
  uint32_t table_size = 65536;      // accounts kept (fixed memory: 16 bytes each)
  std::vector<std::string> exempt;  // CIDRs never limited
};

// Process-wide settings ([global] table; every key optional).
struct GlobalOptions {
  uint32_t tcp_idle_timeout_ms = 10'000;  // close idle TCP connections (RFC 7766 suggests seconds)
  uint32_t tcp_max_connections = 1024;    // per listen address; accept waits beyond
  // A partial TCP frame must complete within this (slow-loris guard); never longer than the idle
  // timeout.
  uint32_t tcp_read_timeout_ms = 2'000;
  // Answers queued on one TCP connection beyond this stop reading from it until they drain.
  uint32_t tcp_max_queued_bytes = 256 * 1024;
  uint16_t udp_max_payload = 1232;  // EDNS payload we advertise and honour (DNS flag day 2020)
  std::string log_level = "info";   // debug, info, warning, error
  // After binding every socket, switch to this user (and group; default: the user's primary
  // group). Empty: keep running as started.
  std::string user;
  std::string group;
  RrlOptions rrl;
};

struct Config {
  std::string path;       // the file as given
  std::string directory;  // its folder: relative paths in plugin tables are taken from here
  GlobalOptions global;
  std::vector<ServerBlock> servers;
  std::shared_ptr<const toml::table> document;  // keeps the plugin sub-tables alive
};

// Reads and validates the file. On failure the Error's message holds every problem found, one per
// line, each "file:line:column: message". Plugin sub-tables are checked by the plugins' Setup.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path);

// Same, from a string (for tests); `path` is used in messages and as the base for relative paths.
[[nodiscard]] Result<Config> LoadConfigFromString(std::string_view text, const std::string& path);

// For `petdns check`: the config as far as it could be read, and every problem found (empty when
// none). Blocks with problems are kept so their plugins can be checked too.
struct CheckedConfig {
  Config config;
  std::string errors;
};
[[nodiscard]] CheckedConfig LoadConfigForCheck(const std::string& path);

// Parses "example.org" / "Example.ORG." into "example.org."; the root is ".". Error for labels
// longer than 63 bytes, names longer than 255, or empty labels.
[[nodiscard]] Result<std::string> NormalizeZoneName(std::string_view text);

}  // namespace petdns::config
