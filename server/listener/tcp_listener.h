// TcpListener: DNS over TCP (RFC 1035 §4.2.2, RFC 7766) on one worker loop. Each connection reads
// 2-byte length-prefixed frames (pipelined and split frames both work), calls the PacketHandler
// once per frame in order, and writes every response as one length-prefixed frame. All methods, and
// the handler, run on the thread of the loop passed to the constructor.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "server/common/error.h"
#include "server/listener/packet_handler.h"
#include "server/uv/handle.h"

namespace petdns::listener {

struct TcpListenerOptions {
  // A connection with no complete frame for this long is closed.
  std::chrono::milliseconds idle_timeout{10'000};
  // Connections beyond this are accepted and closed at once (counted in rejected_over_limit).
  size_t max_connections = 1024;
  // When more response bytes than this wait to be written on a connection (the client does not
  // read its answers), the connection stops handling queries and reading; queries already read are
  // kept, and both resume once every queued write completed.
  size_t max_pending_output_bytes = 256 * 1024;
  // Time allowed to complete a frame once its first byte arrived (slow-loris guard);
  // zero means idle_timeout.
  std::chrono::milliseconds read_timeout{0};
  bool reuse_port = false;  // SO_REUSEPORT, so several workers can bind the same address
  int backlog = 128;
};

class TcpListener {
 public:
  // `loop` and `handler` must outlive the listener.
  TcpListener(uv_loop_t* loop, PacketHandler& handler, TcpListenerOptions options = {});
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Binds `address` (IPv6 sockets are IPv6-only) and listens. Errors read
  // "listen tcp 127.0.0.1:53: address already in use".
  [[nodiscard]] Status Start(const sockaddr* address);
  // Stops accepting and closes every connection at once: responses still queued for writing are
  // dropped (uv_close cancels them). Not to be called from inside HandlePacket.
  void Stop() noexcept;
  // The bound port (useful after binding port 0); 0 when not listening.
  uint16_t LocalPort() const noexcept;

  size_t connections() const noexcept { return connections_.size(); }
  uint64_t accepted() const noexcept { return accepted_; }
  uint64_t rejected_over_limit() const noexcept { return rejected_over_limit_; }
  // Connections closed by the idle timeout or the partial-frame read timeout.
  uint64_t closed_idle() const noexcept { return closed_idle_; }
  uint64_t frames() const noexcept { return frames_; }

 private:
  class Connection;

  static void OnConnection(uv_stream_t* server, int status) noexcept;
  void Accept() noexcept;
  // Accepts the pending connection and closes it at once. True if there was one.
  bool Reject() noexcept;
  // Destroys a connection whose handles are closed. Called only from static libuv callbacks,
  // never while one of the connection's methods is on the stack.
  void Remove(Connection* connection) noexcept;

  uv_loop_t* loop_;
  PacketHandler& handler_;
  TcpListenerOptions options_;
  // Shared by all connections: libuv reads into it right after OnAlloc and hands the bytes to
  // that connection's read callback before the next OnAlloc; bytes that must outlive the callback
  // (a partial frame) are copied into the connection.
  std::unique_ptr<char[]> read_buffer_;
  uv::Handle<uv_tcp_t> server_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  uint64_t accepted_ = 0;
  uint64_t rejected_over_limit_ = 0;
  uint64_t closed_idle_ = 0;
  uint64_t frames_ = 0;
};

}  // namespace petdns::listener
