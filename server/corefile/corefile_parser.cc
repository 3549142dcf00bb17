#include "server/corefile/corefile_parser.h"

#include <cctype>
#include <map>
#include <set>
#include <utility>

#include "server/corefile/corefile_lexer.h"

namespace petdns::corefile {
namespace {

// Deeper nesting than any plugin uses; the limit keeps hostile input from exhausting the stack.
constexpr int kMaxNesting = 16;
constexpr int kMaxImportDepth = 10;

bool IsOpen(const Token& t) { return !t.quoted && t.text == "{"; }
bool IsClose(const Token& t) { return !t.quoted && t.text == "}"; }

bool IsSnippetName(const Token& t) {
  return !t.quoted && t.text.size() > 2 && t.text.front() == '(' && t.text.back() == ')';
}

// The tokens of the line that starts at `begin`: up to the next token that starts a line.
size_t EndOfLine(const std::vector<Token>& tokens, size_t begin) {
  size_t end = begin + 1;
  while (end < tokens.size() && !tokens[end].starts_line) ++end;
  return end;
}

class Parser {
 public:
  Parser(std::string file, Corefile& out) : file_(std::move(file)), out_(out) {}

  Status Run(std::vector<Token> raw) {
    auto without_snippets = CollectSnippets(std::move(raw));
    if (!without_snippets) return without_snippets.error();
    std::vector<Token> tokens;
    if (Status st = Expand(*without_snippets, 0, tokens); !st) return st;
    ReportPlaceholders(tokens);
    tokens_ = std::move(tokens);
    return ParseTopLevel();
  }

 private:
  Error Fail(uint32_t line, const std::string& message) const {
    return Error{ErrorCode::kParse, file_ + ":" + std::to_string(line) + ": " + message};
  }

  // Removes `(name) { ... }` definitions from the top level and remembers their bodies.
  Result<std::vector<Token>> CollectSnippets(std::vector<Token> raw) {
    std::vector<Token> rest;
    int depth = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      const Token& t = raw[i];
      if (depth == 0 && t.starts_line && IsSnippetName(t) && i + 1 < raw.size() &&
          IsOpen(raw[i + 1])) {
        const std::string name = t.text.substr(1, t.text.size() - 2);
        if (snippets_.count(name) != 0) {
          return Fail(t.line, "snippet '" + name + "' is defined twice");
        }
        size_t j = i + 2;
        int inner = 1;
        std::vector<Token> body;
        for (; j < raw.size(); ++j) {
          if (IsOpen(raw[j])) ++inner;
          if (IsClose(raw[j]) && --inner == 0) break;
          body.push_back(raw[j]);
        }
        if (j == raw.size()) return Fail(t.line, "snippet '" + name + "' is never closed");
        if (!body.empty()) body.front().starts_line = true;
        snippets_.emplace(name, std::move(body));
        i = j;
        continue;
      }
      if (IsOpen(t)) ++depth;
      if (IsClose(t) && depth > 0) --depth;
      rest.push_back(t);
    }
    return rest;
  }

  // Copies `in` to `out`, replacing each `import <snippet>` line with the snippet's tokens.
  Status Expand(const std::vector<Token>& in, int depth, std::vector<Token>& out) {
    for (size_t i = 0; i < in.size();) {
      const Token& t = in[i];
      const size_t end = EndOfLine(in, i);
      if (t.starts_line && !t.quoted && t.text == "import" && i + 1 < end) {
        auto snippet = snippets_.find(in[i + 1].text);
        if (snippet != snippets_.end()) {
          if (depth >= kMaxImportDepth) {
            return Fail(t.line, "imports nested deeper than " + std::to_string(kMaxImportDepth) +
                                    " (an import cycle?)");
          }
          if (end > i + 2) {
            out_.issues.push_back(
                Issue{t.line, "import " + in[i + 1].text + " arguments",
                      "snippet arguments ({args[N]}) are not substituted; the snippet is used "
                      "as written"});
          }
          if (Status st = Expand(snippet->second, depth + 1, out); !st) return st;
          i = end;
          continue;
        }
      }
      out.push_back(t);
      ++i;
    }
    return {};
  }

  // CoreDNS replaces {$VAR} and {%VAR%} before parsing, and the NodeLocal DNSCache manifest has
  // its __PILLAR__NAME__ values filled in before deployment; petdns keeps them as text and says
  // so, once per placeholder.
  void ReportPlaceholders(const std::vector<Token>& tokens) {
    std::set<std::string> seen;
    auto report = [&](uint32_t line, std::string placeholder, bool pillar) {
      if (!seen.insert(placeholder).second) return;
      out_.issues.push_back(Issue{
          line, std::move(placeholder),
          pillar ? "template placeholder kept as text; substitute the __PILLAR__ values before "
                   "converting, as --help shows"
                 : "environment variable kept as text; CoreDNS substitutes it at start-up, "
                   "petdns does not"});
    };
    for (const Token& t : tokens) {
      const std::string& text = t.text;
      for (size_t at = 0; at < text.size(); ++at) {
        if (text.compare(at, 2, "{$") == 0 || text.compare(at, 2, "{%") == 0) {
          const std::string_view close = text[at + 1] == '$' ? "}" : "%}";
          const size_t end = text.find(close, at + 2);
          if (end == std::string::npos) continue;
          report(t.line, text.substr(at, end + close.size() - at), false);
          at = end;
        } else if (text.compare(at, 10, "__PILLAR__") == 0) {
          size_t end = at;
          while (end < text.size() &&
                 (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
            ++end;
          }
          report(t.line, text.substr(at, end - at), true);
          at = end - 1;
        }
      }
    }
  }

  Status ParseTopLevel() {
    while (pos_ < tokens_.size()) {
      const Token& first = tokens_[pos_];
      if (IsClose(first)) return Fail(first.line, "unexpected '}'");
      if (first.starts_line && !first.quoted && first.text == "import") {
        const size_t end = EndOfLine(tokens_, pos_);
        out_.issues.push_back(Issue{first.line,
                                    "import " + (end > pos_ + 1 ? tokens_[pos_ + 1].text : ""),
                                    "imported files are not read; convert them separately"});
        pos_ = end;
        continue;
      }
      ServerBlock block;
      block.line = first.line;
      while (pos_ < tokens_.size() && !IsOpen(tokens_[pos_])) {
        const Token& key = tokens_[pos_++];
        if (IsClose(key)) return Fail(key.line, "unexpected '}'");
        // "a.org, b.org {": commas separate keys too.
        size_t start = 0;
        while (start <= key.text.size()) {
          size_t comma = key.text.find(',', start);
          if (comma == std::string::npos) comma = key.text.size();
          if (comma > start) {
            block.keys.push_back(
                Token{key.text.substr(start, comma - start), key.line, key.quoted, false});
          }
          start = comma + 1;
        }
      }
      if (pos_ == tokens_.size()) {
        return Fail(block.line, "expected '{' after the server block keys");
      }
      if (block.keys.empty()) return Fail(tokens_[pos_].line, "a server block needs a key");
      const uint32_t open_line = tokens_[pos_++].line;
      auto body = ParseBody(open_line, 1);
      if (!body) return body.error();
      block.directives = std::move(*body);
      out_.blocks.push_back(std::move(block));
    }
    return {};
  }

  // Directives up to the `}` that closes the `{` on `open_line`; consumes that `}`.
  Result<std::vector<Directive>> ParseBody(uint32_t open_line, int depth) {
    if (depth > kMaxNesting) return Fail(open_line, "blocks nested too deeply");
    std::vector<Directive> out;
    while (true) {
      if (pos_ >= tokens_.size()) return Fail(open_line, "'{' is never closed");
      const Token& first = tokens_[pos_];
      if (IsClose(first)) {
        ++pos_;
        return out;
      }
      if (IsOpen(first)) return Fail(first.line, "unexpected '{'");
      Directive d;
      d.name = first.text;
      d.line = first.line;
      ++pos_;
      while (pos_ < tokens_.size() && !tokens_[pos_].starts_line && !IsClose(tokens_[pos_])) {
        const Token& t = tokens_[pos_];
        if (IsOpen(t)) {
          ++pos_;
          auto body = ParseBody(t.line, depth + 1);
          if (!body) return body.error();
          d.body = std::move(*body);
          d.has_body = true;
          break;
        }
        d.args.push_back(t);
        ++pos_;
      }
      out.push_back(std::move(d));
    }
  }

  std::string file_;
  Corefile& out_;
  std::map<std::string, std::vector<Token>> snippets_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

Result<Corefile> ParseCorefile(std::string_view text, const std::string& file) {
  auto tokens = Tokenize(text, file);
  if (!tokens) return tokens.error();
  Corefile out;
  Parser parser(file, out);
  if (Status st = parser.Run(std::move(*tokens)); !st) return st.error();
  return out;
}

}  // namespace petdns::corefile
