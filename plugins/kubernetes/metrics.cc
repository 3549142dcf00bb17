#include "plugins/kubernetes/metrics.h"

#include <string>

namespace petdns::plugins::kubernetes {

KubernetesMetrics::KubernetesMetrics(prometheus::Registry& registry) {
  programming_ =
      &prometheus::BuildHistogram()
           .Name("petdns_kubernetes_dns_programming_duration_seconds")
           .Help("From a Kubernetes change reaching petdns to its answer being served.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
  };
  rebuilds_ =
      counter("petdns_kubernetes_rebuilds_total",
              "Batches of service records built on a pool thread (first sync, changed relists).");
  updates_ = counter("petdns_kubernetes_updates_total",
                     "Updates built on the main loop (the few services a change touched).");
  decode_errors_ = counter("petdns_kubernetes_decode_errors_total",
                           "Kubernetes objects that could not be decoded and were skipped.");
  manifest_errors_ = counter("petdns_kubernetes_manifest_errors_total",
                             "Problems reported in the manifests directory: files that do not "
                             "parse, objects rejected, a directory that cannot be read.");
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
  };
  services_ = gauge("petdns_kubernetes_services", "Services with records.");
  endpoints_ = gauge("petdns_kubernetes_endpoints", "Published endpoints.");

  auto& lists = prometheus::BuildCounter()
                    .Name("petdns_kubernetes_list_total")
                    .Help("Complete lists received, per resource.")
                    .Register(registry);
  auto& relists = prometheus::BuildCounter()
                      .Name("petdns_kubernetes_relist_total")
                      .Help("Lists after the first (410 Gone, errors), per resource.")
                      .Register(registry);
  auto& restarts = prometheus::BuildCounter()
                       .Name("petdns_kubernetes_watch_restarts_total")
                       .Help("Watches started again without a relist, per resource.")
                       .Register(registry);
  auto& events = prometheus::BuildCounter()
                     .Name("petdns_kubernetes_watch_events_total")
                     .Help("ADDED/MODIFIED/DELETED events applied, per resource.")
                     .Register(registry);
  auto& errors = prometheus::BuildCounter()
                     .Name("petdns_kubernetes_api_errors_total")
                     .Help("Failed list or watch requests, per resource.")
                     .Register(registry);
  auto& age = prometheus::BuildGauge()
                  .Name("petdns_kubernetes_last_sync_age_seconds")
                  .Help("Seconds since the resource was last in sync with the API server.")
                  .Register(registry);
  for (Resource r : kAllResources) {
    std::string name(ResourceName(r));
    PerResource& slot = resources_[static_cast<size_t>(r)];
    slot.lists = &lists.Add({{"resource", name}});
    slot.relists = &relists.Add({{"resource", name}});
    slot.watch_restarts = &restarts.Add({{"resource", name}});
    slot.events = &events.Add({{"resource", name}});
    slot.errors = &errors.Add({{"resource", name}});
    slot.last_sync_age = &age.Add({{"resource", name}});
    slot.seen.resource = r;
  }
}

void KubernetesMetrics::Published(bool batch, size_t services, size_t endpoints) {
  (batch ? rebuilds_ : updates_)->Increment();
  services_->Set(static_cast<double>(services));
  endpoints_->Set(static_cast<double>(endpoints));
}

void KubernetesMetrics::DecodeErrors(uint64_t total) {
  if (total > decode_errors_seen_) {
    decode_errors_->Increment(static_cast<double>(total - decode_errors_seen_));
  }
  decode_errors_seen_ = total;
}

void KubernetesMetrics::ManifestErrors(uint64_t total) {
  if (total > manifest_errors_seen_) {
    manifest_errors_->Increment(static_cast<double>(total - manifest_errors_seen_));
  }
  manifest_errors_seen_ = total;
}

void KubernetesMetrics::SourceStats(const std::vector<kubernetes::SourceStats>& stats) {
  auto move = [](prometheus::Counter* counter, uint64_t now, uint64_t& seen) {
    if (now > seen) counter->Increment(static_cast<double>(now - seen));
    seen = now;
  };
  auto wall_now = std::chrono::system_clock::now();
  for (const kubernetes::SourceStats& s : stats) {
    PerResource& slot = resources_[static_cast<size_t>(s.resource)];
    move(slot.lists, s.lists, slot.seen.lists);
    move(slot.relists, s.relists, slot.seen.relists);
    move(slot.watch_restarts, s.watch_restarts, slot.seen.watch_restarts);
    move(slot.events, s.events, slot.seen.events);
    move(slot.errors, s.errors, slot.seen.errors);
    if (s.last_sync) {
      slot.last_sync_age->Set(std::chrono::duration<double>(wall_now - *s.last_sync).count());
    }
  }
}

}  // namespace petdns::plugins::kubernetes
