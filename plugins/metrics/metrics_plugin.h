// The metrics plugin's chain half: first in a block's chain, it observes every query's reply and
// counts it into the block's BlockStats (lock-free, no allocation). The /metrics endpoint itself
// is a prometheus::Exposer kept process-wide by Setup. Serve and OnReply run on worker loops.
#pragma once

#include <memory>
#include <string_view>

#include "plugins/metrics/dns_stats.h"
#include "server/chain/plugin.h"
#include "server/chain/query.h"

namespace petdns::plugins::metrics {

class MetricsPlugin final : public chain::Plugin, public chain::ReplyObserver {
 public:
  explicit MetricsPlugin(std::shared_ptr<BlockStats> stats) : stats_(std::move(stats)) {}

  std::string_view Name() const noexcept override { return "metrics"; }
  chain::Outcome Serve(chain::Query& q, chain::Next next) noexcept override;
  void OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept override;

  const BlockStats& stats() const noexcept { return *stats_; }

 private:
  std::shared_ptr<BlockStats> stats_;
};

}  // namespace petdns::plugins::metrics
