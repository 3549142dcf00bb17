// The syntax tree of a CoreDNS Corefile, as `petdns convert-corefile` reads it, and the Issue type
// that names what could not be converted. Plain values; built and read on the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace petdns::corefile {

// One word of the Corefile. Quotes are removed from `text`; `quoted` remembers them so a quoted
// "{" is a word, not a block.
struct Token {
  std::string text;
  uint32_t line = 0;
  bool quoted = false;
  bool starts_line = false;  // the first token of its line: directives are one per line
};

// `name args... [{ body }]`: a plugin line in a server block, or an option line inside a plugin's
// block (`ttl 30`, `success 9984 30`), which may nest further.
struct Directive {
  std::string name;
  uint32_t line = 0;
  std::vector<Token> args;
  std::vector<Directive> body;
  bool has_body = false;  // `{ }` was written, even if empty
};

// `key [key...] { directives }`: keys such as ".:53", "dns://cluster.local:53", "example.org".
struct ServerBlock {
  std::vector<Token> keys;
  uint32_t line = 0;
  std::vector<Directive> directives;
};

// Something left out of the conversion: printed as "FILE:LINE: subject: not converted (reason)"
// and written into the TOML as a comment.
struct Issue {
  uint32_t line = 0;
  std::string subject;  // "loop", "kubernetes labels", "{$DNS_PORT}"
  std::string reason;
};

struct Corefile {
  std::vector<ServerBlock> blocks;
  std::vector<Issue> issues;  // found while parsing: env placeholders, file imports
};

// "Corefile:12: loop: not converted (no petdns equivalent)".
std::string FormatIssue(const std::string& file, const Issue& issue);

}  // namespace petdns::corefile
