#include "server/listener/udp_listener.h"

#include <netinet/in.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/listener/socket_address.h"
#include "server/uv/uv_error.h"

namespace petdns::listener {
namespace {

constexpr std::string_view kLog = "listener/udp";

// Datagrams per recvmmsg and replies per sendmmsg. At the rates one worker serves (tens of
// thousands of queries per second) a wakeup finds a few to a few dozen datagrams, so one call
// almost always empties the socket; 64 also bounds the buffers below to 512 KiB per listener.
constexpr unsigned kSlots = 64;
// DNS queries are a few hundred bytes; a bigger datagram arrives with MSG_TRUNC and is dropped
// (as libuv's UV_UDP_PARTIAL was before).
constexpr size_t kRecvSlotSize = 4096;
// UDP answers are bounded by the client's EDNS payload size (usually 1232). A larger reply is sent
// on its own with sendmsg rather than making every slot bigger.
constexpr size_t kSendSlotSize = 4096;
// A full batch means more may be waiting, so read again, but not forever: TCP connections and
// timers on the same loop must get their turn under a flood.
constexpr int kMaxBatchesPerWakeup = 4;
// Replies waiting for the socket to become writable. Beyond this the client is better served by a
// retry than by an ever older answer, and memory stays bounded.
constexpr size_t kMaxPending = 1024;

bool WouldBlock(int err) noexcept {
  // ENOBUFS: the device queue is full for a moment; like EAGAIN, worth retrying later.
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

socklen_t LengthOf(const sockaddr* address) noexcept {
  if (address == nullptr) return 0;
  if (address->sa_family == AF_INET) return sizeof(sockaddr_in);
  if (address->sa_family == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

}  // namespace

// Receive slots (data, peer address, header) and send slots (data, header) for one round. The
// headers point into the slots once, here; a round only sets lengths and addresses. A reply's
// msg_name points at the peer address of the receive slot it answers, which stays put until the
// batch is flushed, so addresses are never copied.
struct UdpListener::Batch {
  Batch() noexcept {
    for (unsigned i = 0; i < kSlots; ++i) {
      recv_iov[i] = {recv_data[i].data(), kRecvSlotSize};
      msghdr& r = recv_msgs[i].msg_hdr;
      r.msg_name = &peers[i];
      r.msg_iov = &recv_iov[i];
      r.msg_iovlen = 1;
      send_iov[i] = {send_data[i].data(), 0};
      send_msgs[i].msg_hdr.msg_iov = &send_iov[i];
      send_msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }

  std::array<std::array<uint8_t, kRecvSlotSize>, kSlots> recv_data;
  std::array<std::array<uint8_t, kSendSlotSize>, kSlots> send_data;
  std::array<sockaddr_storage, kSlots> peers{};
  std::array<iovec, kSlots> recv_iov{};
  std::array<mmsghdr, kSlots> recv_msgs{};
  std::array<iovec, kSlots> send_iov{};
  std::array<mmsghdr, kSlots> send_msgs{};
  unsigned send_count = 0;  // send slots filled since the last flush
};

UdpListener::UdpListener(uv_loop_t* loop, PacketHandler& handler, UdpListenerOptions options)
    : loop_(loop), handler_(handler), options_(options) {}

UdpListener::~UdpListener() { Stop(); }

Status UdpListener::Start(const sockaddr* address) {
  const std::string what = "listen udp " + FormatSocketAddress(address);
  if (address == nullptr || (address->sa_family != AF_INET && address->sa_family != AF_INET6)) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": not an IPv4 or IPv6 address");
  }
  Stop();
  // Once per listener, not per query: ~0.5 MiB that every later round reuses.
  if (batch_ == nullptr) batch_ = std::make_unique<Batch>();
  const int family = address->sa_family;
  fd_.Reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) return uv::UvError(-errno, what);
  const int one = 1;
  if (options_.reuse_port &&
      setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    Status st = MakeError(ErrorCode::kIo, what + ": SO_REUSEPORT: " + std::strerror(errno));
    Stop();
    return st;
  }
  // As uv_udp_bind with UV_UDP_IPV6ONLY did: an IPv6 listener never sees v4-mapped peers.
  if (family == AF_INET6 &&
      setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    Status st = MakeError(ErrorCode::kIo, what + ": IPV6_V6ONLY: " + std::strerror(errno));
    Stop();
    return st;
  }
  if (::bind(fd_.get(), address, LengthOf(address)) != 0) {
    Status st = uv::UvError(-errno, what);  // libuv codes are -errno on Unix
    Stop();
    return st;
  }
  uv_loop_t* loop = loop_;
  const int fd = fd_.get();
  if (auto st =
          poll_.Open([loop, fd](uv_poll_t* p) { return uv_poll_init_socket(loop, p, fd); }, this);
      !st) {
    Stop();
    return st.error().WithContext(what);
  }
  if (int rc = uv_poll_start(poll_.get(), UV_READABLE, &UdpListener::OnPoll); rc != 0) {
    Stop();
    return uv::UvError(rc, what);
  }
  poll_events_ = UV_READABLE;
  return {};
}

void UdpListener::Stop() noexcept {
  // libuv allows closing a polled descriptor right after uv_poll_stop/uv_close (both take it out
  // of epoll at once); closing it first could make the poll watch a reused descriptor number.
  if (poll_.get() != nullptr) uv_poll_stop(poll_.get());
  poll_.Close();
  fd_.Reset();
  poll_events_ = 0;
  pending_.clear();
  if (batch_ != nullptr) batch_->send_count = 0;
}

uint16_t UdpListener::LocalPort() const noexcept {
  if (!fd_.valid()) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(reinterpret_cast<const sockaddr*>(&ss));
}

void UdpListener::Sink::Send(std::span<const uint8_t> message) noexcept {
  // The caller reuses `message`'s buffer for the next query, so small replies are copied into a
  // send slot and go out with the rest of the batch; a rare big one goes out at once.
  if (message.size() <= kSendSlotSize) {
    owner_.AddToBatch(message, peer_, peer_length_);
  } else {
    owner_.SendNow(message, peer_, peer_length_);
  }
}

namespace {

// A reply address kept after the datagram's handling returned (the batch slot it came from is
// reused by the next recvmmsg).
class RetainedUdpSink final : public ResponseSink {
 public:
  RetainedUdpSink(std::weak_ptr<UdpListener*> listener, const sockaddr* peer)
      : listener_(std::move(listener)) {
    std::memcpy(&peer_, peer, LengthOf(peer));
  }
  void Send(std::span<const uint8_t> message) noexcept override {
    if (auto listener = listener_.lock()) {
      (*listener)->Reply(message, reinterpret_cast<const sockaddr*>(&peer_));
    }
  }

 private:
  std::weak_ptr<UdpListener*> listener_;
  sockaddr_storage peer_{};
};

}  // namespace

std::unique_ptr<ResponseSink> UdpListener::Sink::Retain() noexcept {
  if (LengthOf(peer_) == 0) return nullptr;
  return std::make_unique<RetainedUdpSink>(owner_.self_, peer_);
}

void UdpListener::Reply(std::span<const uint8_t> message, const sockaddr* peer) noexcept {
  // Late answers arrive from other callbacks, outside any batch: there is nothing to join.
  if (fd_.valid()) SendNow(message, peer, LengthOf(peer));
}

void UdpListener::OnPoll(uv_poll_t* poll, int status, int events) noexcept {
  auto* self = static_cast<UdpListener*>(poll->data);
  if (self == nullptr) return;
  if (status < 0) {
    // libuv stops a poll handle whose socket reports POLLERR (a pending socket error) and says
    // UV_EBADF. Reading SO_ERROR clears the error; then watch again, so one error does not end
    // serving on this address.
    int err = 0;
    socklen_t len = sizeof(err);
    static_cast<void>(getsockopt(self->fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len));
    log::Debug(kLog, "socket error: " + std::string(std::strerror(err)));
    self->poll_events_ = 0;
    self->UpdatePollEvents();
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    self->DrainPending();
    self->UpdatePollEvents();
  }
  if ((events & UV_READABLE) != 0) self->ReadBatches();
}

void UdpListener::ReadBatches() noexcept {
  Batch& b = *batch_;
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    for (mmsghdr& m : b.recv_msgs) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    const int n = recvmmsg(fd_.get(), b.recv_msgs.data(), kSlots, MSG_DONTWAIT, nullptr);
    // EAGAIN: nothing after all. Another error (ENOMEM, …): polling is level-triggered, so a
    // socket that still has data wakes us again and the next call retries.
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = b.recv_msgs[i];
      if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++dropped_truncated_;
        handler_.OnDroppedInput(DroppedInput::kUdpOversize);
        continue;
      }
      // An empty datagram is not a DNS message.
      if (m.msg_len == 0 || m.msg_hdr.msg_namelen == 0) {
        handler_.OnDroppedInput(DroppedInput::kEmptyDatagram);
        continue;
      }
      ++received_;
      const auto* peer = reinterpret_cast<const sockaddr*>(&b.peers[i]);
      sink_.set_peer(peer, m.msg_hdr.msg_namelen);
      handler_.HandlePacket(std::span<const uint8_t>(b.recv_data[i].data(), m.msg_len),
                            ClientInfo{peer, Transport::kUdp}, sink_);
      if (!fd_.valid()) return;  // Stop() from inside the handler: the batch was discarded
    }
    sink_.set_peer(nullptr, 0);
    FlushBatch();
    // A short batch means the socket was empty a moment ago. No extra recvmmsg just to see
    // EAGAIN: libuv's epoll is level-triggered, so anything that arrived meanwhile wakes us again
    // on the next loop iteration.
    if (n < static_cast<int>(kSlots)) return;
  }
}

void UdpListener::AddToBatch(std::span<const uint8_t> message, const sockaddr* peer,
                             socklen_t peer_length) noexcept {
  if (!fd_.valid() || peer == nullptr) {
    ++dropped_send_errors_;
    return;
  }
  Batch& b = *batch_;
  // Handlers may send several replies per query: once every slot is used, send what is there.
  // The peers they point at are receive slots, untouched until the next recvmmsg.
  if (b.send_count == kSlots) FlushBatch();
  const unsigned i = b.send_count++;
  if (!message.empty()) std::memcpy(b.send_data[i].data(), message.data(), message.size());
  b.send_iov[i].iov_len = message.size();
  msghdr& h = b.send_msgs[i].msg_hdr;
  h.msg_name = const_cast<sockaddr*>(peer);  // sendmmsg does not write through it
  h.msg_namelen = peer_length;
}

void UdpListener::FlushBatch() noexcept {
  Batch& b = *batch_;
  const unsigned count = std::exchange(b.send_count, 0);
  unsigned next = 0;
  // Replies already waiting go first; if they still cannot go, neither can these.
  const bool clear = count > 0 && (pending_.empty() || DrainPending());
  while (clear && next < count) {
    const int n = sendmmsg(fd_.get(), &b.send_msgs[next], count - next, 0);
    if (n > 0) {
      sent_ += static_cast<uint64_t>(n);
      next += static_cast<unsigned>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && WouldBlock(errno)) break;
    // sendmmsg reports an error only when the first message it tried failed (a bad address, a
    // firewall EPERM): drop that one and carry on with the rest.
    ++dropped_send_errors_;
    ++next;
  }
  for (; next < count; ++next) {
    const msghdr& h = b.send_msgs[next].msg_hdr;
    Enqueue(std::span<const uint8_t>(b.send_data[next].data(), b.send_iov[next].iov_len),
            static_cast<const sockaddr*>(h.msg_name), h.msg_namelen);
  }
  UpdatePollEvents();
}

void UdpListener::SendNow(std::span<const uint8_t> message, const sockaddr* peer,
                          socklen_t peer_length) noexcept {
  if (!fd_.valid() || peer == nullptr || peer_length == 0) {
    ++dropped_send_errors_;
    return;
  }
  if (!pending_.empty() && !DrainPending()) {
    Enqueue(message, peer, peer_length);
    UpdatePollEvents();
    return;
  }
  // sendmsg does not write through either pointer; the casts are only for its struct types.
  iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
  msghdr h{};
  h.msg_name = const_cast<sockaddr*>(peer);
  h.msg_namelen = peer_length;
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  ssize_t rc;
  do {
    rc = sendmsg(fd_.get(), &h, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc >= 0) {
    ++sent_;
  } else if (WouldBlock(errno)) {
    Enqueue(message, peer, peer_length);
  } else {
    ++dropped_send_errors_;
  }
  UpdatePollEvents();
}

void UdpListener::Enqueue(std::span<const uint8_t> message, const sockaddr* peer,
                          socklen_t peer_length) noexcept {
  if (pending_.size() >= kMaxPending || peer_length > sizeof(sockaddr_storage)) {
    ++dropped_send_errors_;
    return;
  }
  // Only when the socket buffer is full, so this may allocate (the steady state never gets here).
  PendingSend& p = pending_.emplace_back();
  p.bytes.assign(message.begin(), message.end());
  std::memcpy(&p.peer, peer, peer_length);
  p.peer_length = peer_length;
}

bool UdpListener::DrainPending() noexcept {
  // One sendmsg each: this path only runs after the socket buffer filled up, so the saved
  // syscalls would not matter, and the queue is not laid out for sendmmsg.
  while (!pending_.empty()) {
    PendingSend& p = pending_.front();
    iovec iov{p.bytes.data(), p.bytes.size()};
    msghdr h{};
    h.msg_name = &p.peer;
    h.msg_namelen = p.peer_length;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    const ssize_t rc = sendmsg(fd_.get(), &h, 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && WouldBlock(errno)) return false;
    if (rc >= 0) {
      ++sent_;
    } else {
      ++dropped_send_errors_;
    }
    pending_.pop_front();
  }
  return true;
}

void UdpListener::UpdatePollEvents() noexcept {
  if (poll_.get() == nullptr) return;
  const int want = pending_.empty() ? UV_READABLE : (UV_READABLE | UV_WRITABLE);
  if (want == poll_events_) return;
  if (int rc = uv_poll_start(poll_.get(), want, &UdpListener::OnPoll); rc != 0) {
    log::Error(kLog, uv::UvError(rc, "uv_poll_start").message);
    return;
  }
  poll_events_ = want;
}

}  // namespace petdns::listener
