// Typed, checked access to one TOML table (a plugin's [server.<name>] or [global]), collecting
// every problem as "file:line:column: message" instead of stopping at the first. Plugins' Setup
// functions use it so unknown keys and wrong types are reported the same way everywhere. Main
// thread only.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"

namespace petdns::config {

// One problem found in a config file. `text` is the whole line, "file:line:column: message";
// `line` 0 means no position is known. Kept apart so callers can sort problems by position.
struct Problem {
  uint32_t line = 0;
  uint32_t column = 0;
  std::string text;
};

class TableReader {
 public:
  // `context` names the table in messages ("server.file"); `file` is the config file's path.
  TableReader(const toml::table& table, std::string context, std::string file);

  // Each getter marks `key` as known. A missing key yields nullopt (an error too when required);
  // a present key of the wrong type or out of range records an error and yields nullopt.
  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<int64_t> Integer(std::string_view key, int64_t min, int64_t max,
                                 bool required = false);
  std::optional<bool> Bool(std::string_view key);
  std::optional<std::vector<std::string>> StringArray(std::string_view key, bool required = false);
  // "500ms", "5s", "2m", "1h", or a bare integer of seconds. Negative values are errors.
  std::optional<std::chrono::milliseconds> Duration(std::string_view key);
  // A sub-table, for nested options; marks the key known.
  const toml::table* Table(std::string_view key);

  // Marks `key` as known, for keys the caller reads itself (values of several possible types).
  void MarkKnown(std::string_view key) { known_.emplace(key); }

  // Records an error about `key` (or about the table when key is empty) at its position.
  void AddError(std::string_view key, std::string_view message);

  // Records an error for every key that no getter asked for, then returns all errors: OK if none,
  // else one kInvalidArgument Error whose message holds one line per problem.
  [[nodiscard]] Status Finish();

  // Finish() for callers that merge problems from several readers (LoadConfig): records the
  // unknown-key problems, then hands back every problem sorted by position and forgets them.
  std::vector<Problem> TakeProblems();

  const std::string& file() const { return file_; }

 private:
  std::string Where(const toml::source_region& region) const;  // "file:line:column"
  // Where `key`'s value starts, or the table itself when the key is empty, absent or has no
  // position.
  const toml::source_region& RegionOf(std::string_view key) const;
  void Record(const toml::source_region& region, std::string_view message);

  const toml::table& table_;
  std::string context_;
  std::string file_;
  std::set<std::string, std::less<>> known_;
  std::vector<Problem> errors_;
};

}  // namespace petdns::config
