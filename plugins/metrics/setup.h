// Entry point of the metrics plugin for the registry: [server.metrics] → the /metrics endpoint
// (process-wide, shared by blocks with the same `listen`) and the block's counting plugin.
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::metrics {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::metrics
