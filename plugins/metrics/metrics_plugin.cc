#include "plugins/metrics/metrics_plugin.h"

#include <sys/socket.h>

namespace petdns::plugins::metrics {

chain::Outcome MetricsPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  // The dispatcher may stamp arrival time itself; if it did not, timing starts here.
  if (q.received_at() == std::chrono::steady_clock::time_point{}) {
    q.set_received_at(std::chrono::steady_clock::now());
  }
  (void)q.Observe(this);  // false only when kMaxObservers are taken: the reply goes uncounted
  return next(q);
}

void MetricsPlugin::OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept {
  ReplySample s;
  s.zone = q.zone();
  s.transport = q.transport();
  s.ipv6 = q.client_address() != nullptr && q.client_address()->sa_family == AF_INET6;
  s.qtype = static_cast<uint16_t>(q.qtype());
  s.rcode = static_cast<uint16_t>(q.rcode());
  s.plugin = q.replied_by();
  s.request_size = q.packet().size();
  s.response_size = message.size();
  s.duration = std::chrono::steady_clock::now() - q.received_at();
  stats_->Record(s);
  stats_->RecordResponse(s.zone, s.rcode, s.plugin);
}

}  // namespace petdns::plugins::metrics
