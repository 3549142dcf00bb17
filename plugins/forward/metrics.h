// The forward plugin's metric families (README "Metrics"), registered at setup in the process
// registry, and each upstream's series resolved once: the query path never calls Family::Add
// except the first time an upstream answers with a given rcode. Used on the plugin's loop.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string>

namespace petdns::plugins::forward {

// The series of one upstream (`to` label).
struct UpstreamMetrics {
  std::string to;
  prometheus::Counter* requests = nullptr;
  prometheus::Counter* healthcheck_failures = nullptr;
  std::array<prometheus::Counter*, 16> responses{};  // by rcode, resolved on first use
  std::array<prometheus::Histogram*, 16> durations{};
};

class ForwardMetrics {
 public:
  // Registers (or, with the registry's merge behaviour, finds) the families. May throw
  // (prometheus-cpp): Setup catches.
  explicit ForwardMetrics(prometheus::Registry& registry)
      : requests_(prometheus::BuildCounter()
                      .Name("petdns_forward_requests_total")
                      .Help("Queries sent to each upstream (every attempt).")
                      .Register(registry)),
        responses_(prometheus::BuildCounter()
                       .Name("petdns_forward_responses_total")
                       .Help("Valid responses from each upstream, by rcode.")
                       .Register(registry)),
        durations_(prometheus::BuildHistogram()
                       .Name("petdns_forward_request_duration_seconds")
                       .Help("Time from sending a query to an upstream to its valid response.")
                       .Register(registry)),
        healthcheck_failures_(prometheus::BuildCounter()
                                  .Name("petdns_forward_healthcheck_failures_total")
                                  .Help("Health probes of a down upstream that got no answer.")
                                  .Register(registry)),
        broken_(&prometheus::BuildCounter()
                     .Name("petdns_forward_healthcheck_broken_total")
                     .Help("Queries for which every upstream was down (all tried anyway).")
                     .Register(registry)
                     .Add({})),
        rejects_(&prometheus::BuildCounter()
                      .Name("petdns_forward_max_concurrent_rejects_total")
                      .Help("Queries refused because max_concurrent were already in flight.")
                      .Register(registry)
                      .Add({})) {}

  // Resolves one upstream's series. May throw (setup only).
  UpstreamMetrics ForUpstream(const std::string& to) {
    UpstreamMetrics m;
    m.to = to;
    m.requests = &requests_.Add({{"to", to}});
    m.healthcheck_failures = &healthcheck_failures_.Add({{"to", to}});
    for (int rcode : {0, 2, 3}) Resolve(m, rcode);  // NOERROR, SERVFAIL, NXDOMAIN up front
    return m;
  }

  // Counts a valid response and its duration.
  void Response(UpstreamMetrics& m, unsigned rcode, double seconds) noexcept {
    rcode &= 0xf;
    if (m.responses[rcode] == nullptr) {
      try {
        Resolve(m, static_cast<int>(rcode));
      } catch (...) {
        return;  // metrics are best effort on the data path
      }
    }
    m.responses[rcode]->Increment();
    m.durations[rcode]->Observe(seconds);
  }

  prometheus::Counter& broken() noexcept { return *broken_; }
  prometheus::Counter& rejects() noexcept { return *rejects_; }

  static const char* RcodeName(int rcode) noexcept {
    static constexpr std::array<const char*, 16> kNames = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
    return kNames[static_cast<size_t>(rcode) & 0xf];
  }

 private:
  void Resolve(UpstreamMetrics& m, int rcode) {
    prometheus::Labels labels{{"to", m.to}, {"rcode", RcodeName(rcode)}};
    m.responses[rcode] = &responses_.Add(labels);
    m.durations[rcode] =
        &durations_.Add(labels, prometheus::Histogram::BucketBoundaries{
                                    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
                                    0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192});
  }

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& responses_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& healthcheck_failures_;
  prometheus::Counter* broken_;
  prometheus::Counter* rejects_;
};

}  // namespace petdns::plugins::forward
