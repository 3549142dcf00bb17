#include "plugins/health/health.h"

namespace petdns::plugins::health {

http::HttpResponse HealthResponse(std::string_view path) {
  if (path != "/health") return {404, "404 page not found\n"};
  return {200, "OK"};
}

}  // namespace petdns::plugins::health
