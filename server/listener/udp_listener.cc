#include "server/listener/udp_listener.h"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "server/listener/socket_address.h"
#include "server/listener/socket_options.h"
#include "server/uv/uv_error.h"

namespace petdns::listener {
namespace {

// libuv 1.44 splits the buffer handed to a UV_UDP_RECVMMSG socket into 64 KiB chunks (one per
// datagram, UV__UDP_DGRAM_MAXSIZE) and uses at most 20 of them per recvmmsg call
// (UV__MMSG_MAXWIDTH). Each chunk arrives in OnRecv with UV_UDP_MMSG_CHUNK; a last call with
// UV_UDP_MMSG_FREE returns the whole buffer before the next OnAlloc.
constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kBatch = 20;
constexpr size_t kBufferSize = kChunkSize * kBatch;

// A queued send: libuv owns it from a successful uv_udp_send until OnSendDone.
struct SendRequest {
  uv_udp_send_t req{};
  std::vector<char> bytes;
};

}  // namespace

UdpListener::UdpListener(uv_loop_t* loop, PacketHandler& handler, UdpListenerOptions options)
    : loop_(loop), handler_(handler), options_(options) {}

UdpListener::~UdpListener() { Stop(); }

Status UdpListener::Start(const sockaddr* address) {
  const std::string what = "listen udp " + FormatSocketAddress(address);
  if (address == nullptr || (address->sa_family != AF_INET && address->sa_family != AF_INET6)) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": not an IPv4 or IPv6 address");
  }
  Stop();
  if (buffer_ == nullptr) buffer_ = std::make_unique_for_overwrite<char[]>(kBufferSize);
  const unsigned family = address->sa_family;
  uv_loop_t* loop = loop_;
  if (auto st = udp_.Open(
          [loop, family](uv_udp_t* h) { return uv_udp_init_ex(loop, h, family | UV_UDP_RECVMMSG); },
          this);
      !st) {
    return st.error().WithContext(what);
  }
  if (options_.reuse_port) {
    if (Status st = SetReusePort(reinterpret_cast<uv_handle_t*>(udp_.get()), what); !st) {
      Stop();
      return st;
    }
  }
  const unsigned bind_flags = family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
  if (int rc = uv_udp_bind(udp_.get(), address, bind_flags); rc != 0) {
    Stop();
    return uv::UvError(rc, what);
  }
  if (int rc = uv_udp_recv_start(udp_.get(), &UdpListener::OnAlloc, &UdpListener::OnRecv);
      rc != 0) {
    Stop();
    return uv::UvError(rc, what);
  }
  return {};
}

void UdpListener::Stop() noexcept { udp_.Close(); }

uint16_t UdpListener::LocalPort() const noexcept {
  if (udp_.get() == nullptr) return 0;
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(reinterpret_cast<const sockaddr*>(&ss));
}

void UdpListener::Sink::Send(std::span<const uint8_t> message) noexcept {
  owner_.SendTo(message, peer_);
}

namespace {

// A reply address kept after the datagram's handling returned.
class RetainedUdpSink final : public ResponseSink {
 public:
  RetainedUdpSink(std::weak_ptr<UdpListener*> listener, const sockaddr* peer)
      : listener_(std::move(listener)) {
    std::memcpy(&peer_, peer,
                peer->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
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
  if (peer_ == nullptr) return nullptr;
  return std::make_unique<RetainedUdpSink>(owner_.self_, peer_);
}

void UdpListener::Reply(std::span<const uint8_t> message, const sockaddr* peer) noexcept {
  if (udp_.get() != nullptr) SendTo(message, peer);
}

void UdpListener::SendTo(std::span<const uint8_t> message, const sockaddr* peer) noexcept {
  if (udp_.get() == nullptr || peer == nullptr) {
    ++dropped_send_errors_;
    return;
  }
  // libuv does not write through the buffer; the const_cast is only for uv_buf_t's type.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(message.data())),
                             static_cast<unsigned>(message.size()));
  int rc = uv_udp_try_send(udp_.get(), &buf, 1, peer);
  if (rc >= 0) {
    ++sent_;
    return;
  }
  if (rc != UV_EAGAIN && rc != UV_ENOBUFS) {
    ++dropped_send_errors_;
    return;
  }
  // Socket buffer full (or sends already queued): copy and queue. Rare, so it may allocate.
  auto req = std::make_unique<SendRequest>();
  req->req.data = req.get();
  req->bytes.assign(reinterpret_cast<const char*>(message.data()),
                    reinterpret_cast<const char*>(message.data()) + message.size());
  uv_buf_t copy = uv_buf_init(req->bytes.data(), static_cast<unsigned>(req->bytes.size()));
  rc = uv_udp_send(&req->req, udp_.get(), &copy, 1, peer, &UdpListener::OnSendDone);
  if (rc != 0) {
    ++dropped_send_errors_;
    return;  // never submitted: unique_ptr frees it
  }
  static_cast<void>(req.release());  // libuv owns it until OnSendDone
}

void UdpListener::OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) noexcept {
  auto* self = static_cast<UdpListener*>(handle->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // closing: libuv reports UV_ENOBUFS and stops
    return;
  }
  *buf = uv_buf_init(self->buffer_.get(), kBufferSize);
}

void UdpListener::OnRecv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                         unsigned flags) noexcept {
  auto* self = static_cast<UdpListener*>(udp->data);
  if (self == nullptr) return;
  // The whole batch buffer coming back: it belongs to the listener, nothing to free.
  if ((flags & UV_UDP_MMSG_FREE) != 0) return;
  // nread < 0: a socket error (e.g. ICMP feedback); nread == 0 with no address: nothing to read.
  // Empty or truncated datagrams are not DNS messages: drop them.
  if (nread <= 0 || addr == nullptr || (flags & UV_UDP_PARTIAL) != 0) return;
  ++self->received_;
  self->sink_.set_peer(addr);
  const ClientInfo client{addr, Transport::kUdp};
  self->handler_.HandlePacket(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->base),
                                                       static_cast<size_t>(nread)),
                              client, self->sink_);
}

void UdpListener::OnSendDone(uv_udp_send_t* req, int status) noexcept {
  std::unique_ptr<SendRequest> owned(static_cast<SendRequest*>(req->data));
  auto* self = static_cast<UdpListener*>(req->handle->data);
  if (self == nullptr) return;  // listener stopped: the send was cancelled
  if (status == 0) {
    ++self->sent_;
  } else {
    ++self->dropped_send_errors_;
  }
}

}  // namespace petdns::listener
