// The boundary between the network front ends (UDP/TCP listeners) and DNS processing.
// A listener calls PacketHandler::HandlePacket on its worker loop for every datagram or TCP frame;
// the handler writes zero or more whole DNS messages back through the ResponseSink before
// returning. No libuv types appear here, so DNS code never includes <uv.h>.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>

namespace petdns::listener {

enum class Transport : uint8_t { kUdp, kTcp };

// Who sent a packet and how. Valid only during HandlePacket.
struct ClientInfo {
  const sockaddr* address = nullptr;  // sockaddr_in or sockaddr_in6
  Transport transport = Transport::kUdp;
};

// Where responses go. UDP: one datagram to the client. TCP: one length-prefixed frame on the
// connection (AXFR sends several). Send copies or sends the bytes before it returns.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void Send(std::span<const uint8_t> message) noexcept = 0;
  // A sink for the same client that stays usable after HandlePacket returns, for answers that
  // come later (forward waits for an upstream). Sending through it once the client is gone (its
  // TCP connection closed, the listener stopped) does nothing. Null when the sink cannot.
  virtual std::unique_ptr<ResponseSink> Retain() noexcept { return nullptr; }
};

// Input a listener threw away before it became a packet, so the handler can count it.
enum class DroppedInput : uint8_t {
  kEmptyDatagram,   // a UDP datagram of zero bytes
  kUdpOversize,     // a UDP datagram larger than a receive slot
  kTcpZeroLength,   // a TCP frame with length 0: the connection is closed
  kTcpReadTimeout,  // a partial TCP frame not completed in time (slow-loris): closed
  kTcpStalled,      // answers queued and not read by the client in time: closed
};

class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // Called on the listener's loop thread. Never throws; malformed input gets FORMERR or no reply.
  virtual void HandlePacket(std::span<const uint8_t> packet, const ClientInfo& client,
                            ResponseSink& sink) noexcept = 0;
  // Called on the listener's loop thread for input dropped before HandlePacket.
  virtual void OnDroppedInput(DroppedInput /*why*/) noexcept {}
};

}  // namespace petdns::listener
