#include "server/uv/dns_transport.h"

#include <uv.h>

#include <algorithm>
#include <array>
#include <exception>
#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/uv/handle.h"
#include "server/uv/loop.h"
#include "server/uv/uv_error.h"

namespace petdns::uv {
namespace {

constexpr std::string_view kLog = "dns-transport";
constexpr size_t kHeaderSize = 12;
constexpr size_t kReceiveSize = 65536;
constexpr uint16_t kQrBit = 0x80;  // in the third header byte

// One receive buffer per transport: libuv calls alloc and then recv/read synchronously for each
// datagram or chunk, and the exchange copies what it keeps before returning.
using ReceiveBuffer = std::array<char, kReceiveSize>;

uint16_t ReadU16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// A response to our query: a full header, our ID, QR set.
bool Answers(std::span<const uint8_t> message, uint16_t id) noexcept {
  return message.size() >= kHeaderSize && ReadU16(message.data()) == id &&
         (message[2] & kQrBit) != 0;
}

class LoopExchange final : public DnsExchange {
 public:
  LoopExchange(Loop& loop, std::shared_ptr<ReceiveBuffer> buffer, std::vector<uint8_t> query,
               DnsTransport::Done done)
      : loop_(loop),
        buffer_(std::move(buffer)),
        query_(std::move(query)),
        id_(ReadU16(query_.data())),
        done_(std::move(done)) {}
  ~LoopExchange() override = default;  // the handles close themselves; no callback after this
  LoopExchange(const LoopExchange&) = delete;
  LoopExchange& operator=(const LoopExchange&) = delete;

  [[nodiscard]] Status Start(const sockaddr_storage& to, bool tcp,
                             std::chrono::milliseconds timeout) {
    uv_loop_t* loop = loop_.get();
    if (Status st = timer_.Open([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }, this);
        !st) {
      return st.error().WithContext("upstream timer");
    }
    auto ms = static_cast<uint64_t>(std::max<int64_t>(timeout.count(), 1));
    if (int rc = uv_timer_start(timer_.get(), &LoopExchange::OnTimeout, ms, 0); rc != 0) {
      return UvError(rc, "upstream timer");
    }
    const auto* sa = reinterpret_cast<const sockaddr*>(&to);
    return tcp ? StartTcp(sa) : StartUdp(sa);
  }

 private:
  struct UdpSend {
    uv_udp_send_t req{};
    std::vector<uint8_t> data;
  };
  struct TcpConnect {
    uv_connect_t req{};
  };
  struct TcpWrite {
    uv_write_t req{};
    std::vector<uint8_t> data;
  };

  Status StartUdp(const sockaddr* to) {
    uv_loop_t* loop = loop_.get();
    if (Status st = udp_.Open([loop](uv_udp_t* u) { return uv_udp_init(loop, u); }, this); !st) {
      return st.error().WithContext("upstream udp socket");
    }
    // Connected: the kernel drops datagrams from anyone else, and ICMP errors reach us.
    if (int rc = uv_udp_connect(udp_.get(), to); rc != 0) return UvError(rc, "udp connect");
    if (int rc = uv_udp_recv_start(udp_.get(), &LoopExchange::OnAlloc, &LoopExchange::OnUdpRecv);
        rc != 0) {
      return UvError(rc, "udp receive");
    }
    uv_buf_t buf =
        uv_buf_init(reinterpret_cast<char*>(query_.data()), static_cast<unsigned>(query_.size()));
    int rc = uv_udp_try_send(udp_.get(), &buf, 1, nullptr);
    if (rc >= 0) return {};
    if (rc != UV_EAGAIN && rc != UV_ENOSYS) return UvError(rc, "udp send");
    auto send = std::make_unique<UdpSend>();
    send->req.data = send.get();
    send->data = query_;
    buf = uv_buf_init(reinterpret_cast<char*>(send->data.data()),
                      static_cast<unsigned>(send->data.size()));
    rc = uv_udp_send(&send->req, udp_.get(), &buf, 1, nullptr, &LoopExchange::OnUdpSent);
    if (rc != 0) return UvError(rc, "udp send");
    (void)send.release();  // libuv owns it until OnUdpSent
    return {};
  }

  Status StartTcp(const sockaddr* to) {
    uv_loop_t* loop = loop_.get();
    if (Status st = tcp_.Open([loop](uv_tcp_t* t) { return uv_tcp_init(loop, t); }, this); !st) {
      return st.error().WithContext("upstream tcp socket");
    }
    (void)uv_tcp_nodelay(tcp_.get(), 1);  // best effort: one small write per query
    auto connect = std::make_unique<TcpConnect>();
    connect->req.data = connect.get();
    if (int rc = uv_tcp_connect(&connect->req, tcp_.get(), to, &LoopExchange::OnConnect); rc != 0) {
      return UvError(rc, "tcp connect");
    }
    (void)connect.release();  // libuv owns it until OnConnect
    return {};
  }

  // Closes everything, then runs the callback, which may destroy this object: nothing after it.
  void Finish(Result<std::vector<uint8_t>> result) noexcept {
    if (!done_) return;
    timer_.Close();
    udp_.Close();
    tcp_.Close();
    DnsTransport::Done done = std::move(done_);
    done_ = nullptr;
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::Error(kLog, std::string("callback threw: ") + e.what());
    } catch (...) {
      log::Error(kLog, "callback threw a non-std exception");
    }
  }

  void Fail(ErrorCode code, std::string message) noexcept {
    try {
      Finish(MakeError(code, std::move(message)));
    } catch (...) {  // only a failed string allocation can get here
      Finish(Error{code, {}});
    }
  }

  static void OnTimeout(uv_timer_t* t) noexcept {
    auto* self = static_cast<LoopExchange*>(t->data);
    if (self != nullptr) self->Fail(ErrorCode::kUnavailable, "upstream timeout");
  }

  static void OnAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) noexcept {
    auto* self = static_cast<LoopExchange*>(h->data);
    *buf = self == nullptr ? uv_buf_init(nullptr, 0)
                           : uv_buf_init(self->buffer_->data(), self->buffer_->size());
  }

  static void OnUdpRecv(uv_udp_t* u, ssize_t nread, const uv_buf_t* buf, const sockaddr* /*from*/,
                        unsigned /*flags*/) noexcept {
    auto* self = static_cast<LoopExchange*>(u->data);
    if (self == nullptr || nread == 0) return;
    if (nread < 0) {
      self->Fail(ErrorCode::kIo, UvError(static_cast<int>(nread), "udp receive").message);
      return;
    }
    std::span<const uint8_t> message(reinterpret_cast<const uint8_t*>(buf->base),
                                     static_cast<size_t>(nread));
    if (!Answers(message, self->id_)) return;  // not ours: keep waiting until the timeout
    try {
      self->Finish(std::vector<uint8_t>(message.begin(), message.end()));
    } catch (...) {
      self->Fail(ErrorCode::kInternal, "out of memory");
    }
  }

  static void OnUdpSent(uv_udp_send_t* req, int status) noexcept {
    std::unique_ptr<UdpSend> send(static_cast<UdpSend*>(req->data));
    auto* self = static_cast<LoopExchange*>(req->handle->data);
    if (self == nullptr || status == 0) return;
    self->Fail(ErrorCode::kIo, UvError(status, "udp send").message);
  }

  static void OnConnect(uv_connect_t* req, int status) noexcept {
    std::unique_ptr<TcpConnect> connect(static_cast<TcpConnect*>(req->data));
    auto* self = static_cast<LoopExchange*>(req->handle->data);
    if (self == nullptr) return;  // closed: cancelled
    if (status != 0) {
      self->Fail(ErrorCode::kIo, UvError(status, "tcp connect").message);
      return;
    }
    self->Write(req->handle);
  }

  void Write(uv_stream_t* stream) noexcept {
    try {
      auto write = std::make_unique<TcpWrite>();
      write->req.data = write.get();
      write->data.reserve(query_.size() + 2);
      write->data.push_back(static_cast<uint8_t>(query_.size() >> 8));
      write->data.push_back(static_cast<uint8_t>(query_.size() & 0xff));
      write->data.insert(write->data.end(), query_.begin(), query_.end());
      uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(write->data.data()),
                                 static_cast<unsigned>(write->data.size()));
      if (int rc = uv_read_start(stream, &LoopExchange::OnAlloc, &LoopExchange::OnTcpRead);
          rc != 0) {
        Fail(ErrorCode::kIo, UvError(rc, "tcp read").message);
        return;
      }
      if (int rc = uv_write(&write->req, stream, &buf, 1, &LoopExchange::OnWritten); rc != 0) {
        Fail(ErrorCode::kIo, UvError(rc, "tcp write").message);
        return;
      }
      (void)write.release();  // libuv owns it until OnWritten
    } catch (...) {
      Fail(ErrorCode::kInternal, "out of memory");
    }
  }

  static void OnWritten(uv_write_t* req, int status) noexcept {
    std::unique_ptr<TcpWrite> write(static_cast<TcpWrite*>(req->data));
    auto* self = static_cast<LoopExchange*>(req->handle->data);
    if (self == nullptr || status == 0) return;
    self->Fail(ErrorCode::kIo, UvError(status, "tcp write").message);
  }

  static void OnTcpRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<LoopExchange*>(stream->data);
    if (self == nullptr || nread == 0) return;
    if (nread < 0) {
      self->Fail(ErrorCode::kIo, nread == UV_EOF
                                     ? std::string("tcp: connection closed before the response")
                                     : UvError(static_cast<int>(nread), "tcp read").message);
      return;
    }
    try {
      std::vector<uint8_t>& in = self->tcp_in_;
      in.insert(in.end(), reinterpret_cast<const uint8_t*>(buf->base),
                reinterpret_cast<const uint8_t*>(buf->base) + nread);
      if (in.size() < 2) return;
      size_t length = ReadU16(in.data());
      if (length < kHeaderSize) {
        self->Fail(ErrorCode::kParse, "tcp: response frame shorter than a DNS header");
        return;
      }
      if (in.size() < 2 + length) return;
      std::vector<uint8_t> message(in.begin() + 2, in.begin() + 2 + static_cast<ptrdiff_t>(length));
      if (!Answers(message, self->id_)) {
        self->Fail(ErrorCode::kParse, "tcp: response ID or QR does not match the query");
        return;
      }
      self->Finish(std::move(message));
    } catch (...) {
      self->Fail(ErrorCode::kInternal, "out of memory");
    }
  }

  Loop& loop_;
  std::shared_ptr<ReceiveBuffer> buffer_;
  std::vector<uint8_t> query_;
  uint16_t id_;
  DnsTransport::Done done_;
  std::vector<uint8_t> tcp_in_;
  Handle<uv_timer_t> timer_;
  Handle<uv_udp_t> udp_;
  Handle<uv_tcp_t> tcp_;
};

class LoopDnsTransport final : public DnsTransport {
 public:
  explicit LoopDnsTransport(Loop& loop) : loop_(loop) {}

  Result<std::unique_ptr<DnsExchange>> Send(const sockaddr_storage& upstream, bool tcp,
                                            std::span<const uint8_t> query,
                                            std::chrono::milliseconds timeout, Done done) override {
    if (query.size() < kHeaderSize || query.size() > 65535) {
      return MakeError(ErrorCode::kInvalidArgument, "query is not a DNS message");
    }
    if (upstream.ss_family != AF_INET && upstream.ss_family != AF_INET6) {
      return MakeError(ErrorCode::kInvalidArgument, "upstream is not an IPv4/IPv6 address");
    }
    auto exchange = std::make_unique<LoopExchange>(
        loop_, buffer_, std::vector<uint8_t>(query.begin(), query.end()), std::move(done));
    if (Status st = exchange->Start(upstream, tcp, timeout); !st) return st.error();
    return std::unique_ptr<DnsExchange>(std::move(exchange));
  }

 private:
  Loop& loop_;
  std::shared_ptr<ReceiveBuffer> buffer_ = std::make_shared<ReceiveBuffer>();
};

}  // namespace

std::unique_ptr<DnsTransport> NewLoopDnsTransport(Loop& loop) {
  return std::make_unique<LoopDnsTransport>(loop);
}

}  // namespace petdns::uv
