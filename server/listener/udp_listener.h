// UdpListener: one UDP socket on one worker loop. The listener owns a non-blocking socket watched
// by a uv_poll_t; when it is readable, one recvmmsg reads up to 64 datagrams, the PacketHandler
// runs for each, and the replies it made go out together with one sendmmsg (replies the socket
// will not take yet wait in a bounded queue). All methods, and the handler, run on the thread of
// the loop passed to the constructor.
#pragma once

#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

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

  // Sends `message` to `peer` now (used by retained sinks for late answers); queued if the socket
  // would block.
  void Reply(std::span<const uint8_t> message, const sockaddr* peer) noexcept;

  uint64_t received() const noexcept { return received_; }
  uint64_t sent() const noexcept { return sent_; }
  // Replies not sent: a send error, or the queue of replies waiting for the socket was full.
  uint64_t dropped_send_errors() const noexcept { return dropped_send_errors_; }
  // Datagrams larger than a receive slot (4096 bytes): not DNS queries we answer, dropped unread.
  uint64_t dropped_truncated() const noexcept { return dropped_truncated_; }

 private:
  // Sends to the source of the datagram being handled.
  class Sink final : public ResponseSink {
   public:
    explicit Sink(UdpListener& owner) : owner_(owner) {}
    void Send(std::span<const uint8_t> message) noexcept override;
    std::unique_ptr<ResponseSink> Retain() noexcept override;
    void set_peer(const sockaddr* peer, socklen_t length) noexcept {
      peer_ = peer;
      peer_length_ = length;
    }

   private:
    UdpListener& owner_;
    const sockaddr* peer_ = nullptr;
    socklen_t peer_length_ = 0;
  };

  // Owns the socket descriptor; closes it exactly once.
  class Fd {
   public:
    Fd() = default;
    ~Fd() { Reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void Reset(int fd = -1) noexcept {
      if (fd_ >= 0) ::close(fd_);
      fd_ = fd;
    }
    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }

   private:
    int fd_ = -1;
  };

  // A reply the socket would not take yet: copied, sent when the socket is writable again.
  struct PendingSend {
    std::vector<uint8_t> bytes;
    sockaddr_storage peer;
    socklen_t peer_length;
  };

  struct Batch;  // receive and send slots for one recvmmsg/sendmmsg round (udp_listener.cc)

  static void OnPoll(uv_poll_t* poll, int status, int events) noexcept;
  // Up to a few recvmmsg batches, each answered with one sendmmsg.
  void ReadBatches() noexcept;
  // Copies a reply of the datagram being handled into the next send slot.
  void AddToBatch(std::span<const uint8_t> message, const sockaddr* peer,
                  socklen_t peer_length) noexcept;
  // Sends every reply collected in the send slots (sendmmsg); what would block is queued.
  void FlushBatch() noexcept;
  // Sends one datagram now with sendmsg, or queues it if the socket would block.
  void SendNow(std::span<const uint8_t> message, const sockaddr* peer,
               socklen_t peer_length) noexcept;
  void Enqueue(std::span<const uint8_t> message, const sockaddr* peer,
               socklen_t peer_length) noexcept;
  // Sends queued replies until the socket would block. True when the queue is empty.
  bool DrainPending() noexcept;
  // Polls for UV_WRITABLE too while replies are queued.
  void UpdatePollEvents() noexcept;

  uv_loop_t* loop_;
  PacketHandler& handler_;
  UdpListenerOptions options_;
  std::unique_ptr<Batch> batch_;  // allocated once, by the first Start
  std::deque<PendingSend> pending_;
  Sink sink_{*this};
  // Declared before poll_ so the poll handle is closed (uv_close stops polling) before the
  // descriptor is; Stop() keeps the same order.
  Fd fd_;
  uv::Handle<uv_poll_t> poll_;
  int poll_events_ = 0;  // what poll_ currently waits for
  uint64_t received_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_send_errors_ = 0;
  uint64_t dropped_truncated_ = 0;
  // Retained sinks hold a weak reference: once the listener is gone they send nothing.
  std::shared_ptr<UdpListener*> self_ = std::make_shared<UdpListener*>(this);
};

}  // namespace petdns::listener
