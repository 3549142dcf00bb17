// Command-line flags of `peer-finder`, parsed exactly as Go's `flag` package parses them (the
// original is a Go program; scripts and manifests pass `-flag value`, `-flag=value`, `--flag`),
// and the usage text Go prints. Called once at start-up on the main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace petdns::client {

using Duration = std::chrono::nanoseconds;

// Go's time.ParseDuration ("1s", "1m30s", "250ms", "0"); nullopt on any error.
std::optional<Duration> ParseGoDuration(std::string_view text);
// Go's time.Duration.String ("1s", "1m30s", "250ms", "0s").
std::string FormatGoDuration(Duration d);
// Go's %q of a string (strconv.Quote) for ASCII text; other bytes are copied as they are.
std::string GoQuote(std::string_view text);

struct PeerFinderOptions {
  // The original's flags.
  std::string on_change;
  std::string on_start;
  std::string service;
  std::string ns;
  std::string domain;
  // petdns extensions; their defaults keep the original's behaviour.
  std::string dns_server;  // "ip:port" or "[ip6]:port"; empty: the resolv.conf nameservers
  std::string resolv_conf = "/etc/resolv.conf";
  std::string hostname;    // empty: the system (UTS) hostname
  std::string hosts_file;  // empty: no hosts file
  int64_t min_peers = 0;   // peers needed before the first script run (0/1: no minimum)
  Duration timeout{0};     // start-up timeout; 0: wait forever
  Duration poll_interval = std::chrono::seconds(1);
};

struct FlagParseResult {
  // -1: go on; 0: -h/-help was given; 2: a flag error (Go's exit codes).
  int exit_code = -1;
  // What Go prints to stderr before exiting: the error line (if any) and the usage text.
  std::string output;
};

// Parses `args` (argv without argv[0]) into `options`. `program` is argv[0], for the usage text.
// Parsing stops at the first non-flag argument or "--"; the rest is ignored, as in the original.
FlagParseResult ParseFlags(std::string_view program, std::span<const std::string> args,
                           PeerFinderOptions& options);

// "Usage of <program>:" and every flag in Go's PrintDefaults format, sorted by name.
std::string UsageText(std::string_view program);

}  // namespace petdns::client
