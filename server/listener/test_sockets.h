// Test-only helpers for the listener tests: a recording PacketHandler and non-blocking POSIX
// clients that drive a uv loop while they wait. Single-threaded; used by *_test.cc only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "server/listener/packet_handler.h"
#include "server/listener/socket_address.h"
#include "tests/testing/loop_runner.h"

namespace petdns::listener::test {

using Bytes = std::vector<uint8_t>;

// Records every packet and answers `replies` times with the packet reversed (or with
// `reply_size` bytes of 0xab when non-zero).
class RecordingHandler : public PacketHandler {
 public:
  void HandlePacket(std::span<const uint8_t> packet, const ClientInfo& client,
                    ResponseSink& sink) noexcept override {
    packets.emplace_back(packet.begin(), packet.end());
    transports.push_back(client.transport);
    peer_ports.push_back(PortOf(client.address));
    Bytes reply(packet.rbegin(), packet.rend());
    if (reply_size != 0) reply.assign(reply_size, 0xab);
    for (int i = 0; i < replies; ++i) {
      if (i > 0 && reply_size == 0) reply.push_back(static_cast<uint8_t>(i));  // tell them apart
      sink.Send(reply);
    }
  }
  void OnDroppedInput(DroppedInput why) noexcept override { dropped.push_back(why); }

  int replies = 1;
  size_t reply_size = 0;
  std::vector<DroppedInput> dropped;
  std::vector<Bytes> packets;
  std::vector<Transport> transports;
  std::vector<uint16_t> peer_ports;
};

inline Bytes Reversed(Bytes b) {
  std::reverse(b.begin(), b.end());
  return b;
}

inline sockaddr_storage Loopback(int family, uint16_t port) {
  auto addr = ParseSocketAddress(family == AF_INET6 ? "::1" : "127.0.0.1", port);
  return *addr;
}

inline socklen_t LengthOf(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// True when [::1] can be bound (containers often lack IPv6).
inline bool Ipv6LoopbackWorks() {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_storage ss = Loopback(AF_INET6, 0);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&ss), LengthOf(ss)) == 0;
  close(fd);
  return ok;
}

inline uint16_t LocalPortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(reinterpret_cast<sockaddr*>(&ss));
}

class UdpClient {
 public:
  UdpClient(uv_loop_t* loop, int family) : loop_(loop) {
    fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  }
  ~UdpClient() {
    if (fd_ >= 0) close(fd_);
  }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  bool SendTo(const sockaddr_storage& to, const Bytes& b) {
    return sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                  LengthOf(to)) == static_cast<ssize_t>(b.size());
  }
  // Drives the loop until `n` datagrams arrived (or the time limit passed).
  std::vector<Bytes> Receive(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::vector<Bytes> got;
    testing::RunLoopUntil(
        loop_,
        [&] {
          uint8_t buf[65536];
          for (ssize_t r; (r = recv(fd_, buf, sizeof(buf), 0)) >= 0;)
            got.emplace_back(buf, buf + r);
          return got.size() >= n;
        },
        limit);
    return got;
  }
  uint16_t port() const { return LocalPortOf(fd_); }
  int fd() const { return fd_; }

 private:
  uv_loop_t* loop_;
  int fd_ = -1;
};

inline Bytes Frame(const Bytes& msg) {
  Bytes out{static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size() & 0xff)};
  out.insert(out.end(), msg.begin(), msg.end());
  return out;
}

class TcpClient {
 public:
  explicit TcpClient(uv_loop_t* loop) : loop_(loop) {}
  ~TcpClient() {
    if (fd_ >= 0) close(fd_);
  }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Connects without blocking, driving the loop meanwhile. `rcvbuf` > 0 shrinks SO_RCVBUF.
  bool Connect(const sockaddr_storage& to, int rcvbuf = 0) {
    fd_ = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return false;
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&to), LengthOf(to)) != 0 &&
        errno != EINPROGRESS) {
      return false;
    }
    bool writable = testing::RunLoopUntil(loop_, [&] {
      pollfd p{fd_, POLLOUT, 0};
      return poll(&p, 1, 0) == 1;
    });
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    return writable && err == 0;
  }

  // Writes everything, driving the loop whenever the socket buffer is full.
  bool Write(const Bytes& b) {
    size_t off = 0;
    return testing::RunLoopUntil(
               loop_,
               [&] {
                 while (off < b.size()) {
                   ssize_t w = send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
                   if (w < 0)
                     return errno != EAGAIN;  // a hard error ends the wait (and fails below)
                   off += static_cast<size_t>(w);
                 }
                 return true;
               }) &&
           off == b.size();
  }

  // Reads what is available; notes EOF or reset.
  void Pump() {
    uint8_t buf[65536];
    for (;;) {
      ssize_t r = recv(fd_, buf, sizeof(buf), 0);
      if (r > 0) {
        in_.insert(in_.end(), buf, buf + r);
        continue;
      }
      if (r == 0 || (errno != EAGAIN && errno != EINTR)) eof_ = true;
      return;
    }
  }

  // Drives the loop until `n` complete frames are buffered; returns them (without prefixes).
  std::vector<Bytes> ReadFrames(size_t n,
                                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    testing::RunLoopUntil(
        loop_,
        [&] {
          Pump();
          return CountFrames() >= n || eof_;
        },
        limit);
    std::vector<Bytes> frames;
    size_t off = 0;
    while (frames.size() < n && in_.size() - off >= 2) {
      size_t len = (size_t{in_[off]} << 8) | in_[off + 1];
      if (in_.size() - off - 2 < len) break;
      frames.emplace_back(in_.begin() + off + 2, in_.begin() + off + 2 + len);
      off += 2 + len;
    }
    in_.erase(in_.begin(), in_.begin() + off);
    return frames;
  }

  // Drives the loop until the server closed the connection.
  bool WaitClosed(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    return testing::RunLoopUntil(
        loop_,
        [&] {
          Pump();
          return eof_;
        },
        limit);
  }

  // Half-closes: the server sees EOF but can still answer.
  bool ShutdownWrite() { return shutdown(fd_, SHUT_WR) == 0; }

  uint16_t port() const { return LocalPortOf(fd_); }
  bool eof() const { return eof_; }

 private:
  size_t CountFrames() const {
    size_t count = 0;
    for (size_t off = 0; in_.size() - off >= 2;) {
      size_t len = (size_t{in_[off]} << 8) | in_[off + 1];
      if (in_.size() - off - 2 < len) break;
      off += 2 + len;
      ++count;
    }
    return count;
  }

  uv_loop_t* loop_;
  int fd_ = -1;
  Bytes in_;
  bool eof_ = false;
};

}  // namespace petdns::listener::test
