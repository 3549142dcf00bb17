// The only file that names plugins. Array order is chain order; the config only enables and
// configures them (a block's table order does not matter).
#include <filesystem>

#include "plugins/cache/setup.h"
#include "plugins/errors/setup.h"
#include "plugins/file/setup.h"
#include "plugins/forward/setup.h"
#include "plugins/health/setup.h"
#include "plugins/hosts/setup.h"
#include "plugins/kubernetes/setup.h"
#include "plugins/log/setup.h"
#include "plugins/metrics/setup.h"
#include "plugins/ready/setup.h"
#include "server/chain/setup_context.h"

namespace petdns::chain {
namespace {

namespace p = petdns::plugins;

constexpr PluginSpec kPlugins[] = {
    {"metrics", &p::metrics::Setup}, {"health", &p::health::Setup},
    {"ready", &p::ready::Setup},     {"log", &p::log::Setup},
    {"errors", &p::errors::Setup},   {"cache", &p::cache::Setup},
    {"hosts", &p::hosts::Setup},     {"kubernetes", &p::kubernetes::Setup},
    {"file", &p::file::Setup},       {"forward", &p::forward::Setup},
};

}  // namespace

std::span<const PluginSpec> RegisteredPlugins() noexcept { return kPlugins; }

std::string SetupContext::ResolvePath(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_absolute() || config.directory.empty()) return path;
  return (std::filesystem::path(config.directory) / p).lexically_normal().string();
}

Result<std::vector<PluginPtr>> SetupPlugins(SetupContext& ctx) {
  std::vector<PluginPtr> plugins;
  std::string errors;
  for (const PluginSpec& spec : kPlugins) {
    auto it = ctx.block.plugins.find(std::string(spec.name));
    if (it == ctx.block.plugins.end()) continue;
    auto plugin = spec.setup(ctx, *it->second);
    if (!plugin) {
      errors += (errors.empty() ? "" : "\n") + plugin.error().message;
      continue;
    }
    if (*plugin) plugins.push_back(std::move(*plugin));  // process-wide plugins return null
  }
  for (const auto& [name, table] : ctx.block.plugins) {
    bool known = false;
    for (const PluginSpec& spec : kPlugins) known = known || spec.name == name;
    if (!known) {
      errors += (errors.empty() ? "" : "\n") + ctx.config.path + ": [server." + name +
                "]: plugin '" + name + "' is not available in this build";
    }
  }
  if (!errors.empty()) return MakeError(ErrorCode::kInvalidArgument, errors);
  return plugins;
}

}  // namespace petdns::chain
