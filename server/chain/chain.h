// The plugins of one server block in chain order, and the zones the block answers for.
// Built on the main thread; Serve runs on a worker loop.
#pragma once

#include <string>
#include <vector>

#include "server/chain/plugin.h"
#include "server/chain/query.h"

namespace petdns::chain {

class Chain {
 public:
  Chain(std::vector<PluginPtr> plugins, std::vector<std::string> zones);
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  Outcome Serve(Query& q) noexcept { return Next(order_)(q); }

  const std::vector<std::string>& zones() const noexcept { return zones_; }  // wire, lower case
  const std::vector<PluginPtr>& plugins() const noexcept { return plugins_; }
  void Startup();
  void Shutdown();

 private:
  std::vector<PluginPtr> plugins_;
  std::vector<Plugin*> order_;
  std::vector<std::string> zones_;
};

}  // namespace petdns::chain
