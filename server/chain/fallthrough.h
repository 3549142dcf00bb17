// Which names a plugin passes on to the next one instead of answering NXDOMAIN: the `fallthrough`
// option of the hosts and kubernetes plugins, `true` (every name), `false`, or a list of zones.
// Read on the main thread at setup; Covers() is allocation-free and safe from any thread.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

#include "server/config/table_reader.h"

namespace petdns::chain {

class Fallthrough {
 public:
  Fallthrough() = default;
  // Covers every name (`all`) or the names inside `zones` (lower-case wire names).
  Fallthrough(bool all, std::vector<std::string> zones) : all_(all), zones_(std::move(zones)) {}

  // Reads `fallthrough` from `table`; a value of another shape is reported through `reader`.
  static Fallthrough Read(const toml::table& table, config::TableReader& reader);

  bool Covers(std::string_view qname) const noexcept;
  bool enabled() const noexcept { return all_ || !zones_.empty(); }

 private:
  bool all_ = false;
  std::vector<std::string> zones_;
};

}  // namespace petdns::chain
