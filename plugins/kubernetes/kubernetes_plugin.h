// The kubernetes plugin: answers the cluster domain (and configured reverse zones) from objects
// that a Source (API list+watch or a manifests directory) feeds into a ClusterState. A change
// rebuilds the records of the services it touched (changes that arrive together, or within
// `rebuild_delay`, are gathered) and publishes a new ClusterView that shares everything else with
// the previous one. Many services at once (the first sync, a relist that found differences) are
// built on a pool thread while small updates go on; a relist that changed nothing rebuilds
// nothing. A query never sees half an update. Until a complete sync is being served, would-be
// NXDOMAIN answers are SERVFAIL instead (not cacheable). Serve runs on the worker loop; everything
// else on the main loop (the same loop today).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plugins/kubernetes/cluster_state.h"
#include "plugins/kubernetes/cluster_view.h"
#include "plugins/kubernetes/metrics.h"
#include "plugins/kubernetes/records.h"
#include "plugins/kubernetes/source.h"
#include "server/chain/fallthrough.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"
#include "server/chain/runtime.h"

namespace petdns::plugins::kubernetes {

struct KubernetesOptions {
  RecordOptions records;
  // Names whose NXDOMAIN answers go to the next plugin instead.
  chain::Fallthrough fallthrough;
  // How long changes are gathered before a rebuild starts.
  // 0: on the next turn of the loop, which gathers every change that arrived together.
  std::chrono::milliseconds rebuild_delay{0};
};

struct KubernetesStats {
  uint64_t rebuilds = 0;          // batches built on a pool thread (first sync, changed relists)
  uint64_t updates = 0;           // updates built on the loop (a few services, the apex)
  uint64_t services_rebuilt = 0;  // service records built by either
  uint64_t rebuild_failures = 0;
  std::chrono::steady_clock::time_point last_rebuild{};
};

class KubernetesPlugin final : public chain::Plugin {
 public:
  KubernetesPlugin(KubernetesOptions options, chain::Runtime* runtime);
  ~KubernetesPlugin() override;

  std::string_view Name() const noexcept override { return "kubernetes"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnStartup() override;
  void OnShutdown() override;
  bool Ready() const noexcept override { return complete_; }

  // Set by Setup before startup; the source feeds `state()`.
  void set_source(std::unique_ptr<Source> source) { source_ = std::move(source); }
  void set_metrics(std::unique_ptr<KubernetesMetrics> metrics) { metrics_ = std::move(metrics); }
  ClusterState& state() noexcept { return state_; }

  // True once every resource the records need has been listed.
  bool synced() const noexcept;
  // True once the data served holds everything of a complete sync; until then would-be NXDOMAIN
  // answers are SERVFAIL.
  bool complete() const noexcept { return complete_; }
  const KubernetesStats& stats() const noexcept { return stats_; }
  // The data being served (null before the first build).
  std::shared_ptr<const ClusterView> view() const noexcept { return view_; }

 private:
  using Clock = std::chrono::steady_clock;
  // Up to this many changed services are rebuilt on the loop; more go to a pool thread.
  static constexpr size_t kInlineServices = 16;
  // A batch this large (a first sync, a relist) is logged, and followed by malloc_trim.
  static constexpr size_t kLargeBatch = 1000;

  void OnChange(const ClusterChange& change);
  void Schedule();
  void Update();
  void StartBackgroundBuild();
  // The records of the service "namespace/name" as the state holds it now (null: none).
  std::shared_ptr<const ServiceRecords> BuildRecords(const std::string& key) const;
  static std::string ViewKey(const std::string& key);  // "ns/name" → ServiceKey
  std::shared_ptr<ClusterView> NextView() const;       // a copy of view_ (or an empty view)
  // Refreshes the apex (and pods if needed) of `view` and serves it; false if the apex failed.
  // `since`: when the oldest change it serves arrived.
  bool Publish(std::shared_ptr<ClusterView> view, bool batch,
               std::optional<Clock::time_point> since);
  void RefreshBase(ClusterView& view);
  void RefreshPods(ClusterView& view) const;
  // Bookkeeping once a new view is being served.
  void Published(bool batch, std::optional<Clock::time_point> since);
  uint32_t NextSerial();
  // Answers <a-b-c-d>.<ns>.pod.<zone> in insecure mode; false when the name is not such a name.
  bool ServeInsecurePod(chain::Query& q, const zones::CompiledZone& zone) noexcept;

  KubernetesOptions options_;
  chain::Runtime* runtime_;
  ClusterState state_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<KubernetesMetrics> metrics_;
  // When the oldest change not yet built arrived (programming latency); empty when none.
  std::optional<Clock::time_point> pending_since_;
  std::vector<std::string> zone_names_;  // forward then reverse, parallel to ClusterView::base
  std::shared_ptr<const ClusterView> view_;
  std::set<std::string> dirty_services_;  // "namespace/name"
  bool base_dirty_ = false;               // namespaces changed
  bool pods_dirty_ = false;
  bool update_scheduled_ = false;
  bool batch_running_ = false;        // StartBackgroundBuild's work is on a pool thread
  std::set<std::string> superseded_;  // view keys rebuilt on the loop while a batch ran
  bool complete_ = false;
  bool shut_down_ = false;
  uint32_t serial_ = 0;
  KubernetesStats stats_;
  zones::RRset pod_rrset_;  // scratch for synthesised pod answers (one loop: no sharing)
};

}  // namespace petdns::plugins::kubernetes
