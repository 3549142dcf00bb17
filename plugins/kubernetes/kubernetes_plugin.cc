#include "plugins/kubernetes/kubernetes_plugin.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>

#include "server/common/log.h"
#include "server/wire/name.h"
#include "zones/authority.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLog = "plugin/kubernetes";

}  // namespace

KubernetesPlugin::KubernetesPlugin(KubernetesOptions options, chain::Runtime* runtime)
    : options_(std::move(options)), runtime_(runtime), state_([this] { OnChange(); }) {
  for (const std::string& z : options_.records.forward_zones) zone_names_.push_back(z);
  for (const std::string& z : options_.records.reverse_zones) zone_names_.push_back(z);
  pod_rrset_.rdatas.emplace_back();
  pod_rrset_.rdatas.front().reserve(16);
}

KubernetesPlugin::~KubernetesPlugin() { OnShutdown(); }

void KubernetesPlugin::OnStartup() {
  if (source_) source_->Start();
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
  // Seconds since the epoch, as CoreDNS does, but strictly increasing across fast rebuilds.
  auto now = static_cast<uint32_t>(std::time(nullptr));
  serial_ = std::max(now, serial_ + 1);
  return serial_;
}

void KubernetesPlugin::OnChange() {
  dirty_ = true;
  if (runtime_ == nullptr || rebuild_scheduled_ || rebuilding_ || shut_down_) return;
  rebuild_scheduled_ = true;
  runtime_->After(options_.rebuild_delay, [this] { StartRebuild(); });
}

void KubernetesPlugin::StartRebuild() {
  rebuild_scheduled_ = false;
  if (!dirty_ || shut_down_) return;
  dirty_ = false;
  rebuilding_ = true;
  // The snapshot copies shared pointers only; the build reads it on a pool thread while the
  // state keeps changing on the loop.
  auto snapshot = std::make_shared<ClusterState::Snapshot>(state_.snapshot());
  auto result =
      std::make_shared<Result<ClusterZones>>(MakeError(ErrorCode::kInternal, "not built"));
  uint32_t serial = NextSerial();
  RecordOptions options = options_.records;
  auto build_time = std::make_shared<std::chrono::steady_clock::duration>();
  runtime_->Background(
      [snapshot, result, options, serial, build_time] {
        auto start = std::chrono::steady_clock::now();
        *result = BuildClusterZones(*snapshot, options, serial);
        *build_time = std::chrono::steady_clock::now() - start;
      },
      [this, result, build_time] {
        rebuilding_ = false;
        if (*result) {
          bool first = zones_ == nullptr;
          zones_ = std::make_shared<const ClusterZones>(std::move(**result));
          ++stats_.rebuilds;
          stats_.last_rebuild = std::chrono::steady_clock::now();
          if (first || log::Enabled(log::Level::kDebug)) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*build_time).count();
            log::Info(kLog, "serving " + std::to_string(zones_->services) + " services, " +
                                std::to_string(zones_->endpoints) + " endpoints (built in " +
                                std::to_string(ms) + " ms)");
          }
        } else {
          ++stats_.rebuild_failures;
          log::Error(kLog, "rebuild failed, keeping the previous data: " + result->error().message);
        }
        if (dirty_) OnChange();
      });
}

Status KubernetesPlugin::RebuildNow() {
  auto built = BuildClusterZones(state_.snapshot(), options_.records, NextSerial());
  if (!built) return built.error();
  zones_ = std::make_shared<const ClusterZones>(std::move(*built));
  dirty_ = false;
  ++stats_.rebuilds;
  return {};
}

bool KubernetesPlugin::FallsThrough(std::string_view qname) const noexcept {
  if (options_.fallthrough_all) return true;
  return std::any_of(options_.fallthrough_zones.begin(), options_.fallthrough_zones.end(),
                     [&](const std::string& zone) { return wire::IsSubdomain(qname, zone); });
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
  pod_rrset_.rdatas.front().assign(reinterpret_cast<const char*>(bytes),
                                   family == AF_INET ? 4 : 16);
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
  const ClusterZones* zones = zones_.get();
  if (zones == nullptr) {
    return FallsThrough(q.qname()) ? next(q) : q.ReplyRcode(wire::Rcode::kServFail);
  }
  if (q.qtype() == wire::RrType::kAxfr || q.qtype() == wire::RrType::kIxfr) {
    return q.ReplyRcode(wire::Rcode::kRefused);
  }
  const zones::CompiledZone& zone = *zones->zones[index];
  if (options_.records.pods == PodMode::kInsecure &&
      index < options_.records.forward_zones.size() && ServeInsecurePod(q, zone)) {
    return chain::Outcome::kReplied;
  }
  zones::Answer& answer = q.NewAnswer();
  zones::Resolve(zone, q.qname(), q.qname_as_received(), q.qtype(), answer);
  if (answer.rcode == wire::Rcode::kNxDomain) {
    if (FallsThrough(q.qname())) return next(q);
    // A name we have not heard of yet may exist: do not let resolvers cache its absence.
    if (!synced()) return q.ReplyRcode(wire::Rcode::kServFail);
  }
  return q.Reply(answer);
}

}  // namespace petdns::plugins::kubernetes
