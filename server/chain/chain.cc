#include "server/chain/chain.h"

namespace petdns::chain {

Chain::Chain(std::vector<PluginPtr> plugins, std::vector<std::string> zones)
    : plugins_(std::move(plugins)), zones_(std::move(zones)) {
  for (const PluginPtr& p : plugins_) order_.push_back(p.get());
}

void Chain::Startup() {
  for (const PluginPtr& p : plugins_) p->OnStartup();
}

void Chain::Shutdown() {
  for (const PluginPtr& p : plugins_) p->OnShutdown();
}

}  // namespace petdns::chain
