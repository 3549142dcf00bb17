// The petdns.toml that `petdns convert-corefile` writes, as a small tree of [[server]] blocks and
// plugin tables whose values are already TOML text, and its rendering. Knows TOML syntax, nothing
// about Corefiles. Pure values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace petdns::corefile {

// `key = value  # comment`; `value` is TOML text (use TomlString and friends to make it).
struct TomlKey {
  std::string key;
  std::string value;
  std::string comment;  // without '#'; empty for none
};

// `[server.<plugin>]` with its keys. Comments go on their own lines after the header.
struct TomlTable {
  std::string plugin;  // "cache", "kubernetes", ...
  std::vector<std::string> comments;
  std::vector<TomlKey> keys;

  void Set(std::string key, std::string value, std::string comment = "") {
    keys.push_back(TomlKey{std::move(key), std::move(value), std::move(comment)});
  }
};

// One [[server]] block. Comments go before it; plugin tables are written in the order given.
struct TomlServer {
  std::vector<std::string> comments;
  std::vector<std::string> listen;
  std::vector<std::string> zones;
  std::vector<TomlTable> plugins;
};

struct TomlDocument {
  std::vector<std::string> header;  // comment lines at the top
  std::vector<TomlServer> servers;
};

// A TOML basic string: "..." with quotes, backslashes and control characters escaped.
std::string TomlString(std::string_view text);
// ["a", "b"]
std::string TomlStringArray(const std::vector<std::string>& items);
// "30s", "1m", "1h", "500ms": the shortest whole unit; petdns's durations read all of these.
std::string TomlDuration(int64_t milliseconds);

// The file text: comments as "# ...", a blank line between blocks.
std::string RenderToml(const TomlDocument& document);

}  // namespace petdns::corefile
