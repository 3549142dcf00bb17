// Small text helpers shared by the list and watch stream parsers.
#pragma once

#include <string>
#include <string_view>

namespace petdns::plugins::kubernetes::api {

// JSON whitespace (RFC 8259 §2).
inline bool IsJsonSpace(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Whether a JSON scanner stands inside a string literal. Open() at the opening quote; then Step()
// takes each character of the string, escapes included, and says when the closing quote came.
struct JsonString {
  bool inside = false;
  bool escaped = false;

  void Open() noexcept { inside = true; }
  bool Step(char c) noexcept {
    if (escaped) {
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '"') {
      inside = false;
      return true;
    }
    return false;
  }
};

// A short, printable excerpt of bad input for error messages.
inline std::string Excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out.push_back(c >= 0x20 && c < 0x7f ? c : '.');
  if (s.size() > 60) out += "…";
  return out;
}

}  // namespace petdns::plugins::kubernetes::api
