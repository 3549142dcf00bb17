// One Corefile directive turned into a petdns plugin table, plus what the conversion needs to
// know to place it: the zones it covers and how it may be shared between [[server]] blocks.
// Plain value; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/corefile/corefile.h"
#include "server/corefile/toml_document.h"

namespace petdns::corefile {

struct PluginInstance {
  std::string directive;  // as written in the Corefile: "prometheus"
  uint32_t line = 0;
  TomlTable table;  // table.plugin is the petdns name: "metrics"
  // Zones the directive names (normalized); empty means the server block's zones. Names under an
  // excluded zone are not covered (cache's `disable success|denial ZONE`).
  std::vector<std::string> zones;
  std::vector<std::string> excluded_zones;
  bool per_zone = false;       // file: petdns's file plugin serves one origin per block
  bool process_wide = false;   // health, ready: one endpoint per process, not in the chain
  bool falls_through = false;  // fallthrough set: the next instance of the plugin is reachable
  std::vector<Issue> issues;   // options that were not converted
};

}  // namespace petdns::corefile
