// The kubernetes plugin: answers the cluster domain (and configured reverse zones) from objects
// that a Source (API list+watch or a manifests directory) feeds into a ClusterState. A change
// rebuilds the records of the services it touched (changes arriving within `rebuild_delay` are
// gathered) and publishes a new ClusterView that shares everything else with the previous one; a
// relist rebuilds everything on a pool thread. A query never sees half an update. Until every
// needed resource has synced, would-be NXDOMAIN answers are SERVFAIL instead (not cacheable).
// Serve runs on the worker loop; everything else on the main loop (the same loop today).
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
  std::chrono::milliseconds rebuild_delay{5};
};

struct KubernetesStats {
  uint64_t rebuilds = 0;          // full rebuilds (first sync, relists, namespace changes)
  uint64_t updates = 0;           // incremental updates published
  uint64_t services_rebuilt = 0;  // service records built by updates
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
  bool Ready() const noexcept override { return synced() && view_ != nullptr; }

  // Set by Setup before startup; the source feeds `state()`.
  void set_source(std::unique_ptr<Source> source) { source_ = std::move(source); }
  void set_metrics(std::unique_ptr<KubernetesMetrics> metrics) { metrics_ = std::move(metrics); }
  ClusterState& state() noexcept { return state_; }

  // True once every resource the records need has been listed.
  bool synced() const noexcept;
  const KubernetesStats& stats() const noexcept { return stats_; }
  // The data being served (null before the first build).
  std::shared_ptr<const ClusterView> view() const noexcept { return view_; }

 private:
  void OnChange(const ClusterChange& change);
  void Schedule();
  void Update();
  void StartFullRebuild();
  void RefreshBase(ClusterView& view);
  void RefreshPods(ClusterView& view) const;
  // Bookkeeping once a new view is being served.
  void Published(bool full_rebuild);
  uint32_t NextSerial();
  // Answers <a-b-c-d>.<ns>.pod.<zone> in insecure mode; false when the name is not such a name.
  bool ServeInsecurePod(chain::Query& q, const zones::CompiledZone& zone) noexcept;

  KubernetesOptions options_;
  chain::Runtime* runtime_;
  ClusterState state_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<KubernetesMetrics> metrics_;
  // When the oldest change not yet served arrived (programming latency); empty when none.
  std::optional<std::chrono::steady_clock::time_point> pending_since_;
  std::vector<std::string> zone_names_;  // forward then reverse, parallel to ClusterView::base
  std::shared_ptr<const ClusterView> view_;
  std::set<std::string> dirty_services_;  // "namespace/name"
  bool everything_dirty_ = false;         // services or slices relisted: rebuild all
  bool base_dirty_ = false;               // namespaces changed
  bool pods_dirty_ = false;
  bool update_scheduled_ = false;
  bool rebuilding_ = false;
  bool shut_down_ = false;
  uint32_t serial_ = 0;
  KubernetesStats stats_;
  zones::RRset pod_rrset_;  // scratch for synthesised pod answers (one loop: no sharing)
};

}  // namespace petdns::plugins::kubernetes
