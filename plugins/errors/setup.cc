#include "plugins/errors/setup.h"

#include "plugins/errors/errors_plugin.h"
#include "server/config/table_reader.h"

namespace petdns::plugins::errors {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.errors", ctx.config.path);
  std::optional<int64_t> limit = reader.Integer("limit", 0, 1'000'000);
  std::optional<std::chrono::milliseconds> interval = reader.Duration("interval");
  ErrorsOptions options;
  if (limit) options.limit = static_cast<uint32_t>(*limit);
  if (interval) {
    if (interval->count() <= 0) {
      reader.AddError("interval", "'interval' must be longer than 0s");
    } else {
      options.interval = *interval;
    }
  }
  if (Status st = reader.Finish(); !st) return st.error();
  return chain::PluginPtr(std::make_unique<ErrorsPlugin>(options, ctx.runtime));
}

}  // namespace petdns::plugins::errors
