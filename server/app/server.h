// The running server: builds every server block's plugin chain from a Config, opens UDP and TCP
// listeners on each listen address (blocks sharing an address share a Dispatcher), and runs the
// main loop until SIGTERM/SIGINT. This is the glue between config, chain and listener; it keeps
// libuv out of its header. Main thread only.
#pragma once

#include <memory>
#include <string>

#include "server/common/error.h"
#include "server/config/config.h"

namespace petdns::app {

class Server {
 public:
  // Sets up plugins (loading their data) and binds every listener. Errors are ready to print.
  [[nodiscard]] static Result<std::unique_ptr<Server>> Create(config::Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until SIGTERM or SIGINT (or Stop), then shuts down gracefully. Returns the exit code.
  int Run();
  // Asks Run to return (main loop thread only).
  void Stop();

  // The first listen address's bound UDP/TCP ports (tests bind port 0).
  uint16_t udp_port() const;
  uint16_t tcp_port() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `petdns check`: loads the config and every plugin's data without opening sockets. Returns OK or
// an Error holding every problem, one per line, each naming file:line.
[[nodiscard]] Status CheckConfig(const std::string& path);

}  // namespace petdns::app
