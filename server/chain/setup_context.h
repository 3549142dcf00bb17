// What a plugin's Setup function gets: its server block, the whole config (for paths), the
// runtime for timers and background work, and whether this is only `petdns check`.
// Main thread only.
#pragma once

#include <prometheus/registry.h>
#include <toml++/toml.h>

#include <span>
#include <string>
#include <vector>

#include "server/chain/plugin.h"
#include "server/chain/process_hooks.h"
#include "server/chain/runtime.h"
#include "server/common/error.h"
#include "server/config/config.h"

namespace petdns::chain {

struct SetupContext {
  const config::Config& config;
  const config::ServerBlock& block;
  Runtime* runtime = nullptr;  // null under `petdns check`: load and validate, start nothing
  bool check_only = false;
  // The process-wide metrics registry every plugin adds its families to (never null).
  std::shared_ptr<prometheus::Registry> metrics;
  // Process-wide services; null under `petdns check`.
  ProcessHooks* process = nullptr;

  // A path from the config file, made absolute against the config file's folder.
  std::string ResolvePath(const std::string& path) const;
};

// A plugin's constructor from its TOML table. Never throws; errors name file:line.
using SetupFunction = Result<PluginPtr> (*)(SetupContext& ctx, const toml::table& table);

struct PluginSpec {
  std::string_view name;
  SetupFunction setup;
};

// The ordered plugin table (registry.cc): array order IS chain order.
std::span<const PluginSpec> RegisteredPlugins() noexcept;

// Builds one block's chain: every plugin the block configures, in registry order.
[[nodiscard]] Result<std::vector<PluginPtr>> SetupPlugins(SetupContext& ctx);

}  // namespace petdns::chain
