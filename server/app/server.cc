#include "server/app/server.h"

#include <map>
#include <vector>

#include "server/chain/chain.h"
#include "server/chain/setup_context.h"
#include "server/common/log.h"
#include "server/dispatch/dispatcher.h"
#include "server/listener/socket_address.h"
#include "server/listener/tcp_listener.h"
#include "server/listener/udp_listener.h"
#include "server/uv/loop.h"
#include "server/uv/loop_runtime.h"
#include "server/wire/name.h"

namespace petdns::app {
namespace {

constexpr std::string_view kLog = "server";

std::string JoinErrors(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "\n" + b;
}

// Builds one chain per server block. With a null runtime nothing is started (petdns check).
Result<std::vector<std::unique_ptr<chain::Chain>>> BuildChains(
    const config::Config& config, chain::Runtime* runtime,
    const std::shared_ptr<prometheus::Registry>& metrics, chain::ProcessHooks* process) {
  std::vector<std::unique_ptr<chain::Chain>> chains;
  std::string errors;
  for (const config::ServerBlock& block : config.servers) {
    chain::SetupContext ctx{config, block, runtime, runtime == nullptr, metrics, process};
    auto plugins = chain::SetupPlugins(ctx);
    if (!plugins) {
      errors = JoinErrors(errors, plugins.error().message);
      continue;
    }
    std::vector<std::string> zones;
    for (const std::string& zone : block.zones) {
      auto wire = wire::NameFromText(zone);
      if (!wire) {
        errors = JoinErrors(errors, wire.error().message);
        continue;
      }
      zones.push_back(wire::LowerName(*wire));
    }
    chains.push_back(std::make_unique<chain::Chain>(std::move(*plugins), std::move(zones)));
  }
  if (!errors.empty()) return MakeError(ErrorCode::kInvalidArgument, errors);
  return chains;
}

}  // namespace

struct Server::Impl final : chain::ProcessHooks {
  // One listen address: its dispatcher and the UDP and TCP front ends.
  struct Endpoint {
    std::string text;
    std::unique_ptr<dispatch::Dispatcher> dispatcher;
    std::unique_ptr<listener::UdpListener> udp;
    std::unique_ptr<listener::TcpListener> tcp;
  };

  uv::Loop loop;  // first: destroyed last, after every handle below is closed
  std::unique_ptr<uv::LoopRuntime> runtime;
  config::Config config;
  std::vector<std::unique_ptr<chain::Chain>> chains;
  std::vector<Endpoint> endpoints;
  std::shared_ptr<prometheus::Registry> metrics = std::make_shared<prometheus::Registry>();
  std::map<std::string, std::shared_ptr<void>> kept;  // process-wide plugin objects
  std::vector<std::function<void()>> lame_duck_begins;
  std::chrono::milliseconds lame_duck{0};
  bool stopping = false;
  bool in_lame_duck = false;

  bool Keep(const std::string& key, std::shared_ptr<void> object) override {
    return kept.emplace(key, std::move(object)).second;
  }
  std::vector<chain::PluginReadiness> Readiness() const override {
    std::vector<chain::PluginReadiness> out;
    for (size_t i = 0; i < chains.size(); ++i) {
      for (const chain::PluginPtr& p : chains[i]->plugins()) {
        out.push_back({i, std::string(p->Name()), p->Ready()});
      }
    }
    return out;
  }
  void OnLameDuck(std::chrono::milliseconds delay, std::function<void()> begin) override {
    lame_duck = std::max(lame_duck, delay);
    if (begin) lame_duck_begins.push_back(std::move(begin));
  }

  // SIGTERM/SIGINT: a lame-duck period first if a plugin asked for one (health reports the server
  // going away while it still answers), then the real shutdown.
  void Terminate() {
    if (stopping || in_lame_duck) return;
    if (lame_duck.count() == 0) return Shutdown();
    in_lame_duck = true;
    log::Info(kLog, "lame duck for " + std::to_string(lame_duck.count()) + " ms");
    for (auto& begin : lame_duck_begins) begin();
    runtime->After(lame_duck, [this] { Shutdown(); });
  }

  void Shutdown() {
    if (stopping) return;
    stopping = true;
    log::Info(kLog, "shutting down");
    for (Endpoint& e : endpoints) {
      e.udp->Stop();
      e.tcp->Stop();
    }
    for (auto& c : chains) c->Shutdown();
    kept.clear();  // process-wide endpoints close before the loop ends
    runtime->Shutdown();
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Create(config::Config config) {
  auto impl = std::make_unique<Impl>();
  if (Status st = impl->loop.Init(); !st) return st.error();
  impl->runtime = std::make_unique<uv::LoopRuntime>(impl->loop);
  impl->config = std::move(config);
  const config::Config& cfg = impl->config;

  auto chains = BuildChains(cfg, impl->runtime.get(), impl->metrics, impl.get());
  if (!chains) return chains.error();
  impl->chains = std::move(*chains);

  // Group blocks by listen address: blocks on one address share a dispatcher that routes by zone.
  std::map<std::pair<std::string, uint16_t>, std::vector<chain::Chain*>> by_address;
  std::map<std::pair<std::string, uint16_t>, std::string> address_text;
  for (size_t i = 0; i < cfg.servers.size(); ++i) {
    for (const config::ListenAddress& address : cfg.servers[i].listen) {
      auto key = std::make_pair(address.host, address.port);
      by_address[key].push_back(impl->chains[i].get());
      address_text[key] = address.text;
    }
  }
  listener::TcpListenerOptions tcp_options;
  tcp_options.idle_timeout = std::chrono::milliseconds(cfg.global.tcp_idle_timeout_ms);
  tcp_options.max_connections = cfg.global.tcp_max_connections;
  for (auto& [key, chains_here] : by_address) {
    auto address = listener::ParseSocketAddress(key.first, key.second);
    if (!address) return address.error().WithContext("listen " + address_text[key]);
    Impl::Endpoint endpoint;
    endpoint.text = address_text[key];
    endpoint.dispatcher =
        std::make_unique<dispatch::Dispatcher>(chains_here, cfg.global.udp_max_payload);
    endpoint.udp = std::make_unique<listener::UdpListener>(impl->loop.get(), *endpoint.dispatcher);
    endpoint.tcp = std::make_unique<listener::TcpListener>(impl->loop.get(), *endpoint.dispatcher,
                                                           tcp_options);
    const auto* sa = reinterpret_cast<const sockaddr*>(&*address);
    if (Status st = endpoint.udp->Start(sa); !st) return st.error();
    if (Status st = endpoint.tcp->Start(sa); !st) return st.error();
    impl->endpoints.push_back(std::move(endpoint));
  }
  Impl* raw = impl.get();
  impl->runtime->OnTerminate([raw] { raw->Terminate(); });
  for (auto& c : impl->chains) c->Startup();
  for (const Impl::Endpoint& e : impl->endpoints) {
    log::Info(kLog, "listening on " + e.text + " (udp " + std::to_string(e.udp->LocalPort()) +
                        ", tcp " + std::to_string(e.tcp->LocalPort()) + ")");
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::Run() {
  impl_->loop.Run();
  return 0;
}

void Server::Stop() { impl_->Shutdown(); }

uint16_t Server::udp_port() const {
  return impl_->endpoints.empty() ? 0 : impl_->endpoints.front().udp->LocalPort();
}

uint16_t Server::tcp_port() const {
  return impl_->endpoints.empty() ? 0 : impl_->endpoints.front().tcp->LocalPort();
}

Status CheckConfig(const std::string& path) {
  // Every problem at once: the config's own, then each plugin's, even when the config has some.
  config::CheckedConfig checked = config::LoadConfigForCheck(path);
  std::string errors = checked.errors;
  if (checked.config.document != nullptr) {
    auto chains =
        BuildChains(checked.config, nullptr, std::make_shared<prometheus::Registry>(), nullptr);
    if (!chains) errors = JoinErrors(errors, chains.error().message);
  }
  if (!errors.empty()) return MakeError(ErrorCode::kInvalidArgument, errors);
  return {};
}

}  // namespace petdns::app
