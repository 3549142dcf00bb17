// The forward plugin: sends queries for its zones to upstream DNS servers over UDP (TCP when the
// answer is truncated, the client used TCP, or force_tcp), fails over between upstreams per
// policy, marks failing upstreams down and probes them back. Serve, the transport callbacks and
// the health timer all run on the one loop that runs the chain.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "plugins/forward/metrics.h"
#include "plugins/forward/upstream.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"
#include "server/chain/runtime.h"
#include "server/uv/dns_transport.h"

namespace petdns::plugins::forward {

struct ForwardOptions {
  std::vector<std::string> zones;   // the block's zones: lower-cased wire names
  std::vector<std::string> except;  // lower-cased wire names not forwarded (→ next)
  Policy policy = Policy::kRandom;
  bool force_tcp = false;
  uint32_t max_fails = 2;
  std::chrono::milliseconds health_check{500};
  std::chrono::milliseconds expire{10'000};  // accepted; connections are not reused yet
  std::chrono::milliseconds timeout{2'000};  // per attempt
  size_t max_concurrent = 1000;              // 0 = no limit
};

// Counters for tests and logs (the Prometheus series are in ForwardMetrics).
struct ForwardStats {
  uint64_t forwarded = 0;  // queries detached and sent upstream
  uint64_t attempts = 0;   // exchanges started
  uint64_t failures = 0;   // attempts that timed out, failed or got garbage
  uint64_t tcp_retries = 0;
  uint64_t servfail = 0;  // queries every upstream failed
  uint64_t rejected = 0;  // over max_concurrent
  uint64_t probes = 0;
};

class ForwardPlugin final : public chain::Plugin {
 public:
  // `transport` may be null (`petdns check`): Serve then answers SERVFAIL. `runtime` may be null
  // (no health probes).
  ForwardPlugin(ForwardOptions options, std::vector<Upstream> upstreams,
                std::unique_ptr<uv::DnsTransport> transport, chain::Runtime* runtime,
                ForwardMetrics metrics, uint32_t seed);
  ~ForwardPlugin() override;
  ForwardPlugin(const ForwardPlugin&) = delete;
  ForwardPlugin& operator=(const ForwardPlugin&) = delete;

  std::string_view Name() const noexcept override { return "forward"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  // Starts the health-check timer.
  void OnStartup() override;
  // Cancels every exchange; queries still waiting get SERVFAIL.
  void OnShutdown() override;

  // Probes every down upstream without a probe in flight (`. IN NS`); an answer brings it back.
  // Called every health_check.
  void CheckHealth() noexcept;

  size_t in_flight() const noexcept { return inflight_.size(); }
  const ForwardStats& stats() const noexcept { return stats_; }
  const UpstreamSet& upstreams() const noexcept { return upstreams_; }

 private:
  struct Inflight;

  bool Forwards(std::string_view qname) const noexcept;
  // Sends to the next upstream in the query's order; when none is left, ends it (SERVFAIL).
  void Attempt(Inflight& f) noexcept;
  void OnResponse(Inflight& f, Result<std::vector<uint8_t>> response) noexcept;
  void OnProbe(size_t index, Result<std::vector<uint8_t>> response) noexcept;
  void End(Inflight& f) noexcept;

  ForwardOptions options_;
  UpstreamSet upstreams_;
  std::unique_ptr<uv::DnsTransport> transport_;
  chain::Runtime* runtime_;
  ForwardMetrics metrics_;
  std::vector<UpstreamMetrics> upstream_metrics_;
  std::vector<uint8_t> probe_query_;                      // ". IN NS", RD set; ID patched per probe
  std::vector<std::unique_ptr<uv::DnsExchange>> probes_;  // per upstream, null when idle
  std::unordered_map<Inflight*, std::unique_ptr<Inflight>> inflight_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // guards the health timer
  ForwardStats stats_;
};

// Whether `response` answers `query`: full header, same ID, QR set, same opcode, and the same
// single question (name compared case-insensitively, type, class), and every record it counts
// complete inside the message.
bool ValidResponse(std::span<const uint8_t> query, std::span<const uint8_t> response) noexcept;

}  // namespace petdns::plugins::forward
