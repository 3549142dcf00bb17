// Entry point of the hosts plugin for the registry: builds a HostsPlugin from [server.hosts].
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::hosts {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::hosts
