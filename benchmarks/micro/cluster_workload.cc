#include "benchmarks/micro/cluster_workload.h"

#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "plugins/file/file_plugin.h"
#include "plugins/kubernetes/kubernetes_plugin.h"
#include "server/wire/name.h"
#include "zones/zone_file_loader.h"

namespace petdns::micro {
namespace {

using nlohmann::json;

constexpr std::string_view kOrigin = "cluster.local.";
constexpr uint16_t kMaxUdpPayload = 1232;  // the server's default udp_max_payload

// Runs background work and timers at once on the calling thread, so the kubernetes plugin
// publishes its view before Make returns.
class InlineRuntime final : public chain::Runtime {
 public:
  void Every(std::chrono::milliseconds, std::function<void()>) override {}
  void Background(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
  void OnReloadSignal(std::function<void()>) override {}
};

std::string Format(const char* format, auto... args) {
  std::array<char, 256> buffer{};
  int n = std::snprintf(buffer.data(), buffer.size(), format, args...);
  return std::string(buffer.data(), static_cast<size_t>(n));
}

std::string Ns(int n) { return Format("ns-%04d", n); }
std::string Hs(int j) { return Format("hs-%04d", j); }
std::string Cip(int j) { return Format("cip-%05d", j); }

std::string PetIp(int p) {
  p += 1;
  return Format("10.%d.%d.%d", 128 + (p >> 16), (p >> 8) & 255, p & 255);
}

std::string CipIp(int c) {
  c += 16;
  return Format("10.%d.%d.%d", 96 + (c >> 16), (c >> 8) & 255, c & 255);
}

// "name TYPE" as a DNS query the way dnsperf sends it: random ID, RD set, one question, and an
// OPT record (payload 1232, DO clear) only when asked.
void AppendQuery(std::string_view name, wire::RrType type, uint16_t id, bool edns,
                 std::vector<uint8_t>& out) {
  out.clear();
  auto put16 = [&out](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  };
  put16(id);
  put16(0x0100);  // RD
  put16(1);
  put16(0);
  put16(0);
  put16(edns ? 1 : 0);
  std::string wire_name = *wire::NameFromText(name);
  out.insert(out.end(), wire_name.begin(), wire_name.end());
  put16(static_cast<uint16_t>(type));
  put16(1);  // IN
  if (edns) {
    out.push_back(0);  // root owner
    put16(static_cast<uint16_t>(wire::RrType::kOpt));
    put16(kMaxUdpPayload);
    put16(0);  // extended rcode, version
    put16(0);  // flags
    put16(0);  // rdlength
  }
}

json Metadata(const std::string& name, const std::string& ns) {
  return {{"name", name}, {"namespace", ns}};
}

// Namespaces, headless Services with one EndpointSlice of `pets` named endpoints, and ClusterIP
// Services: the objects from which the kubernetes plugin derives the same names as the zone.
struct ClusterObjects {
  std::vector<json> namespaces, services, slices;
};

ClusterObjects MakeObjects(const ClusterShape& shape) {
  ClusterObjects objects;
  json web_port = json::array({{{"name", "web"}, {"port", 80}, {"protocol", "TCP"}}});
  int pet = 0;
  for (int n = 0; n < shape.namespaces; ++n) {
    std::string ns = Ns(n);
    objects.namespaces.push_back({{"metadata", {{"name", ns}}}});
    for (int j = 0; j < shape.services; ++j) {
      std::string svc = Hs(j);
      objects.services.push_back({{"metadata", Metadata(svc, ns)},
                                  {"spec", {{"clusterIP", "None"}, {"ports", web_port}}}});
      json endpoints = json::array();
      for (int i = 0; i < shape.pets; ++i) {
        std::string host = "web-" + std::to_string(i);
        endpoints.push_back({{"addresses", {PetIp(pet++)}},
                             {"conditions", {{"ready", true}}},
                             {"hostname", host},
                             {"targetRef", {{"kind", "Pod"}, {"name", host}}}});
      }
      json metadata = Metadata(svc + "-x1", ns);
      metadata["labels"] = {{"kubernetes.io/service-name", svc}};
      objects.slices.push_back({{"metadata", metadata},
                                {"addressType", "IPv4"},
                                {"endpoints", endpoints},
                                {"ports", web_port}});
    }
  }
  json http_port = json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}});
  for (int j = 0; j < shape.cluster_ips; ++j) {
    objects.services.push_back(
        {{"metadata", Metadata(Cip(j / shape.namespaces), Ns(j % shape.namespaces))},
         {"spec", {{"clusterIP", CipIp(j)}, {"ports", http_port}}}});
  }
  return objects;
}

Result<std::shared_ptr<const zones::CompiledZone>> LoadClusterZone(const ClusterShape& shape,
                                                                   std::string& path) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") + "/petdns_micro_XXXXXX.zone";
  int fd = ::mkstemps(pattern.data(), 5);
  if (fd < 0) return MakeError(ErrorCode::kIo, "cannot create " + pattern);
  ::close(fd);
  path = pattern;
  std::ofstream(path) << ClusterZoneText(shape);
  zones::ZoneFileOptions options;
  options.path = path;
  options.origin = *wire::NameFromText(kOrigin);
  auto zone = zones::LoadZoneFile(options);
  std::remove(path.c_str());
  return zone;
}

}  // namespace

std::string_view KindName(QueryKind kind) noexcept {
  switch (kind) {
    case QueryKind::kPetA:
      return "pet_a";
    case QueryKind::kHeadlessA:
      return "headless_a";
    case QueryKind::kSrv:
      return "srv";
    case QueryKind::kClusterIpA:
      return "cluster_ip_a";
    case QueryKind::kNxDomain:
      return "nxdomain";
  }
  return "?";
}

std::string_view BackendName(QueryPath::Backend backend) noexcept {
  return backend == QueryPath::Backend::kFile ? "file" : "kubernetes";
}

void QuerySet::Add(std::span<const uint8_t> packet, QueryKind kind) {
  bytes_.insert(bytes_.end(), packet.begin(), packet.end());
  offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  kinds_.push_back(kind);
}

QuerySet MakeQueries(const ClusterShape& shape, const QueryOptions& options) {
  std::mt19937_64 rnd(options.seed);
  auto below = [&rnd](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rnd); };
  // 40 % pet A, 20 % headless A, 20 % SRV, 10 % ClusterIP A, 10 % NXDOMAIN.
  std::vector<QueryKind> kinds;
  auto add_kind = [&kinds](QueryKind k, int weight) { kinds.insert(kinds.end(), weight, k); };
  add_kind(QueryKind::kPetA, 40);
  add_kind(QueryKind::kHeadlessA, 20);
  add_kind(QueryKind::kSrv, 20);
  if (shape.cluster_ips > 0) add_kind(QueryKind::kClusterIpA, 10);
  add_kind(QueryKind::kNxDomain, 10);
  static constexpr const char* kSearchHosts[] = {"www.example.com", "api.github.com",
                                                 "registry-1.docker.io", "s3.amazonaws.com"};
  const std::string o(kOrigin);

  QuerySet set;
  std::vector<uint8_t> packet;
  for (size_t q = 0; q < options.count; ++q) {
    QueryKind kind = options.only ? *options.only : kinds[static_cast<size_t>(below(100))];
    if (kind == QueryKind::kClusterIpA && shape.cluster_ips == 0) kind = QueryKind::kPetA;
    std::string ns = Ns(below(shape.namespaces));
    std::string name;
    wire::RrType type = wire::RrType::kA;
    switch (kind) {
      case QueryKind::kPetA:
        name = Format("web-%d.", below(shape.pets)) + Hs(below(shape.services)) + "." + ns +
               ".svc." + o;
        break;
      case QueryKind::kHeadlessA:
        name = Hs(below(shape.services)) + "." + ns + ".svc." + o;
        break;
      case QueryKind::kSrv:
        name = (below(2) == 0 ? "_web._tcp." : "") + Hs(below(shape.services)) + "." + ns +
               ".svc." + o;
        type = wire::RrType::kSrv;
        break;
      case QueryKind::kClusterIpA: {
        int j = below(shape.cluster_ips);
        name = Cip(j / shape.namespaces) + "." + Ns(j % shape.namespaces) + ".svc." + o;
        break;
      }
      case QueryKind::kNxDomain:
        if (below(2) == 0) {
          name = Format("missing-%d.", below(1000000)) + ns + ".svc." + o;
        } else {
          name = std::string(kSearchHosts[below(4)]) + "." + ns + ".svc." + o;
        }
        break;
    }
    AppendQuery(name, type, static_cast<uint16_t>(rnd()), options.edns, packet);
    set.Add(packet, kind);
  }
  return set;
}

std::string ClusterZoneText(const ClusterShape& shape) {
  const std::string o(kOrigin);
  std::string text;
  text.reserve(static_cast<size_t>(shape.namespaces * shape.services * shape.pets) * 4 * 64 +
               static_cast<size_t>(shape.cluster_ips) * 64 + 1024);
  text += "$ORIGIN " + o + "\n$TTL " + std::to_string(shape.ttl) + "\n";
  text += o + " 30 IN SOA ns.dns." + o + " hostmaster." + o + " 1 7200 1800 86400 30\n";
  text += o + " 30 IN NS ns.dns." + o + "\n";
  text += "ns.dns." + o + " 30 IN A 10.96.0.10\n";
  int weight = 100 / shape.pets;
  int p = 0;
  for (int n = 0; n < shape.namespaces; ++n) {
    for (int j = 0; j < shape.services; ++j) {
      std::string svc = Hs(j) + "." + Ns(n) + ".svc." + o;
      for (int i = 0; i < shape.pets; ++i) {
        text += Format("web-%d.", i) + svc + " IN A " + PetIp(p + i) + "\n";
      }
      for (int i = 0; i < shape.pets; ++i) text += svc + " IN A " + PetIp(p + i) + "\n";
      for (int i = 0; i < shape.pets; ++i) {
        text += svc + Format(" IN SRV 0 %d 80 web-%d.", weight, i) + svc + "\n";
      }
      for (int i = 0; i < shape.pets; ++i) {
        text += "_web._tcp." + svc + Format(" IN SRV 0 %d 80 web-%d.", weight, i) + svc + "\n";
      }
      p += shape.pets;
    }
  }
  for (int j = 0; j < shape.cluster_ips; ++j) {
    text += Cip(j / shape.namespaces) + "." + Ns(j % shape.namespaces) + ".svc." + o + " IN A " +
            CipIp(j) + "\n";
  }
  return text;
}

void CountingSink::Send(std::span<const uint8_t> message) noexcept {
  ++messages;
  bytes += message.size();
  if (message.size() >= 12) {
    last_rcode = message[3] & 0x0F;
    last_ancount = static_cast<uint16_t>(message[6] << 8 | message[7]);
    last_arcount = static_cast<uint16_t>(message[10] << 8 | message[11]);
  }
}

Result<std::unique_ptr<QueryPath>> QueryPath::Make(Backend backend, const ClusterShape& shape) {
  std::unique_ptr<QueryPath> path(new QueryPath());
  path->runtime_ = std::make_unique<InlineRuntime>();
  std::string origin = *wire::NameFromText(kOrigin);
  std::vector<chain::PluginPtr> plugins;
  if (backend == Backend::kFile) {
    std::string file;
    auto zone = LoadClusterZone(shape, file);
    if (!zone) return zone.error();
    plugins::file::FileOptions options;
    options.zone.path = file;
    options.zone.origin = origin;
    options.reload_interval = std::chrono::milliseconds(0);
    plugins.push_back(
        std::make_unique<plugins::file::FilePlugin>(std::move(options), std::move(*zone), nullptr));
  } else {
    namespace k8s = plugins::kubernetes;
    k8s::KubernetesOptions options;
    options.records.forward_zones = {origin};
    options.records.ttl = shape.ttl;
    auto plugin = std::make_unique<k8s::KubernetesPlugin>(std::move(options), path->runtime_.get());
    ClusterObjects objects = MakeObjects(shape);
    plugin->state().ReplaceAll(k8s::Resource::kNamespaces, std::move(objects.namespaces));
    plugin->state().ReplaceAll(k8s::Resource::kEndpointSlices, std::move(objects.slices));
    plugin->state().ReplaceAll(k8s::Resource::kServices, std::move(objects.services));
    if (!plugin->synced() || plugin->view() == nullptr) {
      return MakeError(ErrorCode::kInternal, "kubernetes plugin did not publish a view");
    }
    plugins.push_back(std::move(plugin));
  }
  path->chain_ =
      std::make_unique<chain::Chain>(std::move(plugins), std::vector<std::string>{origin});
  path->dispatcher_ = std::make_unique<dispatch::Dispatcher>(
      std::vector<chain::Chain*>{path->chain_.get()}, kMaxUdpPayload);
  auto* peer = reinterpret_cast<sockaddr_in*>(&path->peer_);
  peer->sin_family = AF_INET;
  peer->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  path->client_ = {reinterpret_cast<const sockaddr*>(&path->peer_), listener::Transport::kUdp};
  return path;
}

QueryPath::~QueryPath() = default;

}  // namespace petdns::micro
