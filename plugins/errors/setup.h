// Entry point of the errors plugin for the registry: builds an ErrorsPlugin from [server.errors].
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::errors {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::errors
