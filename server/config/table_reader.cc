#include "server/config/table_reader.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace petdns::config {
namespace {

constexpr std::string_view kDurationHint =
    R"(use e.g. "500ms", "10s", "2m", "1h", "1m30s" or an integer number of seconds)";

// Parses "500ms", "10s", "2m", "1h" and sums like "1h30m" or "1s500ms" into milliseconds.
// nullopt for anything else, including overflow of int64_t milliseconds.
std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t amount = 0;
    const size_t digits_begin = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      const int digit = text[i] - '0';
      if (amount > (kMax - digit) / 10) return std::nullopt;
      amount = amount * 10 + digit;
    }
    if (i == digits_begin) return std::nullopt;
    int64_t unit_ms = 0;
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("ms")) {
      unit_ms = 1;
      i += 2;
    } else if (rest.starts_with("s")) {
      unit_ms = 1'000;
      i += 1;
    } else if (rest.starts_with("m")) {
      unit_ms = 60'000;
      i += 1;
    } else if (rest.starts_with("h")) {
      unit_ms = 3'600'000;
      i += 1;
    } else {
      return std::nullopt;  // no unit, or an unknown one
    }
    if (amount > (kMax - total) / unit_ms) return std::nullopt;
    total += amount * unit_ms;
  }
  return total;
}

std::string Quote(std::string_view key) { return "'" + std::string(key) + "'"; }

}  // namespace

TableReader::TableReader(const toml::table& table, std::string context, std::string file)
    : table_(table), context_(std::move(context)), file_(std::move(file)) {}

std::optional<std::string> TableReader::String(std::string_view key, bool required) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) AddError("", "missing required key " + Quote(key) + " in [" + context_ + "]");
    return std::nullopt;
  }
  if (const auto* str = node->as_string()) return str->get();
  AddError(key, Quote(key) + " must be a string");
  return std::nullopt;
}

std::optional<int64_t> TableReader::Integer(std::string_view key, int64_t min, int64_t max,
                                            bool required) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) AddError("", "missing required key " + Quote(key) + " in [" + context_ + "]");
    return std::nullopt;
  }
  const auto* integer = node->as_integer();
  if (integer == nullptr) {
    AddError(key, Quote(key) + " must be an integer");
    return std::nullopt;
  }
  const int64_t value = integer->get();
  if (value < min || value > max) {
    AddError(key, Quote(key) + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> TableReader::Bool(std::string_view key) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* boolean = node->as_boolean()) return boolean->get();
  AddError(key, Quote(key) + " must be a boolean (true or false)");
  return std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::StringArray(std::string_view key,
                                                                 bool required) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) AddError("", "missing required key " + Quote(key) + " in [" + context_ + "]");
    return std::nullopt;
  }
  const std::string message = Quote(key) + " must be an array of strings";
  const auto* array = node->as_array();
  if (array == nullptr) {
    AddError(key, message);
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(array->size());
  for (const toml::node& element : *array) {
    const auto* str = element.as_string();
    if (str == nullptr) {
      // Point at the offending element when toml++ knows where it is.
      Record(element.source().begin.line != 0 ? element.source() : RegionOf(key), message);
      return std::nullopt;
    }
    out.push_back(str->get());
  }
  return out;
}

std::optional<std::chrono::milliseconds> TableReader::Duration(std::string_view key) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* integer = node->as_integer()) {
    const int64_t seconds = integer->get();
    if (seconds < 0) {
      AddError(key, Quote(key) + " must not be negative");
      return std::nullopt;
    }
    if (seconds > std::numeric_limits<int64_t>::max() / 1000) {
      AddError(key, Quote(key) + " is too large");
      return std::nullopt;
    }
    return std::chrono::milliseconds(seconds * 1000);
  }
  if (const auto* str = node->as_string()) {
    const std::string& text = str->get();
    if (text.starts_with('-')) {
      AddError(key, Quote(key) + " must not be negative");
      return std::nullopt;
    }
    if (auto ms = ParseDuration(text)) return std::chrono::milliseconds(*ms);
    AddError(key, Quote(key) + ": invalid duration \"" + text + "\" (" +
                      std::string(kDurationHint) + ")");
    return std::nullopt;
  }
  AddError(key, Quote(key) + " must be a duration (" + std::string(kDurationHint) + ")");
  return std::nullopt;
}

const toml::table* TableReader::Table(std::string_view key) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr) return nullptr;
  if (const auto* table = node->as_table()) return table;
  AddError(key, Quote(key) + " must be a table");
  return nullptr;
}

void TableReader::AddError(std::string_view key, std::string_view message) {
  // A key that was complained about is not also "unknown".
  if (!key.empty()) known_.emplace(key);
  Record(RegionOf(key), message);
}

Status TableReader::Finish() {
  std::vector<Problem> problems = TakeProblems();
  if (problems.empty()) return {};
  std::string message;
  for (const Problem& problem : problems) {
    if (!message.empty()) message += '\n';
    message += problem.text;
  }
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::vector<Problem> TableReader::TakeProblems() {
  for (const auto& [key, value] : table_) {
    if (known_.contains(key.str())) continue;
    known_.emplace(key.str());
    Record(RegionOf(key.str()), "unknown key " + Quote(key.str()) + " in [" + context_ + "]");
  }
  std::stable_sort(errors_.begin(), errors_.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::exchange(errors_, {});
}

std::string TableReader::Where(const toml::source_region& region) const {
  if (region.begin.line == 0) return file_;
  return file_ + ":" + std::to_string(region.begin.line) + ":" +
         std::to_string(region.begin.column);
}

const toml::source_region& TableReader::RegionOf(std::string_view key) const {
  if (!key.empty()) {
    const toml::node* node = table_.get(key);
    if (node != nullptr && node->source().begin.line != 0) return node->source();
  }
  return table_.source();
}

void TableReader::Record(const toml::source_region& region, std::string_view message) {
  errors_.push_back(Problem{region.begin.line, region.begin.line == 0 ? 0 : region.begin.column,
                            Where(region) + ": " + std::string(message)});
}

}  // namespace petdns::config
