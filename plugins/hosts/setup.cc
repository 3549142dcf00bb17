#include "plugins/hosts/setup.h"

#include <prometheus/gauge.h>

#include "plugins/hosts/hosts_plugin.h"
#include "server/common/log.h"
#include "server/config/table_reader.h"
#include "server/wire/name.h"

namespace petdns::plugins::hosts {
namespace {

constexpr std::string_view kLog = "plugin/hosts";
constexpr const char* kDefaultPath = "/etc/hosts";

// The families are process-wide; every block's plugin adds its own `server` series.
Result<HostsMetrics> MakeMetrics(chain::SetupContext& ctx) {
  std::string server =
      ctx.block.listen.empty() ? std::to_string(ctx.block.index) : ctx.block.listen.front().text;
  try {
    HostsMetrics metrics;
    metrics.entries = &prometheus::BuildGauge()
                           .Name("petdns_hosts_entries")
                           .Help("Distinct (name, address) pairs the hosts plugin serves.")
                           .Register(*ctx.metrics)
                           .Add({{"server", server}});
    metrics.reload_timestamp = &prometheus::BuildGauge()
                                    .Name("petdns_hosts_reload_timestamp_seconds")
                                    .Help("When the hosts plugin last loaded its entries (Unix).")
                                    .Register(*ctx.metrics)
                                    .Add({{"server", server}});
    return metrics;
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("hosts metrics: ") + e.what());
  }
}

}  // namespace

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.hosts", ctx.config.path);
  std::optional<std::string> path = reader.String("path");
  std::optional<std::vector<std::string>> entries = reader.StringArray("entries");
  std::optional<int64_t> ttl = reader.Integer("ttl", 0, 0x7FFFFFFF);
  std::optional<std::chrono::milliseconds> reload = reader.Duration("reload");
  std::optional<bool> no_reverse = reader.Bool("no_reverse");

  HostsOptions options;
  if (ttl) options.table.ttl = static_cast<uint32_t>(*ttl);
  if (reload) options.reload_interval = *reload;
  if (no_reverse) options.table.reverse = !*no_reverse;
  for (const std::string& zone : ctx.block.zones) {
    auto wire_name = wire::NameFromText(zone);
    if (wire_name) options.table.zones.push_back(wire::LowerName(*wire_name));
  }

  // fallthrough = true | false | ["zone.", ...]
  options.fallthrough = chain::Fallthrough::Read(table, reader);

  // Inline entries are part of the config: a bad one is a config error (`petdns check` fails).
  ParsedHosts inline_entries;
  if (entries) {
    for (size_t i = 0; i < entries->size(); ++i) {
      ParsedHosts one =
          ParseHosts((*entries)[i], "entries[" + std::to_string(i) + "]", options.table.zones);
      for (const std::string& error : one.errors) reader.AddError("entries", error);
      for (HostsLine& line : one.lines) inline_entries.lines.push_back(std::move(line));
    }
  }
  if (Status st = reader.Finish(); !st) return st.error();

  // No path and no entries: /etc/hosts, as CoreDNS. Entries alone: no file.
  if (path) {
    options.path = ctx.ResolvePath(*path);
  } else if (!entries) {
    options.path = kDefaultPath;
  }
  // The file is data, not config: bad lines are skipped with a message, and a missing file is
  // served as empty until it appears.
  ParsedHosts file;
  if (!options.path.empty()) {
    auto text = ReadHostsFile(options.path);
    if (!text) {
      log::Warning(kLog, text.error().message + " (serving inline entries until it appears)");
    } else {
      file = ParseHosts(*text, options.path, options.table.zones);
      for (const std::string& error : file.errors) log::Warning(kLog, error);
    }
  }

  HostsMetrics metrics;
  if (!ctx.check_only) {
    auto made = MakeMetrics(ctx);
    if (!made) return made.error();
    metrics = *made;
  }
  return chain::PluginPtr(std::make_unique<HostsPlugin>(
      std::move(options), std::move(inline_entries), std::move(file), ctx.runtime, metrics));
}

}  // namespace petdns::plugins::hosts
