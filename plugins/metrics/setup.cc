#include "plugins/metrics/setup.h"

#include <prometheus/exposer.h>

#include <exception>

#include "plugins/metrics/metrics_plugin.h"
#include "server/config/table_reader.h"
#include "server/http/http_server.h"
#include "server/wire/name.h"

namespace petdns::plugins::metrics {
namespace {

constexpr std::string_view kCollectorKey = "metrics:dns";

// The exposer and what it serves; kept by the server under "metrics:<host:port>".
struct Endpoint {
  std::shared_ptr<DnsCollector> collector;
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<prometheus::Exposer> exposer;
};

}  // namespace

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.metrics", ctx.config.path);
  const std::string listen_text = reader.String("listen").value_or(":9153");
  auto listen = http::ParseHttpListen(listen_text);
  if (!listen) reader.AddError("listen", listen.error().message);
  if (Status st = reader.Finish(); !st) return st.error();

  std::string server =
      "dns://" + (ctx.block.listen.empty() ? std::string(":53") : ctx.block.listen.front().text);
  std::vector<std::string> zones;
  for (const std::string& zone : ctx.block.zones) {
    if (auto wire = wire::NameFromText(zone)) zones.push_back(wire::LowerName(*wire));
  }
  std::vector<std::string> plugins;
  for (const auto& [name, unused] : ctx.block.plugins) plugins.push_back(name);

  std::shared_ptr<DnsCollector> collector;
  if (ctx.process != nullptr) {
    collector =
        std::static_pointer_cast<DnsCollector>(ctx.process->Find(std::string(kCollectorKey)));
    if (collector == nullptr) {
      collector = std::make_shared<DnsCollector>();
      ctx.process->Keep(std::string(kCollectorKey), collector);
    }
  } else {
    collector = std::make_shared<DnsCollector>();  // petdns check: nothing is served
  }
  auto stats = collector->Attach(server, std::move(zones), std::move(plugins));

  if (!ctx.check_only && ctx.process != nullptr) {
    const std::string bind = listen->ipv6 ? "[" + listen->host + "]:" + std::to_string(listen->port)
                                          : listen->host + ":" + std::to_string(listen->port);
    const std::string key = "metrics:" + bind;
    if (ctx.process->Find(key) == nullptr) {
      auto endpoint = std::make_shared<Endpoint>();
      endpoint->collector = collector;
      endpoint->registry = ctx.metrics;
      try {
        endpoint->exposer = std::make_unique<prometheus::Exposer>(bind, 2);
        endpoint->exposer->RegisterCollectable(endpoint->registry);
        endpoint->exposer->RegisterCollectable(endpoint->collector);
      } catch (const std::exception& e) {
        return MakeError(ErrorCode::kUnavailable, ctx.config.path + ": [server.metrics]: listen " +
                                                      listen_text + ": " + e.what());
      }
      ctx.process->Keep(key, std::move(endpoint));
    }
  }
  return chain::PluginPtr(std::make_unique<MetricsPlugin>(std::move(stats)));
}

}  // namespace petdns::plugins::metrics
