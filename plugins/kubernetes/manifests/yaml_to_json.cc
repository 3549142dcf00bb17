#include "plugins/kubernetes/manifests/yaml_to_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

// Aliases can expand exponentially ("billion laughs"); manifests are nowhere near these.
constexpr size_t kMaxNodes = 1'000'000;
constexpr int kMaxDepth = 256;

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsHexDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ (YAML 1.2 core schema).
std::optional<json> ParseInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    std::string_view digits = s.substr(2);
    int base = s[1] == 'x' ? 16 : 8;
    if (base == 16 ? !IsHexDigits(digits) : digits.find_first_not_of("01234567") != digits.npos) {
      return std::nullopt;
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    if (v <= static_cast<uint64_t>(INT64_MAX)) return json(static_cast<int64_t>(v));
    return json(v);
  }
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (!IsDigits(body)) return std::nullopt;
  if (negative) {
    int64_t v = 0;
    std::string with_sign = "-" + std::string(body);
    auto [end, ec] = std::from_chars(with_sign.data(), with_sign.data() + with_sign.size(), v);
    if (ec == std::errc() && end == with_sign.data() + with_sign.size()) return json(v);
  } else {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
    if (ec == std::errc() && end == body.data() + body.size()) {
      if (v <= static_cast<uint64_t>(INT64_MAX)) return json(static_cast<int64_t>(v));
      return json(v);
    }
  }
  // Too large for 64 bits: still a number, as JSON would have it.
  double d = 0;
  auto [end, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return json(d);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? ; .inf/.nan have no JSON form and stay
// strings.
std::optional<json> ParseFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::string_view number = s[0] == '+' ? s.substr(1) : s;
  double d = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  return json(d);
}

std::optional<json> ParseBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  return std::nullopt;
}

bool IsNull(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

struct ConvertError {
  int line;
  std::string message;
};

class Converter {
 public:
  // Returns false and fills error_ on failure.
  bool Convert(const YAML::Node& node, int depth, json& out) {
    if (++nodes_ > kMaxNodes) return Fail(node, "document too large (alias expansion?)");
    if (depth > kMaxDepth) return Fail(node, "nesting too deep");
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        return ConvertScalar(node, out);
      case YAML::NodeType::Sequence: {
        out = json::array();
        for (const YAML::Node& item : node) {
          json value;
          if (!Convert(item, depth + 1, value)) return false;
          out.push_back(std::move(value));
        }
        return true;
      }
      case YAML::NodeType::Map:
        return ConvertMap(node, depth, out);
    }
    out = nullptr;
    return true;
  }

  const ConvertError& error() const { return error_; }

 private:
  bool Fail(const YAML::Node& node, std::string message) {
    error_.line = node.Mark().is_null() ? 0 : node.Mark().line + 1;
    error_.message = std::move(message);
    return false;
  }

  bool ConvertScalar(const YAML::Node& node, json& out) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "?") {  // plain scalar: resolve by the core schema
      out = ResolvePlainScalar(text);
      return true;
    }
    if (tag.size() > kTagPrefix.size() && tag.compare(0, kTagPrefix.size(), kTagPrefix) == 0) {
      std::string_view type = std::string_view(tag).substr(kTagPrefix.size());
      std::optional<json> typed;
      if (type == "str") {
        typed = json(text);
      } else if (type == "int") {
        typed = ParseInt(text);
      } else if (type == "float") {
        typed = ParseFloat(text);
        if (!typed) typed = ParseInt(text);
      } else if (type == "bool") {
        typed = ParseBool(text);
      } else if (type == "null") {
        if (IsNull(text)) typed = json(nullptr);
      } else {
        typed = json(text);  // !!binary, !!timestamp, ...: their text
      }
      if (!typed) return Fail(node, "\"" + text + "\" is not a valid !!" + std::string(type));
      out = std::move(*typed);
      return true;
    }
    out = text;  // quoted, block, or a local tag: a string
    return true;
  }

  bool ConvertMap(const YAML::Node& node, int depth, json& out) {
    out = json::object();
    std::vector<YAML::Node> merges;   // handles, cheap to copy
    for (const auto& entry : node) {  // entry: a pair of node handles, held for the body
      const YAML::Node& key = entry.first;
      if (key.Type() != YAML::NodeType::Scalar && key.Type() != YAML::NodeType::Null) {
        return Fail(key, "mapping keys must be scalars");
      }
      std::string name = key.Type() == YAML::NodeType::Null ? "null" : key.Scalar();
      if (key.Tag() == "?" && name == "<<") {
        merges.push_back(entry.second);
        continue;
      }
      if (out.contains(name)) return Fail(key, "duplicate key \"" + name + "\"");
      json value;
      if (!Convert(entry.second, depth + 1, value)) return false;
      out[name] = std::move(value);
    }
    // Merge keys (YAML 1.1 <<, which kubectl honours): keys written in this mapping win, then
    // earlier merged mappings over later ones.
    for (const YAML::Node& merge : merges) {
      std::vector<YAML::Node> sources;
      if (merge.IsSequence()) {
        for (const YAML::Node& item : merge) sources.push_back(item);
      } else {
        sources.push_back(merge);
      }
      for (const YAML::Node& source : sources) {
        if (!source.IsMap()) return Fail(source, "merge key (<<) needs a mapping");
        json merged;
        if (!Convert(source, depth + 1, merged)) return false;
        for (auto& [k, v] : merged.items()) {
          if (!out.contains(k)) out[k] = v;
        }
      }
    }
    return true;
  }

  size_t nodes_ = 0;
  ConvertError error_{0, ""};
};

// yaml-cpp 0.7 loops forever, making empty documents, on a token that no node can start with at
// the top of a document (a stray ',' as in ",", "- a\n," or "---\n,"): the parser ends each
// document without consuming that token. A stream holds at most one document more than it has
// "---" and "..." markers, so a first pass that builds nothing counts the documents and stops
// there (tests/fuzz/corpus/kubernetes_objects/crash-yaml-stray-comma).
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents;
    last = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  size_t documents = 0;
  YAML::Mark last = YAML::Mark::null_mark();
};

// Whether yaml-cpp would stop on `text`; if not, `result` says where it went wrong. Throws what
// yaml-cpp throws.
bool DocumentsEnd(std::string_view text, YamlParseResult& result) {
  size_t limit = 1;
  for (std::string_view marker : {"---", "..."}) {
    for (size_t at = text.find(marker); at != std::string_view::npos;
         at = text.find(marker, at + 1)) {
      ++limit;
    }
  }
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (parser.HandleNextDocument(counter)) {
    if (counter.documents > limit) {
      result.ok = false;
      result.line = counter.last.is_null() ? 0 : counter.last.line + 1;
      result.error = "unexpected token where a document or node should start (a stray ',')";
      return false;
    }
  }
  return true;
}

}  // namespace

json ResolvePlainScalar(const std::string& text) {
  if (IsNull(text)) return nullptr;
  if (auto b = ParseBool(text)) return *b;
  if (auto i = ParseInt(text)) return *i;
  if (auto f = ParseFloat(text)) return *f;
  return text;
}

YamlParseResult YamlToJson(std::string_view text) noexcept {
  YamlParseResult result;
  try {
    if (!DocumentsEnd(text, result)) return result;
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    result.documents.reserve(docs.size());
    for (const YAML::Node& doc : docs) {
      Converter converter;
      YamlDocument out;
      out.line = doc.Mark().is_null() ? 0 : doc.Mark().line + 1;
      if (!converter.Convert(doc, 0, out.value)) {
        result.ok = false;
        result.line = converter.error().line;
        result.error = converter.error().message;
        result.documents.clear();
        return result;
      }
      result.documents.push_back(std::move(out));
    }
  } catch (const YAML::Exception& e) {
    result = YamlParseResult{};
    result.ok = false;
    result.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    result.error = e.msg.empty() ? std::string(e.what()) : e.msg;
  } catch (const std::exception& e) {
    result = YamlParseResult{};
    result.ok = false;
    result.error = e.what();
  }
  return result;
}

}  // namespace petdns::plugins::kubernetes
