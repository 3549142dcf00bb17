// The ready plugin's endpoint: GET /ready answers 200 "OK" when every chain plugin of every block
// is ready (ProcessHooks::Readiness), else 503 with the names of those that are not, one per line;
// 503 "Shutting down" once the lame-duck period began. Runs on the main loop.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "server/chain/process_hooks.h"
#include "server/http/http_server.h"

namespace petdns::plugins::ready {

// The response to one request for `path`, given every plugin's readiness.
http::HttpResponse ReadyResponse(std::string_view path,
                                 const std::vector<chain::PluginReadiness>& readiness,
                                 bool shutting_down);

// What the server keeps for one [server.ready] listen address.
struct ReadyEndpoint {
  chain::ProcessHooks* process = nullptr;  // the server; outlives the kept endpoint
  bool shutting_down = false;
  std::unique_ptr<http::HttpServer> server;
};

}  // namespace petdns::plugins::ready
