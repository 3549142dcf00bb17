// Parses a Corefile into server blocks and directives (corefile.h). Snippets, `(name) { ... }`,
// are expanded where `import name` names them; an import of a file is kept as an Issue, not read.
// `{$VAR}`, `{%VAR%}` and `__PILLAR__X__` placeholders are kept as text and reported as Issues.
// Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

#include "server/common/error.h"
#include "server/corefile/corefile.h"

namespace petdns::corefile {

// A kParse Error "FILE:LINE: message" for text that is not a Corefile: an unclosed `{`, a stray
// `}`, keys without a block, an unterminated quote, an import cycle.
[[nodiscard]] Result<Corefile> ParseCorefile(std::string_view text, const std::string& file);

}  // namespace petdns::corefile
