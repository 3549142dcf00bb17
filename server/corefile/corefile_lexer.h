// Splits Corefile text into words, as CoreDNS's (Caddy's) lexer does: whitespace separates words,
// `#` starts a comment to the end of the line, a word that begins with `"` runs to the next
// unescaped `"` (across lines, `\"` inside is a quote). Pure function; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"
#include "server/corefile/corefile.h"

namespace petdns::corefile {

// Error "FILE:LINE: unterminated quoted string" when a quote never closes.
[[nodiscard]] Result<std::vector<Token>> Tokenize(std::string_view text, const std::string& file);

}  // namespace petdns::corefile
