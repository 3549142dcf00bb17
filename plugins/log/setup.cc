#include "plugins/log/setup.h"

#include "plugins/log/log_plugin.h"
#include "server/config/table_reader.h"

namespace petdns::plugins::log {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.log", ctx.config.path);
  std::optional<std::vector<std::string>> classes = reader.StringArray("classes");
  uint8_t mask = 0;
  for (const std::string& name : classes.value_or(std::vector<std::string>{"all"})) {
    uint8_t bit = ClassMask(name);
    if (bit == 0) {
      reader.AddError("classes", "unknown class '" + name +
                                     "' (expected \"all\", \"success\", \"denial\" or \"error\")");
    }
    mask |= bit;
  }
  if (classes && classes->empty()) reader.AddError("classes", "'classes' must not be empty");
  if (Status st = reader.Finish(); !st) return st.error();
  return chain::PluginPtr(std::make_unique<LogPlugin>(mask));
}

}  // namespace petdns::plugins::log
