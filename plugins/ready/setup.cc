#include "plugins/ready/setup.h"

#include "plugins/ready/ready.h"
#include "server/config/table_reader.h"

namespace petdns::plugins::ready {

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.ready", ctx.config.path);
  const std::string listen_text = reader.String("listen").value_or(":8181");
  auto listen = http::ParseHttpListen(listen_text);
  if (!listen) reader.AddError("listen", listen.error().message);
  if (Status st = reader.Finish(); !st) return st.error();
  if (ctx.check_only || ctx.process == nullptr || ctx.runtime == nullptr) return chain::PluginPtr();

  const std::string key = "ready:" + listen->host + ":" + std::to_string(listen->port);
  if (ctx.process->Find(key) != nullptr) return chain::PluginPtr();  // another block serves it
  auto endpoint = std::make_shared<ReadyEndpoint>();
  endpoint->process = ctx.process;
  ReadyEndpoint* raw = endpoint.get();  // the handler lives inside the endpoint it points to
  auto server = ctx.runtime->NewHttpServer(*listen, [raw](std::string_view, std::string_view path) {
    return ReadyResponse(path, raw->process->Readiness(), raw->shutting_down);
  });
  if (!server) {
    return server.error().WithContext(ctx.config.path + ": [server.ready]: listen " + listen_text);
  }
  endpoint->server = std::move(*server);
  // CoreDNS: ready stops answering OK once the lame-duck period begins. A zero delay adds none.
  std::weak_ptr<ReadyEndpoint> weak = endpoint;
  ctx.process->OnLameDuck(std::chrono::milliseconds(0), [weak] {
    if (auto e = weak.lock()) e->shutting_down = true;
  });
  ctx.process->Keep(key, std::move(endpoint));
  return chain::PluginPtr();  // process-wide: not part of the chain
}

}  // namespace petdns::plugins::ready
