// Minimal leveled logging to stderr, one line per call, safe from any thread.
// Lines look like "[INFO] plugin/file: example.org.: loaded 12 records"; CoreDNS-style prefixes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace petdns::log {

enum class Level : uint8_t { kDebug, kInfo, kWarning, kError };

void SetLevel(Level level) noexcept;
bool Enabled(Level level) noexcept;
// Writes one line; the prefix names the component ("plugin/file", "server").
void Write(Level level, std::string_view prefix, std::string_view message) noexcept;

inline void Info(std::string_view prefix, std::string_view message) noexcept {
  Write(Level::kInfo, prefix, message);
}
inline void Warning(std::string_view prefix, std::string_view message) noexcept {
  Write(Level::kWarning, prefix, message);
}
inline void Error(std::string_view prefix, std::string_view message) noexcept {
  Write(Level::kError, prefix, message);
}
inline void Debug(std::string_view prefix, std::string_view message) noexcept {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, prefix, message);
}

}  // namespace petdns::log
