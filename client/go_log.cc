#include "client/go_log.h"

#include <cstdio>
#include <ctime>

namespace petdns::client {

void GoLogger::Print(std::string_view message) { sink_(Format(clock_.WallNow(), message)); }

std::string GoLogger::Format(std::chrono::system_clock::time_point t, std::string_view message) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  int n =
      std::snprintf(stamp, sizeof(stamp), "%04d/%02d/%02d %02d:%02d:%02d ", local.tm_year + 1900,
                    local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec);
  std::string out(stamp, n > 0 ? static_cast<size_t>(n) : 0);
  out.append(message);
  if (message.empty() || message.back() != '\n') out.push_back('\n');
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(items[i]);
  }
  return out;
}

std::string GoList(const std::vector<std::string>& items) { return "[" + Join(items, " ") + "]"; }

}  // namespace petdns::client
