// Asynchronous DNS exchanges with upstream servers for plugins (forward), without <uv.h>: one
// query out, one response back, over UDP or TCP (2-byte length framing), bounded by a timeout.
// NewLoopDnsTransport implements it over a uv::Loop. Every method is called, and every callback
// runs, on the thread of the loop that drives the transport.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "server/common/error.h"

namespace petdns::uv {

class Loop;

// One query in flight. Destroying it cancels the exchange: its callback never runs afterwards.
// Destroying it from inside its own callback is allowed.
class DnsExchange {
 public:
  virtual ~DnsExchange() = default;
};

class DnsTransport {
 public:
  // The response (at least a header, with the query's ID and QR set), or an Error: kUnavailable
  // for a timeout, kIo for socket errors, kParse for a malformed TCP frame.
  using Done = std::function<void(Result<std::vector<uint8_t>> response)>;

  virtual ~DnsTransport() = default;
  // Sends `query` (a complete DNS message; its ID is matched against responses) to `upstream`
  // over TCP when `tcp`, else UDP. `done` runs exactly once, later on the loop (never inside
  // Send), unless the exchange is destroyed first. An Error here means nothing was started.
  // Over UDP, datagrams whose ID does not match are ignored (stale or spoofed answers).
  [[nodiscard]] virtual Result<std::unique_ptr<DnsExchange>> Send(const sockaddr_storage& upstream,
                                                                  bool tcp,
                                                                  std::span<const uint8_t> query,
                                                                  std::chrono::milliseconds timeout,
                                                                  Done done) = 0;
};

// A transport driven by `loop` (which must outlive it and every exchange it started). Exchanges
// still alive when the loop ends are closed by the loop.
std::unique_ptr<DnsTransport> NewLoopDnsTransport(Loop& loop);

}  // namespace petdns::uv
