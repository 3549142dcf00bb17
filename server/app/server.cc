#include "server/app/server.h"

#include <prometheus/counter.h>
#include <sys/stat.h>

#include <map>
#include <optional>
#include <vector>

#include "server/app/privileges.h"
#include "server/chain/chain.h"
#include "server/chain/setup_context.h"
#include "server/common/log.h"
#include "server/dispatch/dispatch_metrics.h"
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

// The UDP rate limiter [global.rrl] asks for, or null when it is off.
std::unique_ptr<rrl::RateLimiter> MakeRateLimiter(const config::RrlOptions& options) {
  if (options.responses_per_second == 0) return nullptr;
  rrl::RateLimiterSettings settings;
  settings.responses_per_second = options.responses_per_second;
  settings.window_seconds = options.window_seconds;
  settings.slip = options.slip;
  settings.ipv4_prefix_length = options.ipv4_prefix_length;
  settings.ipv6_prefix_length = options.ipv6_prefix_length;
  settings.table_size = options.table_size;
  if (auto exempt = CidrSet::Parse(options.exempt)) settings.exempt = std::move(*exempt);
  return std::make_unique<rrl::RateLimiter>(std::move(settings));
}

}  // namespace

// One configuration's worth of running plugins. A reload builds the next generation beside the
// current one and swaps it in; the old one stops its timers at once and is destroyed a little
// later, so queries it is still answering (forward waits on upstreams) finish.
struct Generation {
  config::Config config;
  std::unique_ptr<uv::LoopRuntime> runtime;  // its own timers and signal callbacks
  std::vector<std::unique_ptr<chain::Chain>> chains;

  ~Generation() {
    for (auto& c : chains) c->Shutdown();
    if (runtime) runtime->Shutdown();
  }
};

struct Server::Impl final : chain::ProcessHooks {
  // One listen address: its dispatcher and the UDP and TCP front ends. Listeners outlive
  // reloads; only the dispatcher's routes change.
  struct Endpoint {
    std::string text;
    std::unique_ptr<dispatch::Dispatcher> dispatcher;
    std::unique_ptr<listener::UdpListener> udp;
    std::unique_ptr<listener::TcpListener> tcp;
  };
  using AddressKey = std::pair<std::string, uint16_t>;
  static constexpr std::chrono::milliseconds kRetireDelay{5000};

  uv::Loop loop;  // first: destroyed last, after every handle below is closed
  std::unique_ptr<uv::LoopRuntime> runtime;  // process-wide: SIGTERM, SIGHUP, config polling
  std::unique_ptr<Generation> current;
  // A reloaded configuration, started, waiting for its plugins to be ready to take over.
  std::unique_ptr<Generation> pending;
  std::chrono::steady_clock::time_point pending_since;
  uint64_t pending_number = 0;  // tells a replaced pending generation's poll to stop
  static constexpr std::chrono::milliseconds kReloadReadyPoll{20};
  static constexpr std::chrono::milliseconds kReloadWaitReport{10000};
  std::chrono::steady_clock::duration next_wait_report = kReloadWaitReport;
  std::vector<std::unique_ptr<Generation>> retiring;
  std::map<AddressKey, Endpoint> endpoints;
  std::vector<Endpoint> closed_endpoints;  // stopped, freed with the retiring generation
  std::shared_ptr<prometheus::Registry> metrics = std::make_shared<prometheus::Registry>();
  prometheus::Counter* reloads = nullptr;
  prometheus::Counter* reload_failures = nullptr;
  std::unique_ptr<dispatch::DispatchMetrics> dispatch_metrics;
  std::map<std::string, std::shared_ptr<void>> kept;  // process-wide plugin objects
  std::vector<std::function<void()>> lame_duck_begins;
  std::chrono::milliseconds lame_duck{0};
  std::string config_path;
  struct stat config_stat {};
  bool stopping = false;
  bool in_lame_duck = false;

  bool Keep(const std::string& key, std::shared_ptr<void> object) override {
    return kept.emplace(key, std::move(object)).second;
  }
  std::shared_ptr<void> Find(const std::string& key) const override {
    auto it = kept.find(key);
    return it == kept.end() ? nullptr : it->second;
  }
  std::vector<chain::PluginReadiness> Readiness() const override {
    std::vector<chain::PluginReadiness> out;
    if (current == nullptr) return out;
    for (size_t i = 0; i < current->chains.size(); ++i) {
      for (const chain::PluginPtr& p : current->chains[i]->plugins()) {
        out.push_back({i, std::string(p->Name()), p->Ready()});
      }
    }
    return out;
  }
  void OnLameDuck(std::chrono::milliseconds delay, std::function<void()> begin) override {
    lame_duck = std::max(lame_duck, delay);
    if (begin) lame_duck_begins.push_back(std::move(begin));
  }

  // Sets up every plugin of `config` on its own runtime. Starts nothing yet.
  Result<std::unique_ptr<Generation>> Build(config::Config config) {
    auto generation = std::make_unique<Generation>();
    generation->config = std::move(config);
    generation->runtime = std::make_unique<uv::LoopRuntime>(loop);
    auto chains = BuildChains(generation->config, generation->runtime.get(), metrics, this);
    if (!chains) return chains.error();
    generation->chains = std::move(*chains);
    return generation;
  }

  // Blocks grouped by listen address: blocks on one address share a dispatcher.
  static std::map<AddressKey, std::pair<std::string, std::vector<chain::Chain*>>> Routes(
      const Generation& generation) {
    std::map<AddressKey, std::pair<std::string, std::vector<chain::Chain*>>> out;
    const auto& servers = generation.config.servers;
    for (size_t i = 0; i < servers.size(); ++i) {
      for (const config::ListenAddress& address : servers[i].listen) {
        auto& entry = out[{address.host, address.port}];
        entry.first = address.text;
        entry.second.push_back(generation.chains[i].get());
      }
    }
    return out;
  }

  // Points every listen address of `generation` at its chains: existing listeners keep their
  // sockets, new addresses are bound, addresses no longer configured are closed.
  Status Activate(Generation& generation) {
    const config::GlobalOptions& global = generation.config.global;
    auto routes = Routes(generation);
    std::vector<AddressKey> added;
    for (auto& [key, route] : routes) {
      if (endpoints.count(key) != 0) continue;
      auto address = listener::ParseSocketAddress(key.first, key.second);
      Status started = address ? Status() : address.error().WithContext("listen " + route.first);
      Endpoint endpoint;
      if (started) {
        listener::TcpListenerOptions tcp_options;
        tcp_options.idle_timeout = std::chrono::milliseconds(global.tcp_idle_timeout_ms);
        tcp_options.max_connections = global.tcp_max_connections;
        tcp_options.read_timeout = std::chrono::milliseconds(
            std::min(global.tcp_read_timeout_ms, global.tcp_idle_timeout_ms));
        tcp_options.max_pending_output_bytes = global.tcp_max_queued_bytes;
        endpoint.text = route.first;
        endpoint.dispatcher = std::make_unique<dispatch::Dispatcher>(
            route.second, global.udp_max_payload, dispatch_metrics.get());
        endpoint.udp = std::make_unique<listener::UdpListener>(loop.get(), *endpoint.dispatcher);
        endpoint.tcp =
            std::make_unique<listener::TcpListener>(loop.get(), *endpoint.dispatcher, tcp_options);
        const auto* sa = reinterpret_cast<const sockaddr*>(&*address);
        started = endpoint.udp->Start(sa);
        if (started) started = endpoint.tcp->Start(sa);
      }
      if (!started) {
        for (const AddressKey& undo : added) endpoints.erase(undo);
        return started;
      }
      log::Info(kLog, "listening on " + endpoint.text + " (udp " +
                          std::to_string(endpoint.udp->LocalPort()) + ", tcp " +
                          std::to_string(endpoint.tcp->LocalPort()) + ")");
      endpoints.emplace(key, std::move(endpoint));
      added.push_back(key);
    }
    for (auto it = endpoints.begin(); it != endpoints.end();) {
      auto route = routes.find(it->first);
      if (route == routes.end()) {
        log::Info(kLog, "no longer listening on " + it->second.text);
        it->second.udp->Stop();
        it->second.tcp->Stop();
        // Answers still on their way hold its dispatcher's scratch: free it with the generation.
        closed_endpoints.push_back(std::move(it->second));
        it = endpoints.erase(it);
        continue;
      }
      it->second.dispatcher->SetChains(route->second.second);
      it->second.dispatcher->SetRateLimiter(MakeRateLimiter(global.rrl));
      ++it;
    }
    return {};
  }

  void WatchConfigFile() {
    ::stat(config_path.c_str(), &config_stat);
    runtime->Every(std::chrono::seconds(2), [this] {
      struct stat now {};
      if (::stat(config_path.c_str(), &now) != 0) return;
      if (now.st_mtim.tv_sec == config_stat.st_mtim.tv_sec &&
          now.st_mtim.tv_nsec == config_stat.st_mtim.tv_nsec &&
          now.st_size == config_stat.st_size && now.st_ino == config_stat.st_ino) {
        return;
      }
      config_stat = now;
      Reload();
    });
  }

  // SIGHUP or a changed config file: the whole configuration again. An invalid new config is
  // reported and the running one stays.
  void Reload() {
    if (stopping || in_lame_duck) return;
    auto config = config::LoadConfig(config_path);
    if (!config) return ReloadFailed(config.error().message);
    if (config->global.user != current->config.global.user ||
        config->global.group != current->config.global.group) {
      log::Warning(kLog, "[global] user and group are read at start only; restart to change them");
    }
    auto next = Build(std::move(*config));
    if (!next) return ReloadFailed(next.error().message);
    // The new plugins start beside the running ones and take over only once every one of them is
    // ready: a kubernetes plugin that has not listed yet would answer SERVFAIL for the whole
    // cluster, and a reload must not lose a record that is being served. A reload that comes
    // meanwhile replaces this one.
    pending = std::move(*next);
    pending_since = std::chrono::steady_clock::now();
    ++pending_number;
    for (auto& c : pending->chains) c->Startup();
    SwitchWhenReady(pending_number);
  }

  void ReloadFailed(const std::string& why) {
    reload_failures->Increment();
    log::Error(kLog, "reload failed, keeping the running configuration:\n" + why);
  }

  static bool AllReady(const Generation& generation) {
    for (const auto& chain : generation.chains) {
      for (const chain::PluginPtr& p : chain->plugins()) {
        if (!p->Ready()) return false;
      }
    }
    return true;
  }

  void SwitchWhenReady(uint64_t number) {
    if (pending == nullptr || number != pending_number || stopping) return;  // replaced, or done
    Generation* generation = pending.get();
    if (!AllReady(*generation)) {
      const auto waited = std::chrono::steady_clock::now() - pending_since;
      if (waited >= next_wait_report) {
        std::string names;
        for (const auto& chain : generation->chains) {
          for (const chain::PluginPtr& p : chain->plugins()) {
            if (!p->Ready()) names += (names.empty() ? "" : ", ") + std::string(p->Name());
          }
        }
        log::Warning(kLog, "reload of " + config_path + " waits for " + names +
                               " to be ready; the running configuration keeps serving");
        next_wait_report += kReloadWaitReport;
      }
      runtime->After(kReloadReadyPoll, [this, number] { SwitchWhenReady(number); });
      return;
    }
    std::unique_ptr<Generation> next = std::move(pending);
    next_wait_report = kReloadWaitReport;
    if (Status st = Activate(*next); !st) {
      if (Status back = Activate(*current); !back) log::Error(kLog, back.error().message);
      std::string why = st.error().message;
      if (!current->config.global.user.empty() && why.find("permission denied") != why.npos) {
        why += " (petdns switched to user '" + current->config.global.user +
               "' after start: a new port below 1024 needs a restart)";
      }
      return ReloadFailed(why);
    }
    std::unique_ptr<Generation> old = std::exchange(current, std::move(next));
    old->runtime->Shutdown();  // its timers stop now; its plugins live on for answers in flight
    retiring.push_back(std::move(old));
    Generation* retired = retiring.back().get();
    size_t closed = closed_endpoints.size();
    runtime->After(kRetireDelay, [this, retired, closed] {
      std::erase_if(retiring, [&](const auto& g) { return g.get() == retired; });
      closed_endpoints.erase(closed_endpoints.begin(),
                             closed_endpoints.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                            closed, closed_endpoints.size())));
    });
    reloads->Increment();
    log::Info(kLog, "configuration reloaded from " + config_path);
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
    for (auto& [key, e] : endpoints) {
      e.udp->Stop();
      e.tcp->Stop();
    }
    pending.reset();
    current.reset();
    retiring.clear();
    closed_endpoints.clear();
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
  impl->config_path = config.path;
  auto& reload_family = prometheus::BuildCounter()
                            .Name("petdns_reload_total")
                            .Help("Configuration reloads that took effect.")
                            .Register(*impl->metrics);
  impl->reloads = &reload_family.Add({});
  auto& failed_family = prometheus::BuildCounter()
                            .Name("petdns_reload_failed_total")
                            .Help("Configuration reloads that failed; the old one kept running.")
                            .Register(*impl->metrics);
  impl->reload_failures = &failed_family.Add({});
  impl->dispatch_metrics = std::make_unique<dispatch::DispatchMetrics>(*impl->metrics);

  // A user that does not exist is a config mistake: say so before loading anything.
  std::optional<RunAs> run_as;
  if (!config.global.user.empty()) {
    auto found = LookUpRunAs(config.global.user, config.global.group);
    if (!found) return found.error();
    run_as = std::move(*found);
  }
  auto generation = impl->Build(std::move(config));
  if (!generation) return generation.error();
  if (Status st = impl->Activate(**generation); !st) return st.error();
  impl->current = std::move(*generation);
  // Every socket (DNS, /metrics, /health, /ready) is bound now; nothing is served yet.
  if (run_as) {
    if (Status st = DropPrivileges(*run_as); !st) return st.error();
    log::Info(kLog, "running as user " + run_as->user + " (uid " + std::to_string(run_as->uid) +
                        "), group " + run_as->group + " (gid " + std::to_string(run_as->gid) + ")");
  }
  Impl* raw = impl.get();
  impl->runtime->OnTerminate([raw] { raw->Terminate(); });
  impl->runtime->OnReloadSignal([raw] { raw->Reload(); });
  impl->WatchConfigFile();
  for (auto& c : impl->current->chains) c->Startup();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::Run() {
  impl_->loop.Run();
  return 0;
}

void Server::Stop() { impl_->Shutdown(); }

uint16_t Server::udp_port() const {
  return impl_->endpoints.empty() ? 0 : impl_->endpoints.begin()->second.udp->LocalPort();
}

uint16_t Server::tcp_port() const {
  return impl_->endpoints.empty() ? 0 : impl_->endpoints.begin()->second.tcp->LocalPort();
}

Status CheckConfig(const std::string& path) {
  // Every problem at once: the config's own, then each plugin's, even when the config has some.
  config::CheckedConfig checked = config::LoadConfigForCheck(path);
  std::string errors = checked.errors;
  if (checked.config.document != nullptr) {
    auto chains =
        BuildChains(checked.config, nullptr, std::make_shared<prometheus::Registry>(), nullptr);
    if (!chains) errors = JoinErrors(errors, chains.error().message);
    const config::GlobalOptions& global = checked.config.global;
    if (!global.user.empty()) {
      if (auto run_as = LookUpRunAs(global.user, global.group); !run_as) {
        errors = JoinErrors(errors, path + ": " + run_as.error().message);
      }
    }
  }
  if (!errors.empty()) return MakeError(ErrorCode::kInvalidArgument, errors);
  return {};
}

}  // namespace petdns::app
