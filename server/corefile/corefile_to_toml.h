// Converts a CoreDNS Corefile into an equivalent petdns.toml: server block keys and `bind` become
// [[server]] listen and zones, plugin directives become [server.<plugin>] tables (see
// plugin_mapping.h), and a block whose plugins cover different zones is split (zone_split.h).
// What petdns cannot express is returned as Issues and written into the TOML as comments.
// Pure function; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"
#include "server/corefile/corefile.h"

namespace petdns::corefile {

struct Conversion {
  std::string toml;           // the whole petdns.toml
  std::vector<Issue> issues;  // everything not converted, by line; empty when all was
};

// `file` names the Corefile in messages and comments. A kParse Error "FILE:LINE: message" when the
// text is not a Corefile, or when no server block could be converted at all.
[[nodiscard]] Result<Conversion> ConvertCorefile(std::string_view text, const std::string& file);

}  // namespace petdns::corefile
