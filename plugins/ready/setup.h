// Entry point of the ready plugin for the registry: [server.ready] → a process-wide /ready
// endpoint (shared by blocks with the same `listen`).
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::ready {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::ready
