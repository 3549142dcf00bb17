// The file plugin: serves one RFC 1035 zone file authoritatively, answers AXFR (and IXFR, as a
// full transfer) over TCP to allowed clients, and reloads the file on SIGHUP or when it changes on
// disk. A reload that fails logs "file:line: reason" and keeps the zone it had.
// Serve runs on the worker loop; reloads parse on a pool thread and swap on the main loop (which
// is the worker loop while petdns runs one loop).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "server/chain/plugin.h"
#include "server/chain/query.h"
#include "server/chain/runtime.h"
#include "server/common/cidr.h"
#include "zones/compiled_zone.h"
#include "zones/zone_file_loader.h"

namespace petdns::plugins::file {

struct FileOptions {
  zones::ZoneFileOptions zone;                      // path (absolute) and origin
  std::chrono::milliseconds reload_interval{1000};  // 0: reload on SIGHUP only
  CidrSet transfer_to;                              // who may AXFR
};

// The exported series of one zone (README "Metrics"); null when not registered (tests).
struct FileMetrics {
  std::shared_ptr<prometheus::Registry> registry;  // keeps the counters below alive
  prometheus::Counter* reloads = nullptr;
  prometheus::Counter* reload_failures = nullptr;
};

// Counters, read by tests.
struct FileStats {
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  uint64_t transfers = 0;
  uint64_t transfers_refused = 0;
};

class FilePlugin final : public chain::Plugin {
 public:
  FilePlugin(FileOptions options, std::shared_ptr<const zones::CompiledZone> zone,
             chain::Runtime* runtime, FileMetrics metrics = {});

  std::string_view Name() const noexcept override { return "file"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnStartup() override;

  // Re-reads the file in the background now (SIGHUP, or a change seen by the poll).
  void Reload();
  const zones::CompiledZone& zone() const noexcept { return *zone_; }
  const FileStats& stats() const noexcept { return stats_; }

 private:
  chain::Outcome Transfer(chain::Query& q) noexcept;
  void CheckForChange();
  void CountFailure() noexcept;

  FileOptions options_;
  std::shared_ptr<const zones::CompiledZone> zone_;
  chain::Runtime* runtime_;
  struct stat last_stat_ {};
  bool missing_ = false;  // the last check could not stat the file (logged once)
  FileMetrics metrics_;
  bool reloading_ = false;
  bool reload_again_ = false;
  FileStats stats_;
};

}  // namespace petdns::plugins::file
