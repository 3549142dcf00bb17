#include "server/corefile/corefile_lexer.h"

namespace petdns::corefile {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'; }

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text, const std::string& file) {
  std::vector<Token> tokens;
  uint32_t line = 1;
  uint32_t last_token_line = 0;  // where the previous token ended; 0 before the first
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (c == '#') {  // a comment, also right after a word ("forward . 1.1.1.1#dns")
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    Token token;
    token.line = line;
    token.starts_line = line != last_token_line;
    if (c == '"') {
      token.quoted = true;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char q = text[i];
        if (q == '\\' && i + 1 < text.size() && text[i + 1] == '"') {
          token.text += '"';  // only quotes are escaped; other backslashes stay as written
          i += 2;
          continue;
        }
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (q == '\n') ++line;
        token.text += q;
        ++i;
      }
      if (!closed) {
        return MakeError(ErrorCode::kParse,
                         file + ":" + std::to_string(token.line) + ": unterminated quoted string");
      }
    } else {
      while (i < text.size() && !IsSpace(text[i]) && text[i] != '#') token.text += text[i++];
    }
    last_token_line = line;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace petdns::corefile
