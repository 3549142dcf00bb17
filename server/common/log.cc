#include "server/common/log.h"

#include <unistd.h>

#include <array>
#include <cstring>

namespace petdns::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

constexpr std::string_view LevelTag(Level level) {
  switch (level) {
    case Level::kDebug:
      return "[DEBUG] ";
    case Level::kInfo:
      return "[INFO] ";
    case Level::kWarning:
      return "[WARNING] ";
    case Level::kError:
      return "[ERROR] ";
  }
  return "[?] ";
}

}  // namespace

void SetLevel(Level level) noexcept { g_level.store(level, std::memory_order_relaxed); }

bool Enabled(Level level) noexcept { return level >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view prefix, std::string_view message) noexcept {
  if (!Enabled(level)) return;
  // One write(2) per line so lines from several threads never interleave; long lines are cut.
  std::array<char, 2048> line;
  size_t n = 0;
  auto append = [&](std::string_view s) {
    size_t take = std::min(s.size(), line.size() - 1 - n);
    std::memcpy(line.data() + n, s.data(), take);
    n += take;
  };
  append(LevelTag(level));
  if (!prefix.empty()) {
    append(prefix);
    append(": ");
  }
  append(message);
  line[n++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), n);
  (void)ignored;
}

}  // namespace petdns::log
