// Entry point of the health plugin for the registry: [server.health] → a process-wide /health
// endpoint (shared by blocks with the same `listen`) and the lame-duck delay on SIGTERM.
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::health {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::health
