#include "plugins/kubernetes/kubernetes_plugin.h"

#include <arpa/inet.h>
#include <malloc.h>

#include <algorithm>
#include <ctime>

#include "server/common/log.h"
#include "server/wire/name.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLog = "plugin/kubernetes";

}  // namespace

KubernetesPlugin::KubernetesPlugin(KubernetesOptions options, chain::Runtime* runtime)
    : options_(std::move(options)),
      runtime_(runtime),
      state_([this](const ClusterChange& change) { OnChange(change); }) {
  for (const std::string& z : options_.records.forward_zones) zone_names_.push_back(z);
  for (const std::string& z : options_.records.reverse_zones) zone_names_.push_back(z);
  pod_rrset_.rdatas.assign_one(std::string_view("\0\0\0\0", 4));
  pod_rrset_.rdatas.reserve_bytes(32);  // room for one AAAA: no allocation per query
}

KubernetesPlugin::~KubernetesPlugin() { OnShutdown(); }

void KubernetesPlugin::OnStartup() {
  if (source_) source_->Start();
  if (metrics_ && runtime_ != nullptr) {
    runtime_->Every(std::chrono::seconds(1), [this] {
      if (shut_down_) return;
      if (source_) metrics_->SourceStats(source_->Stats());
      metrics_->DecodeErrors(state_.decode_errors());
    });
  }
}

void KubernetesPlugin::Published(bool full_rebuild) {
  auto now = std::chrono::steady_clock::now();
  stats_.last_rebuild = now;
  ++(full_rebuild ? stats_.rebuilds : stats_.updates);
  if (metrics_) {
    if (pending_since_) {
      metrics_->ObserveProgramming(std::chrono::duration<double>(now - *pending_since_).count());
    }
    metrics_->Published(full_rebuild, view_->services.size(), view_->endpoints);
  }
  pending_since_.reset();
}

void KubernetesPlugin::OnShutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (source_) source_->Stop();
}

bool KubernetesPlugin::synced() const noexcept {
  bool pods = options_.records.pods != PodMode::kVerified || state_.synced(Resource::kPods);
  return pods && state_.synced(Resource::kServices) && state_.synced(Resource::kEndpointSlices) &&
         state_.synced(Resource::kNamespaces);
}

uint32_t KubernetesPlugin::NextSerial() {
  // Seconds since the epoch, as CoreDNS does, but strictly increasing across fast updates.
  auto now = static_cast<uint32_t>(std::time(nullptr));
  serial_ = std::max(now, serial_ + 1);
  return serial_;
}

void KubernetesPlugin::OnChange(const ClusterChange& change) {
  if (!pending_since_) pending_since_ = std::chrono::steady_clock::now();
  switch (change.resource) {
    case Resource::kServices:
    case Resource::kEndpointSlices:
      if (change.everything) everything_dirty_ = true;
      dirty_services_.insert(change.services.begin(), change.services.end());
      break;
    case Resource::kPods:
      pods_dirty_ = true;
      break;
    case Resource::kNamespaces:
      base_dirty_ = true;
      break;
  }
  Schedule();
}

void KubernetesPlugin::Schedule() {
  if (runtime_ == nullptr || update_scheduled_ || rebuilding_ || shut_down_) return;
  update_scheduled_ = true;
  runtime_->After(options_.rebuild_delay, [this] {
    update_scheduled_ = false;
    if (!shut_down_) Update();
  });
}

void KubernetesPlugin::RefreshBase(ClusterView& view) {
  std::vector<std::string> namespaces;
  for (const auto& [name, ns] : state_.snapshot().namespaces) namespaces.push_back(ns->name);
  auto base = BuildBaseZones(namespaces, options_.records, NextSerial());
  if (!base) {
    ++stats_.rebuild_failures;
    log::Error(kLog, "keeping the previous zone apex: " + base.error().message);
    return;
  }
  view.base = std::move(*base);
}

void KubernetesPlugin::RefreshPods(ClusterView& view) const {
  view.pods = {};
  if (options_.records.pods != PodMode::kVerified) return;
  std::vector<std::pair<std::string, PodRecords>> records;
  for (const auto& [key, pod] : state_.snapshot().pods)
    AddPodRecords(*pod, options_.records, records);
  for (auto& [key, value] : records) {
    if (const auto* existing = view.pods.Find(key); existing != nullptr) {
      auto merged = std::make_shared<PodRecords>(**existing);
      for (auto& rrset : value.rrsets) merged->rrsets.push_back(std::move(rrset));
      view.pods.Set(key, std::move(merged));
    } else {
      view.pods.Set(key, std::make_shared<const PodRecords>(std::move(value)));
    }
  }
}

void KubernetesPlugin::Update() {
  if (everything_dirty_ || view_ == nullptr) return StartFullRebuild();
  auto view = std::make_shared<ClusterView>(*view_);  // shares every shard
  // The apex carries the serial, which changes with every update; it is a handful of names.
  RefreshBase(*view);
  if (std::exchange(pods_dirty_, false)) RefreshPods(*view);
  base_dirty_ = false;
  const ClusterState::Snapshot& snapshot = state_.snapshot();
  for (const std::string& key : dirty_services_) {
    size_t slash = key.find('/');
    std::string view_key = ServiceKey(key.substr(0, slash), key.substr(slash + 1));
    if (view_key.empty()) continue;
    std::shared_ptr<const ServiceRecords> records;
    if (auto it = snapshot.services.find(key); it != snapshot.services.end()) {
      records = BuildServiceRecords(*it->second, snapshot.SlicesOf(key), options_.records);
    }
    view->SetService(view_key, std::move(records));
    ++stats_.services_rebuilt;
  }
  dirty_services_.clear();
  view_ = std::move(view);
  Published(/*full_rebuild=*/false);
}

void KubernetesPlugin::StartFullRebuild() {
  everything_dirty_ = base_dirty_ = pods_dirty_ = false;
  dirty_services_.clear();
  rebuilding_ = true;
  // Every service's records, built on a pool thread from a snapshot of shared pointers while the
  // state keeps changing on the loop; later changes are applied on top when it is done.
  auto snapshot = std::make_shared<ClusterState::Snapshot>(state_.snapshot());
  auto built = std::make_shared<
      std::vector<std::pair<std::string, std::shared_ptr<const ServiceRecords>>>>();
  auto build_time = std::make_shared<std::chrono::steady_clock::duration>();
  RecordOptions options = options_.records;
  runtime_->Background(
      [snapshot, built, options, build_time] {
        auto start = std::chrono::steady_clock::now();
        for (const auto& [key, service] : snapshot->services) {
          auto records = BuildServiceRecords(*service, snapshot->SlicesOf(key), options);
          if (records != nullptr) {
            built->emplace_back(ServiceKey(service->ns, service->name), std::move(records));
          }
        }
        *build_time = std::chrono::steady_clock::now() - start;
      },
      [this, built, build_time] {
        rebuilding_ = false;
        if (shut_down_) return;
        auto view = std::make_shared<ClusterView>();
        view->forward_zones = options_.records.forward_zones.size();
        view->ttl = options_.records.ttl;
        RefreshBase(*view);
        if (view->base.empty()) {  // the apex could not be built: keep what we serve
          Schedule();
          return;
        }
        RefreshPods(*view);
        for (auto& [key, records] : *built) view->SetService(key, std::move(records));
        built->clear();
        view_ = std::move(view);
        // A relist frees a whole generation of records at once, much of it allocated on a pool
        // thread: hand the pages back rather than let the next relist stack up another heap.
        malloc_trim(0);
        bool more = everything_dirty_ || base_dirty_ || pods_dirty_ || !dirty_services_.empty();
        auto pending = pending_since_;
        Published(/*full_rebuild=*/true);
        if (more) pending_since_ = pending;  // changes that arrived meanwhile are not served yet
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*build_time).count();
        log::Info(kLog, "serving " + std::to_string(view_->services.size()) + " services, " +
                            std::to_string(view_->endpoints) + " endpoints (built in " +
                            std::to_string(ms) + " ms)");
        if (more) Schedule();
      });
}

bool KubernetesPlugin::ServeInsecurePod(chain::Query& q, const zones::CompiledZone& zone) noexcept {
  // <x>.<ns>.pod.<zone>: three labels above the zone, the third being "pod".
  std::string_view qname = q.qname();
  if (wire::LabelCount(qname) != wire::LabelCount(zone.origin()) + 3) return false;
  std::string_view pod_label = wire::StripLabels(qname, 2);
  if (pod_label.size() < 4 || pod_label.substr(0, 4) != std::string_view("\3pod", 4)) return false;
  std::string_view namespace_name = wire::StripLabels(qname, 1);
  auto label_length = static_cast<uint8_t>(qname[0]);
  std::string_view label = qname.substr(1, label_length);

  zones::Answer& answer = q.NewAnswer();
  // The namespace must exist (and be exposed): its <ns>.pod.<zone> node is in the zone.
  char text[64];
  bool valid = zone.Find(namespace_name) != nullptr && label.size() < sizeof(text);
  uint8_t bytes[16];
  int family = 0;
  if (valid) {
    size_t dashes = static_cast<size_t>(std::count(label.begin(), label.end(), '-'));
    bool ipv4 = dashes == 3 && label.find("--") == std::string_view::npos;
    for (size_t i = 0; i < label.size(); ++i)
      text[i] = label[i] == '-' ? (ipv4 ? '.' : ':') : label[i];
    text[label.size()] = 0;
    family = ipv4 ? AF_INET : AF_INET6;
    valid = inet_pton(family, text, bytes) == 1;
  }
  if (!valid) {
    answer.rcode = wire::Rcode::kNxDomain;
    answer.authority.push_back({zone.origin(), &zone.soa(), zone.negative_ttl()});
    q.Reply(answer);
    return true;
  }
  wire::RrType type = family == AF_INET ? wire::RrType::kA : wire::RrType::kAaaa;
  if (q.qtype() != type) {  // the name exists, with data of the other family only
    answer.authority.push_back({zone.origin(), &zone.soa(), zone.negative_ttl()});
    q.Reply(answer);
    return true;
  }
  pod_rrset_.type = type;
  pod_rrset_.ttl = options_.records.ttl;
  pod_rrset_.rdatas.assign_one(
      std::string_view(reinterpret_cast<const char*>(bytes), family == AF_INET ? 4 : 16));
  answer.answer.push_back({q.qname_as_received(), &pod_rrset_, pod_rrset_.ttl});
  q.Reply(answer);
  return true;
}

chain::Outcome KubernetesPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  // The longest of our zones that holds the name (a reverse zone may sit inside another).
  size_t index = zone_names_.size();
  for (size_t i = 0; i < zone_names_.size(); ++i) {
    if (wire::IsSubdomain(q.qname(), zone_names_[i]) &&
        (index == zone_names_.size() || zone_names_[i].size() > zone_names_[index].size())) {
      index = i;
    }
  }
  if (index == zone_names_.size()) return next(q);
  const ClusterView* view = view_.get();
  if (view == nullptr) {
    return options_.fallthrough.Covers(q.qname()) ? next(q) : q.ReplyRcode(wire::Rcode::kServFail);
  }
  if (q.qtype() == wire::RrType::kAxfr || q.qtype() == wire::RrType::kIxfr) {
    return q.ReplyRcode(wire::Rcode::kRefused);
  }
  if (options_.records.pods == PodMode::kInsecure && index < view->forward_zones &&
      ServeInsecurePod(q, *view->base[index])) {
    return chain::Outcome::kReplied;
  }
  zones::Answer& answer = q.NewAnswer();
  view->Resolve(index, q.qname(), q.qname_as_received(), q.qtype(), answer);
  if (answer.rcode == wire::Rcode::kNxDomain) {
    if (options_.fallthrough.Covers(q.qname())) return next(q);
    // A name we have not heard of yet may exist: do not let resolvers cache its absence.
    if (!synced()) return q.ReplyRcode(wire::Rcode::kServFail);
  }
  return q.Reply(answer);
}

}  // namespace petdns::plugins::kubernetes
