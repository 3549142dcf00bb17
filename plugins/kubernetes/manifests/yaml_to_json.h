// YAML text → the JSON values kubectl would send: multi-document streams, YAML 1.2 core-schema
// typing of plain scalars (true/false, integers, floats, null/~), quoted and block scalars kept as
// strings, explicit !!str/!!int/!!float/!!bool/!!null tags honoured, merge keys (<<) expanded.
// Pure functions, safe from any thread; nothing throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace petdns::plugins::kubernetes {

struct YamlDocument {
  nlohmann::json value;  // null for an empty document
  int line = 0;          // 1-based line where the document's content starts
};

// Either the documents, or the first problem (`line` is 1-based, 0 when unknown).
struct YamlParseResult {
  std::vector<YamlDocument> documents;
  bool ok = true;
  int line = 0;
  std::string error;
};

// Parses every document of a YAML stream. A duplicate key in a mapping, a non-scalar key, a value
// that does not match its explicit tag, or nesting/alias expansion beyond sane limits is an error.
YamlParseResult YamlToJson(std::string_view text) noexcept;

// Types one plain (unquoted, untagged) YAML scalar by the YAML 1.2 core schema. Exposed for tests.
nlohmann::json ResolvePlainScalar(const std::string& text);

}  // namespace petdns::plugins::kubernetes
