// Entry point of the kubernetes plugin for the registry: builds a KubernetesPlugin from
// [server.kubernetes] and starts its source (the API server or a manifests directory).
#pragma once

#include <toml++/toml.h>

#include "server/chain/setup_context.h"

namespace petdns::plugins::kubernetes {

[[nodiscard]] Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

}  // namespace petdns::plugins::kubernetes
