#include "plugins/ready/ready.h"

#include <algorithm>

namespace petdns::plugins::ready {

http::HttpResponse ReadyResponse(std::string_view path,
                                 const std::vector<chain::PluginReadiness>& readiness,
                                 bool shutting_down) {
  if (path != "/ready") return {404, "404 page not found\n"};
  if (shutting_down) return {503, "Shutting down"};
  std::vector<std::string_view> waiting;
  for (const chain::PluginReadiness& r : readiness) {
    if (!r.ready && std::find(waiting.begin(), waiting.end(), r.plugin) == waiting.end()) {
      waiting.push_back(r.plugin);
    }
  }
  if (waiting.empty()) return {200, "OK"};
  http::HttpResponse out{503, ""};
  for (std::string_view name : waiting) out.body.append(name).append("\n");
  return out;
}

}  // namespace petdns::plugins::ready
