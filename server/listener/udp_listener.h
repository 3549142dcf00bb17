// UdpListener: one UDP socket on one worker loop. Receives in recvmmsg batches into a buffer owned
// by the listener and calls a PacketHandler for every datagram; replies go back to the sender with
// uv_udp_try_send (uv_udp_send when the socket would block). All methods, and the handler, run on
// the thread of the loop passed to the constructor.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>

#include "server/common/error.h"
#include "server/listener/packet_handler.h"
#include "server/uv/handle.h"

namespace petdns::listener {

struct UdpListenerOptions {
  bool reuse_port = false;  // SO_REUSEPORT, so several workers can bind the same address
};

class UdpListener {
 public:
  // `loop` and `handler` must outlive the listener.
  UdpListener(uv_loop_t* loop, PacketHandler& handler, UdpListenerOptions options = {});
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Binds `address` (sockaddr_in or sockaddr_in6; IPv6 sockets are IPv6-only) and starts
  // receiving. Errors read "listen udp 127.0.0.1:53: address already in use".
  [[nodiscard]] Status Start(const sockaddr* address);
  // Closes the socket. Queued sends are cancelled. Not to be called from inside HandlePacket.
  void Stop() noexcept;
  // The bound port (useful after binding port 0); 0 when not listening.
  uint16_t LocalPort() const noexcept;

  // Sends `message` to `peer` now (used by retained sinks for late answers).
  void Reply(std::span<const uint8_t> message, const sockaddr* peer) noexcept;

  uint64_t received() const noexcept { return received_; }
  uint64_t sent() const noexcept { return sent_; }
  uint64_t dropped_send_errors() const noexcept { return dropped_send_errors_; }

 private:
  // Sends to the source of the datagram being handled.
  class Sink final : public ResponseSink {
   public:
    explicit Sink(UdpListener& owner) : owner_(owner) {}
    void Send(std::span<const uint8_t> message) noexcept override;
    std::unique_ptr<ResponseSink> Retain() noexcept override;
    void set_peer(const sockaddr* peer) noexcept { peer_ = peer; }

   private:
    UdpListener& owner_;
    const sockaddr* peer_ = nullptr;
  };

  void SendTo(std::span<const uint8_t> message, const sockaddr* peer) noexcept;
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRecv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                     unsigned flags) noexcept;
  static void OnSendDone(uv_udp_send_t* req, int status) noexcept;

  uv_loop_t* loop_;
  PacketHandler& handler_;
  UdpListenerOptions options_;
  std::unique_ptr<char[]> buffer_;  // one recvmmsg batch; reused for every batch
  Sink sink_{*this};
  uv::Handle<uv_udp_t> udp_;
  uint64_t received_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_send_errors_ = 0;
  // Retained sinks hold a weak reference: once the listener is gone they send nothing.
  std::shared_ptr<UdpListener*> self_ = std::make_shared<UdpListener*>(this);
};

}  // namespace petdns::listener
