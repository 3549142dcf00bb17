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
      if (source_) {
        metrics_->SourceStats(source_->Stats());
        metrics_->ManifestErrors(source_->InputErrors());
      }
      metrics_->DecodeErrors(state_.decode_errors());
    });
  }
}

void KubernetesPlugin::Published(bool batch, std::optional<Clock::time_point> since) {
  auto now = Clock::now();
  stats_.last_rebuild = now;
  ++(batch ? stats_.rebuilds : stats_.updates);
  if (metrics_) {
    if (since) metrics_->ObserveProgramming(std::chrono::duration<double>(now - *since).count());
    metrics_->Published(batch, view_->services.size(), view_->endpoints);
  }
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
  if (!pending_since_) pending_since_ = Clock::now();
  switch (change.resource) {
    case Resource::kServices:
    case Resource::kEndpointSlices:
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
  if (runtime_ == nullptr || update_scheduled_ || shut_down_) return;
  update_scheduled_ = true;
  runtime_->After(options_.rebuild_delay, [this] {
    update_scheduled_ = false;
    if (!shut_down_) Update();
  });
}

void KubernetesPlugin::RefreshBase(ClusterView& view) {
  std::vector<std::string> namespaces;
  for (const auto& [name, ns] : state_.namespaces()) namespaces.push_back(ns->name);
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
  for (const auto& [key, pod] : state_.pods()) AddPodRecords(*pod, options_.records, records);
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

std::shared_ptr<ClusterView> KubernetesPlugin::NextView() const {
  if (view_ != nullptr) return std::make_shared<ClusterView>(*view_);  // shares every shard
  auto view = std::make_shared<ClusterView>();
  view->forward_zones = options_.records.forward_zones.size();
  view->ttl = options_.records.ttl;
  return view;
}

bool KubernetesPlugin::Publish(std::shared_ptr<ClusterView> view, bool batch,
                               std::optional<Clock::time_point> since) {
  // The apex carries the serial, which changes with every update; it is a handful of names.
  RefreshBase(*view);
  if (view->base.empty()) return false;  // the apex could not be built: keep what we serve
  if (std::exchange(pods_dirty_, false) || view_ == nullptr) RefreshPods(*view);
  base_dirty_ = false;
  view_ = std::move(view);
  Published(batch, since);
  return true;
}

void KubernetesPlugin::Update() {
  if (view_ != nullptr && dirty_services_.empty() && !base_dirty_ && !pods_dirty_) {
    // Nothing to build (a relist that changed nothing), but it may have completed the sync.
    if (!batch_running_) {
      complete_ = complete_ || synced();
      pending_since_.reset();
    }
    return;
  }
  if (dirty_services_.size() > kInlineServices) {
    if (!batch_running_) StartBackgroundBuild();
    return;  // else the batch running schedules the next update when it is done
  }
  // A few services: build them here, at once. A pool thread would cost a thread hop each way
  // for work that takes tens of microseconds, and would queue behind a batch.
  auto view = NextView();
  for (const std::string& key : dirty_services_) {
    std::string view_key = ViewKey(key);
    view->SetService(view_key, BuildRecords(key));
    ++stats_.services_rebuilt;
    // Newer than what the running batch built for it, if anything: the batch must not undo it.
    if (batch_running_) superseded_.insert(std::move(view_key));
  }
  if (!Publish(std::move(view), /*batch=*/false, pending_since_)) return;  // retried on a change
  dirty_services_.clear();
  pending_since_.reset();
  if (!batch_running_ && synced()) complete_ = true;
}

std::string KubernetesPlugin::ViewKey(const std::string& key) {
  size_t slash = key.find('/');
  return ServiceKey(key.substr(0, slash), key.substr(slash + 1));
}

std::shared_ptr<const ServiceRecords> KubernetesPlugin::BuildRecords(const std::string& key) const {
  const ClusterState::ServiceEntry* entry = state_.FindService(key);
  if (entry == nullptr || entry->service == nullptr) return nullptr;
  return BuildServiceRecords(*entry->service, entry->SlicePointers(), options_.records);
}

void KubernetesPlugin::StartBackgroundBuild() {
  // Many services (a first sync, a relist that found many changes, a burst): their records are
  // built on a pool thread from the objects' shared pointers while the state keeps changing on
  // the loop. Small updates go on meanwhile (Update); when the batch is done it is applied on top
  // of them, except for the services they rebuilt since.
  struct Job {
    std::string key;                         // "namespace/name"
    std::string view_key;                    // ServiceKey
    std::shared_ptr<const Service> service;  // null: the service is gone
    std::vector<std::shared_ptr<const EndpointSlice>> slices;
    std::shared_ptr<const ServiceRecords> records;
  };
  auto jobs = std::make_shared<std::vector<Job>>();
  jobs->reserve(dirty_services_.size());
  for (const std::string& key : dirty_services_) {
    Job job{key, ViewKey(key), nullptr, {}, nullptr};
    if (const ClusterState::ServiceEntry* entry = state_.FindService(key); entry != nullptr) {
      job.service = entry->service;
      if (job.service != nullptr) job.slices = entry->slices;
    }
    jobs->push_back(std::move(job));
  }
  dirty_services_.clear();
  superseded_.clear();
  batch_running_ = true;
  const bool synced_at_start = synced();
  const auto since = std::exchange(pending_since_, std::nullopt);
  auto build_time = std::make_shared<Clock::duration>();
  runtime_->Background(
      [jobs, build_time, options = options_.records] {
        auto start = Clock::now();
        std::vector<const EndpointSlice*> slices;
        for (Job& job : *jobs) {
          if (job.service == nullptr) continue;
          slices.clear();
          for (const auto& slice : job.slices) slices.push_back(slice.get());
          job.records = BuildServiceRecords(*job.service, slices, options);
          job.slices.clear();
          job.service.reset();
        }
        *build_time = Clock::now() - start;
      },
      [this, jobs, build_time, synced_at_start, since] {
        batch_running_ = false;
        if (shut_down_) return;
        auto view = NextView();
        for (Job& job : *jobs) {
          if (job.view_key.empty() || superseded_.count(job.view_key) != 0) continue;
          view->SetService(job.view_key, std::move(job.records));
        }
        superseded_.clear();
        if (!Publish(std::move(view), /*batch=*/true, since)) {
          for (Job& job : *jobs) dirty_services_.insert(std::move(job.key));  // next change
          return;
        }
        stats_.services_rebuilt += jobs->size();
        const size_t built = jobs->size();
        jobs->clear();
        // Everything listed when the batch started is served now.
        if (synced_at_start) complete_ = true;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*build_time).count();
        std::string line = "serving " + std::to_string(view_->services.size()) + " services, " +
                           std::to_string(view_->endpoints) + " endpoints (" +
                           std::to_string(built) + " rebuilt in " + std::to_string(ms) + " ms)";
        if (built >= kLargeBatch) {
          // A large batch replaces a whole generation of records, much of it allocated on a
          // pool thread: hand the freed pages back rather than let the next one stack up
          // another heap. (Not after small ones: trimming walks the heap on the loop.)
          malloc_trim(0);
          log::Info(kLog, line);
        } else {
          log::Debug(kLog, line);
        }
        if (!dirty_services_.empty() || base_dirty_ || pods_dirty_ || !complete_) Schedule();
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
    if (!complete_) return q.ReplyRcode(wire::Rcode::kServFail);
  }
  return q.Reply(answer);
}

}  // namespace petdns::plugins::kubernetes
