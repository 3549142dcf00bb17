#include "plugins/health/setup.h"

#include "plugins/health/health.h"
#include "server/common/log.h"
#include "server/config/table_reader.h"

namespace petdns::plugins::health {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.health", ctx.config.path);
  const std::string listen_text = reader.String("listen").value_or(":8080");
  const std::chrono::milliseconds lameduck =
      reader.Duration("lameduck").value_or(std::chrono::milliseconds(0));
  auto listen = http::ParseHttpListen(listen_text);
  if (!listen) reader.AddError("listen", listen.error().message);
  if (Status st = reader.Finish(); !st) return st.error();
  if (ctx.check_only || ctx.process == nullptr || ctx.runtime == nullptr) return chain::PluginPtr();

  const std::string key = "health:" + listen->host + ":" + std::to_string(listen->port);
  if (ctx.process->Find(key) == nullptr) {
    auto endpoint = std::make_shared<HealthEndpoint>();
    auto server = ctx.runtime->NewHttpServer(
        *listen, [](std::string_view, std::string_view path) { return HealthResponse(path); });
    if (!server) {
      return server.error().WithContext(ctx.config.path + ": [server.health]: listen " +
                                        listen_text);
    }
    endpoint->server = std::move(*server);
    ctx.process->Keep(key, std::move(endpoint));
  }
  if (lameduck.count() > 0) {
    ctx.process->OnLameDuck(lameduck, [lameduck] {
      log::Info("health", "going into lame duck mode for " + std::to_string(lameduck.count()) +
                              " ms; /health keeps answering 200 OK");
    });
  }
  return chain::PluginPtr();  // process-wide: not part of the chain
}

}  // namespace petdns::plugins::health
