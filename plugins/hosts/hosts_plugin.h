// The hosts plugin: answers A, AAAA and PTR from a hosts(5) file and inline entries. The file is
// polled for changes (and re-read on SIGHUP); a file that cannot be read, or looks half-written,
// keeps the previous table. Serve runs on the worker loop; reloads parse on a pool thread and swap
// the table on the main loop (the worker loop while petdns runs one loop).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugins/hosts/hosts_table.h"
#include "server/chain/fallthrough.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"
#include "server/chain/runtime.h"
#include "server/common/error.h"

namespace prometheus {
class Gauge;
}  // namespace prometheus

namespace petdns::plugins::hosts {

struct HostsOptions {
  std::string path;                                 // absolute; empty: inline entries only
  std::chrono::milliseconds reload_interval{5000};  // 0: reload on SIGHUP only
  HostsTableOptions table;                          // ttl, reverse, the block's zones
  chain::Fallthrough fallthrough;                   // names we lack that go to the next plugin
};

// Resolved at setup; either may be null (tests).
struct HostsMetrics {
  prometheus::Gauge* entries = nullptr;           // petdns_hosts_entries
  prometheus::Gauge* reload_timestamp = nullptr;  // petdns_hosts_reload_timestamp_seconds
};

struct HostsStats {
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;  // unreadable or half-written file: previous table kept
};

class HostsPlugin final : public chain::Plugin {
 public:
  // `inline_entries` and `file` are already parsed (Setup reports their errors).
  HostsPlugin(HostsOptions options, ParsedHosts inline_entries, ParsedHosts file,
              chain::Runtime* runtime, HostsMetrics metrics);

  std::string_view Name() const noexcept override { return "hosts"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnStartup() override;

  // Re-reads the file in the background now (SIGHUP, or a change seen by the poll).
  void Reload();
  const HostsTable& table() const noexcept { return *table_; }
  const HostsStats& stats() const noexcept { return stats_; }

 private:
  void CheckForChange();
  void Publish(std::shared_ptr<const HostsTable> table);
  bool InZones(std::string_view name) const noexcept;

  HostsOptions options_;
  std::shared_ptr<const ParsedHosts> inline_;
  std::shared_ptr<const ParsedHosts> file_;  // the last good parse of the file
  std::shared_ptr<const HostsTable> table_;
  chain::Runtime* runtime_;
  HostsMetrics metrics_;
  struct stat last_stat_ {};
  bool reloading_ = false;
  bool reload_again_ = false;
  HostsStats stats_;
};

// Reads the whole file; kIo when it cannot.
[[nodiscard]] Result<std::string> ReadHostsFile(const std::string& path);

}  // namespace petdns::plugins::hosts
