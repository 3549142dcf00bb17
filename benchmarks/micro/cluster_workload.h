// The query-path workload of benchmarks/micro: a Kubernetes-style cluster.local. zone and query
// mix built in-process as ../shared/bench/gen_cluster_zone.py models them (namespaces ×
// headless services × StatefulSet pets, plus ClusterIP services), served by the file plugin or by
// the kubernetes plugin behind a dispatch::Dispatcher, as the server's listeners call it.
// Built on the calling thread; a QueryPath is then driven from that one thread only.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/chain/chain.h"
#include "server/chain/runtime.h"
#include "server/common/error.h"
#include "server/dispatch/dispatcher.h"
#include "server/listener/packet_handler.h"

namespace petdns::micro {

// The defaults are gen_cluster_zone.py's: 20 × 50 × 3 pets, 1000 ClusterIP services, TTL 5.
struct ClusterShape {
  int namespaces = 20;
  int services = 50;  // headless services per namespace
  int pets = 3;       // pets per headless service
  int cluster_ips = 1000;
  uint32_t ttl = 5;
};

// The kinds of query in the mix, in gen_cluster_zone.py's proportions 40/20/20/10/10.
enum class QueryKind : uint8_t { kPetA, kHeadlessA, kSrv, kClusterIpA, kNxDomain };
inline constexpr QueryKind kAllKinds[] = {QueryKind::kPetA, QueryKind::kHeadlessA, QueryKind::kSrv,
                                          QueryKind::kClusterIpA, QueryKind::kNxDomain};
std::string_view KindName(QueryKind kind) noexcept;  // "pet_a", "headless_a", ...

// Pre-built query packets in one flat buffer (no per-packet allocation, cache friendly).
class QuerySet {
 public:
  void Add(std::span<const uint8_t> packet, QueryKind kind);
  size_t size() const noexcept { return kinds_.size(); }
  std::span<const uint8_t> packet(size_t i) const noexcept {
    return {bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }
  QueryKind kind(size_t i) const noexcept { return kinds_[i]; }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> offsets_{0};
  std::vector<QueryKind> kinds_;
};

struct QueryOptions {
  size_t count = 65536;
  uint64_t seed = 42;
  bool edns = false;  // dnsperf adds an OPT record only with -e/-D; the default mix has none
  // Only this kind; empty: the full mix.
  std::optional<QueryKind> only;
};

// Queries as gen_cluster_zone.py draws them (same proportions and name patterns; the generator
// is std::mt19937_64, so the exact sequence differs from Python's).
QuerySet MakeQueries(const ClusterShape& shape, const QueryOptions& options);

// The zone file gen_cluster_zone.py writes for `shape`.
std::string ClusterZoneText(const ClusterShape& shape);

// What the sink saw of the last reply, for checks; counting never allocates.
class CountingSink final : public listener::ResponseSink {
 public:
  void Send(std::span<const uint8_t> message) noexcept override;

  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint8_t last_rcode = 0;
  uint16_t last_ancount = 0;
  uint16_t last_arcount = 0;
};

// One server block answering cluster.local. through a Dispatcher, like one listen address of a
// running petdns. Owns the runtime, chain and dispatcher.
class QueryPath {
 public:
  enum class Backend : uint8_t { kFile, kKubernetes };

  // Builds the zone (file: written to a temporary file and loaded with ldns; kubernetes: the
  // equivalent Namespaces, Services and EndpointSlices fed to the plugin's ClusterState).
  [[nodiscard]] static Result<std::unique_ptr<QueryPath>> Make(Backend backend,
                                                               const ClusterShape& shape);
  ~QueryPath();

  // One packet through the dispatcher: parse, route, plugin lookup, encode, sink.
  void Handle(std::span<const uint8_t> packet) noexcept {
    dispatcher_->HandlePacket(packet, client_, sink_);
  }
  CountingSink& sink() noexcept { return sink_; }

 private:
  QueryPath() = default;

  std::unique_ptr<chain::Runtime> runtime_;
  std::unique_ptr<chain::Chain> chain_;
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  sockaddr_storage peer_{};
  listener::ClientInfo client_;
  CountingSink sink_;
};

std::string_view BackendName(QueryPath::Backend backend) noexcept;  // "file", "kubernetes"

}  // namespace petdns::micro
