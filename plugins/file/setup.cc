#include "plugins/file/setup.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <exception>
#include <map>
#include <string>

#include "plugins/file/file_plugin.h"
#include "server/config/table_reader.h"
#include "server/wire/name.h"

namespace petdns::plugins::file {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.file", ctx.config.path);
  std::optional<std::string> path = reader.String("path", /*required=*/true);
  std::optional<std::string> origin_text = reader.String("origin");
  std::optional<std::chrono::milliseconds> reload = reader.Duration("reload");
  std::optional<std::vector<std::string>> transfer_to = reader.StringArray("transfer_to");
  std::optional<int64_t> default_ttl = reader.Integer("default_ttl", 0, 0x7FFFFFFF);

  FileOptions options;
  if (reload) options.reload_interval = *reload;
  if (default_ttl) options.zone.default_ttl = static_cast<uint32_t>(*default_ttl);

  // The zone: `origin`, else the block's only zone.
  std::string origin;
  if (origin_text) {
    auto wire = wire::NameFromText(
        *origin_text == "." ? "." : *origin_text + (origin_text->ends_with('.') ? "" : "."));
    if (!wire) {
      reader.AddError("origin", wire.error().message);
    } else {
      origin = wire::LowerName(*wire);
    }
  } else if (ctx.block.zones.size() == 1) {
    origin = wire::LowerName(*wire::NameFromText(ctx.block.zones.front()));
  } else {
    reader.AddError("", "'origin' is required when the block has several zones");
  }
  if (!origin.empty()) {
    bool inside = false;
    for (const std::string& zone : ctx.block.zones) {
      auto zone_wire = wire::NameFromText(zone);
      inside = inside || (zone_wire && wire::IsSubdomain(origin, wire::LowerName(*zone_wire)));
    }
    if (!inside) {
      reader.AddError("origin",
                      "zone " + wire::NameToText(origin) + " is not inside the block's zones");
    }
  }
  auto cidrs = CidrSet::Parse(transfer_to.value_or(std::vector<std::string>{"127.0.0.0/8", "::1"}));
  if (!cidrs) {
    reader.AddError("transfer_to", cidrs.error().message);
  } else {
    options.transfer_to = std::move(*cidrs);
  }
  if (Status st = reader.Finish(); !st) return st.error();

  options.zone.path = ctx.ResolvePath(*path);
  options.zone.origin = origin;
  auto zone = zones::LoadZoneFile(options.zone);
  if (!zone) return zone.error();
  FileMetrics metrics;
  if (ctx.metrics != nullptr) {
    try {
      const std::map<std::string, std::string> labels{{"zone", wire::NameToText(origin)}};
      metrics.registry = ctx.metrics;
      metrics.reloads = &prometheus::BuildCounter()
                             .Name("petdns_file_reloads_total")
                             .Help("Zone file reloads that took effect.")
                             .Register(*ctx.metrics)
                             .Add(labels);
      metrics.reload_failures =
          &prometheus::BuildCounter()
               .Name("petdns_file_reload_failures_total")
               .Help("Zone file reloads that failed (the zone stayed), and zone files gone.")
               .Register(*ctx.metrics)
               .Add(labels);
    } catch (const std::exception&) {
      metrics = {};  // metrics are best effort
    }
  }
  return chain::PluginPtr(std::make_unique<FilePlugin>(std::move(options), std::move(*zone),
                                                       ctx.runtime, std::move(metrics)));
}

}  // namespace petdns::plugins::file
