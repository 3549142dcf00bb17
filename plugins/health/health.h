// The health plugin's endpoint: GET /health answers 200 "OK" while the process runs — during the
// lame-duck period too, as CoreDNS does (the ready plugin is what turns 503 then). Process-wide:
// Setup returns no chain plugin. Runs on the main loop (the HTTP server's).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "server/http/http_server.h"

namespace petdns::plugins::health {

// The response to one request for `path`.
http::HttpResponse HealthResponse(std::string_view path);

// What the server keeps for one [server.health] listen address.
struct HealthEndpoint {
  std::unique_ptr<http::HttpServer> server;
};

}  // namespace petdns::plugins::health
