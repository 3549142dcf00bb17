#include "server/wire/name.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace petdns::wire {
namespace {

constexpr char ToLower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

}  // namespace

bool ReadName(std::span<const uint8_t> message, size_t& offset, NameBuffer& out) noexcept {
  size_t pos = offset;
  size_t end_of_name = 0;  // where the caller's offset resumes: after the first pointer, if any
  bool jumped = false;
  size_t lowest_target = pos;  // pointers must point strictly before every earlier position
  size_t length = 0;
  for (;;) {
    if (pos >= message.size()) return false;
    uint8_t label = message[pos];
    if ((label & 0xC0) == 0xC0) {
      if (pos + 1 >= message.size()) return false;
      size_t target = (size_t{label & 0x3Fu} << 8) | message[pos + 1];
      if (target >= lowest_target) return false;  // forward or self pointer: a possible loop
      if (!jumped) end_of_name = pos + 2;
      jumped = true;
      lowest_target = target;
      pos = target;
      continue;
    }
    if ((label & 0xC0) != 0) return false;  // 0x40 / 0x80: reserved and obsolete label types
    if (length + 1 + label > kMaxNameLength) return false;
    if (pos + 1 + label > message.size()) return false;
    std::memcpy(out.bytes.data() + length, message.data() + pos, 1 + label);
    length += 1 + label;
    pos += 1 + label;
    if (label == 0) break;
  }
  out.length = static_cast<uint8_t>(length);
  offset = jumped ? end_of_name : pos;
  return true;
}

void LowerNameInPlace(std::span<char> name) noexcept {
  for (char& c : name) c = ToLower(c);
}

std::string LowerName(std::string_view name) {
  std::string out(name);
  LowerNameInPlace(std::span<char>(out.data(), out.size()));
  return out;
}

bool NamesEqual(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

bool IsSubdomain(std::string_view name, std::string_view zone) noexcept {
  if (zone.size() > name.size()) return false;
  // Walk label starts of `name` until the remaining suffix has the zone's length.
  size_t pos = 0;
  while (name.size() - pos > zone.size()) {
    pos += 1 + static_cast<uint8_t>(name[pos]);
  }
  return name.size() - pos == zone.size() && name.substr(pos) == zone;
}

int LabelCount(std::string_view name) noexcept {
  int count = 0;
  size_t pos = 0;
  while (pos < name.size() && name[pos] != 0) {
    pos += 1 + static_cast<uint8_t>(name[pos]);
    ++count;
  }
  return count;
}

std::string_view StripLabels(std::string_view name, int n) noexcept {
  size_t pos = 0;
  for (int i = 0; i < n && pos < name.size() && name[pos] != 0; ++i) {
    pos += 1 + static_cast<uint8_t>(name[pos]);
  }
  return name.substr(pos);
}

Result<std::string> NameFromText(std::string_view text, std::string_view origin) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty name");
  if (text == ".") return std::string(kRootName);
  std::string wire;
  std::string label;
  bool absolute = false;
  auto flush = [&]() -> Status {
    if (label.empty())
      return MakeError(ErrorCode::kInvalidArgument, "empty label in '" + std::string(text) + "'");
    if (label.size() > kMaxLabelLength) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "label longer than 63 bytes in '" + std::string(text) + "'");
    }
    wire.push_back(static_cast<char>(label.size()));
    wire += label;
    label.clear();
    return {};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
        int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255)
          return MakeError(ErrorCode::kInvalidArgument,
                           "bad escape in '" + std::string(text) + "'");
        label.push_back(static_cast<char>(v));
        i += 3;
      } else if (i + 1 < text.size()) {
        label.push_back(text[++i]);
      } else {
        return MakeError(ErrorCode::kInvalidArgument,
                         "dangling backslash in '" + std::string(text) + "'");
      }
    } else if (c == '.') {
      if (auto st = flush(); !st) return st.error();
      if (i + 1 == text.size()) absolute = true;
    } else {
      label.push_back(c);
    }
  }
  if (!absolute) {
    if (auto st = flush(); !st) return st.error();
    if (origin.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "relative name '" + std::string(text) + "' without an origin");
    }
    wire += origin;
  } else {
    wire.push_back('\0');
  }
  if (wire.size() > kMaxNameLength) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "name longer than 255 bytes: '" + std::string(text) + "'");
  }
  return wire;
}

std::string NameToText(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return ".";
  std::string out;
  size_t pos = 0;
  while (pos < wire.size() && wire[pos] != 0) {
    size_t len = static_cast<uint8_t>(wire[pos]);
    for (size_t i = pos + 1; i <= pos + len && i < wire.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(wire[i]);
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' ||
          c == '$') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c <= 0x20 || c >= 0x7f) {
        char esc[5];
        std::snprintf(esc, sizeof(esc), "\\%03u", c);
        out += esc;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
    pos += 1 + len;
  }
  return out;
}

}  // namespace petdns::wire
