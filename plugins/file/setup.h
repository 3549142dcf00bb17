// Entry point of the file plugin for the registry: builds a FilePlugin from [server.file].
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::file {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::file
