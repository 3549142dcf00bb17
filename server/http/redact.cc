#include "server/http/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace petdns::http {
namespace {

constexpr std::string_view kRedacted = "REDACTED";

bool StartsWithNoCase(std::string_view text, size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != prefix[i]) return false;
  }
  return true;
}

bool IsTokenEnd(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"' || c == '\'' || c == ',';
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t authority = scheme + 3;
  const size_t end = std::min(url.find_first_of("/?#", authority), url.size());
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  std::string out(url.substr(0, authority));
  out += kRedacted;
  out += url.substr(at);
  return out;
}

std::string RedactCredentials(std::string_view text) {
  // Lower-case prefixes after which a secret follows up to the next blank or quote.
  constexpr std::array<std::string_view, 3> kPrefixes = {"bearer ", "basic ", "authorization:"};
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (std::string_view prefix : kPrefixes) {
      if (!StartsWithNoCase(text, i, prefix)) continue;
      out.append(text.substr(i, prefix.size()));
      i += prefix.size();
      while (i < text.size() && text[i] == ' ') out += text[i++];
      // "Authorization: Bearer x" — let the scheme word through, then redact the credential.
      if (prefix == "authorization:" &&
          (StartsWithNoCase(text, i, "bearer ") || StartsWithNoCase(text, i, "basic "))) {
        matched = true;
        break;
      }
      while (i < text.size() && !IsTokenEnd(text[i])) ++i;
      out += kRedacted;
      matched = true;
      break;
    }
    if (!matched) out += text[i++];
  }
  return out;
}

}  // namespace petdns::http
