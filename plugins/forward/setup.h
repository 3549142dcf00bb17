// [server.forward]: TOML table → ForwardPlugin (see README.md). Main thread, never throws.
#pragma once

#include <toml++/toml.h>

#include <string_view>
#include <vector>

#include "plugins/forward/upstream.h"
#include "server/chain/setup_context.h"
#include "server/common/error.h"

namespace petdns::plugins::forward {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table);

// One `to` entry: "IP", "IP:port", "[IPv6]:port" (port 53 by default, "dns://" prefix allowed),
// or a resolv.conf-style file whose `nameserver` lines are read. `resolved_path` is the path
// made absolute against the config file's folder.
[[nodiscard]] Result<std::vector<Upstream>> ParseTo(std::string_view entry,
                                                    const std::string& resolved_path);

}  // namespace petdns::plugins::forward
