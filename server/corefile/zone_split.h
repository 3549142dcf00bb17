// Splits one Corefile server block into petdns [[server]] blocks. A Corefile plugin may cover only
// some of its block's zones (`kubernetes cluster.local`, `forward example.org ...`), while a
// petdns plugin covers all zones of its block; so the zones are grouped by the plugins that
// cover them, and each group becomes a block on the same listen addresses. Any thread.
#pragma once

#include <string>
#include <vector>

#include "server/corefile/corefile.h"
#include "server/corefile/plugin_instance.h"

namespace petdns::corefile {

struct ZoneGroup {
  std::vector<std::string> zones;  // a kubernetes plugin's zones come first, in its order
  std::vector<size_t> instances;   // indices into the instances given, in Corefile order
};

struct ZoneSplit {
  std::vector<ZoneGroup> groups;
  std::vector<Issue> issues;  // plugins that could not keep their exact zones
};

// `block_zones`: the block's keys, normalized. `shadowing_zones`: zones of other server blocks on
// the same port; the names below them never reach this block in CoreDNS, so plugin zones inside
// them are dropped. At most one instance of each petdns plugin ends up in a group.
ZoneSplit SplitByZone(const std::vector<std::string>& block_zones,
                      const std::vector<PluginInstance>& instances,
                      const std::vector<std::string>& shadowing_zones);

}  // namespace petdns::corefile
