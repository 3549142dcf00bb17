#include "server/corefile/toml_document.h"

#include <cstdio>

namespace petdns::corefile {
namespace {

void AppendComment(std::string& out, std::string_view comment) {
  out += "# ";
  for (char c : comment) out += c == '\n' ? ' ' : c;  // a comment must stay on its line
  out += '\n';
}

}  // namespace

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string TomlStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += TomlString(items[i]);
  }
  out += ']';
  return out;
}

std::string TomlDuration(int64_t milliseconds) {
  if (milliseconds == 0) return "\"0s\"";
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  for (const Unit& unit : {Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1'000, "s"}}) {
    if (milliseconds % unit.ms == 0) {
      return "\"" + std::to_string(milliseconds / unit.ms) + unit.suffix + "\"";
    }
  }
  return "\"" + std::to_string(milliseconds) + "ms\"";
}

std::string RenderToml(const TomlDocument& document) {
  std::string out;
  for (const std::string& line : document.header) AppendComment(out, line);
  for (const TomlServer& server : document.servers) {
    if (!out.empty()) out += '\n';
    for (const std::string& line : server.comments) AppendComment(out, line);
    out += "[[server]]\n";
    out += "listen = " + TomlStringArray(server.listen) + "\n";
    out += "zones = " + TomlStringArray(server.zones) + "\n";
    for (const TomlTable& table : server.plugins) {
      out += "\n[server." + table.plugin + "]\n";
      for (const std::string& line : table.comments) AppendComment(out, line);
      for (const TomlKey& key : table.keys) {
        out += key.key + " = " + key.value;
        if (!key.comment.empty()) out += "  # " + key.comment;
        out += '\n';
      }
    }
  }
  return out;
}

}  // namespace petdns::corefile
