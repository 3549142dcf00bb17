#include "server/listener/tcp_listener.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "server/common/log.h"
#include "server/listener/socket_address.h"
#include "server/listener/socket_options.h"
#include "server/uv/uv_error.h"

namespace petdns::listener {
namespace {

constexpr std::string_view kLog = "listener/tcp";
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kMaxFrame = 65535;

// One framed response: libuv owns it from a successful uv_write until OnWriteDone.
struct WriteRequest {
  uv_write_t req{};
  std::vector<char> bytes;  // 2-byte length prefix + message
};

size_t FrameLength(uint8_t hi, uint8_t lo) { return (size_t{hi} << 8) | lo; }

}  // namespace

class TcpListener::Connection final : public ResponseSink {
 public:
  // A late answer's way back: sends on the connection while it is open.
  class RetainedTcpSink final : public ResponseSink {
   public:
    explicit RetainedTcpSink(const std::shared_ptr<Connection*>& alive) : alive_(alive) {}
    void Send(std::span<const uint8_t> message) noexcept override {
      if (auto connection = alive_.lock()) (*connection)->Send(message);
    }

   private:
    std::weak_ptr<Connection*> alive_;
  };

  explicit Connection(TcpListener& owner) : owner_(owner) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] Status Open(uv_loop_t* loop) {
    if (auto st = tcp_.Open([loop](uv_tcp_t* h) { return uv_tcp_init(loop, h); }, this); !st) {
      return st;
    }
    return timer_.Open([loop](uv_timer_t* h) { return uv_timer_init(loop, h); }, this);
  }
  uv_stream_t* stream() const noexcept { return reinterpret_cast<uv_stream_t*>(tcp_.get()); }

  // After uv_accept: remembers the peer, starts reading and the idle timer. Returns false (and
  // leaves the connection closed) on failure.
  bool Start() noexcept {
    int len = sizeof(peer_);
    if (int rc = uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&peer_), &len);
        rc != 0) {
      log::Debug(kLog, uv::UvError(rc, "getpeername").message);
      Close();
      return false;
    }
    uv_tcp_nodelay(tcp_.get(), 1);  // best effort: responses are whole frames
    if (!ResumeReading()) return false;
    ArmTimer(owner_.options_.idle_timeout);
    return !closed_;
  }

  void Send(std::span<const uint8_t> message) noexcept override {
    if (closed_) return;
    if (message.size() > kMaxFrame) {
      log::Debug(kLog, "response larger than 65535 bytes: closing " + Peer());
      Close();
      return;
    }
    auto req = std::make_unique<WriteRequest>();
    req->req.data = req.get();
    req->bytes.resize(2 + message.size());
    req->bytes[0] = static_cast<char>(message.size() >> 8);
    req->bytes[1] = static_cast<char>(message.size() & 0xff);
    std::memcpy(req->bytes.data() + 2, message.data(), message.size());
    uv_buf_t buf = uv_buf_init(req->bytes.data(), static_cast<unsigned>(req->bytes.size()));
    if (int rc = uv_write(&req->req, stream(), &buf, 1, &Connection::OnWriteDone); rc != 0) {
      log::Debug(kLog, uv::UvError(rc, "write to " + Peer()).message);
      Close();
      return;  // never submitted: unique_ptr frees it
    }
    pending_output_ += req->bytes.size();
    static_cast<void>(req.release());  // libuv owns it until OnWriteDone
    if (!paused_ && pending_output_ > owner_.options_.max_pending_output_bytes) {
      paused_ = true;  // the client is not draining its answers: stop handling its queries
      if (reading_) uv_read_stop(stream());
      reading_ = false;
    }
  }

  bool closed() const noexcept { return closed_; }

  std::unique_ptr<ResponseSink> Retain() noexcept override {
    if (closed_) return nullptr;
    return std::make_unique<RetainedTcpSink>(alive_);
  }

  // Closes both handles; queued writes are cancelled. The object stays alive until Remove().
  void Close() noexcept {
    closed_ = true;
    alive_.reset();  // retained sinks see the connection gone
    timer_.Close();
    tcp_.Close();
  }

  static void OnAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) noexcept {
    auto* conn = static_cast<Connection*>(handle->data);
    if (conn == nullptr) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    *buf = uv_buf_init(conn->owner_.read_buffer_.get(), kReadBufferSize);
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* conn = static_cast<Connection*>(stream->data);
    if (conn == nullptr) return;
    if (nread == UV_EOF) {
      conn->PeerClosed();
    } else if (nread < 0) {
      conn->Close();
    } else if (nread > 0) {
      conn->Consume(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->base),
                                             static_cast<size_t>(nread)));
    }
    if (conn->closed()) conn->owner_.Remove(conn);
  }

  static void OnWriteDone(uv_write_t* req, int status) noexcept {
    std::unique_ptr<WriteRequest> owned(static_cast<WriteRequest*>(req->data));
    auto* conn = static_cast<Connection*>(req->handle->data);
    if (conn == nullptr) return;  // connection closed: the write was cancelled
    conn->WriteDone(owned->bytes.size(), status);
    if (conn->closed()) conn->owner_.Remove(conn);
  }

  static void OnTimer(uv_timer_t* timer) noexcept {
    auto* conn = static_cast<Connection*>(timer->data);
    if (conn == nullptr) return;
    ++conn->owner_.closed_idle_;
    // A plain idle connection is normal; a half-sent frame or unread answers are worth counting.
    if (conn->paused_) {
      conn->owner_.handler_.OnDroppedInput(DroppedInput::kTcpStalled);
    } else if (conn->partial_timer_armed_) {
      conn->owner_.handler_.OnDroppedInput(DroppedInput::kTcpReadTimeout);
    }
    conn->Close();
    conn->owner_.Remove(conn);
  }

 private:
  // Handles every complete frame in `data`, in order, and keeps a trailing partial frame in
  // input_. When a response pushes the output queue over its limit (paused_), the rest of `data`
  // is kept in input_ unprocessed until the client has drained its answers.
  void Consume(std::span<const uint8_t> data) noexcept {
    bool framed = false;
    while (!data.empty() && !closed_) {
      if (paused_) {  // input_ is empty here: every frame handled so far came from `data`
        input_.assign(data.begin(), data.end());  // at most one read (64 KiB) or one backlog
        partial_timer_armed_ = false;
        break;
      }
      if (input_.empty()) {
        // Fast path: frames entirely inside this read are handled in place, without copying.
        if (data.size() >= 2) {
          const size_t len = FrameLength(data[0], data[1]);
          if (len == 0) {  // RFC 7766 has no empty messages: treat as end of conversation
            owner_.handler_.OnDroppedInput(DroppedInput::kTcpZeroLength);
            Close();
            return;
          }
          if (data.size() >= 2 + len) {
            HandleFrame(data.subspan(2, len));
            framed = true;
            data = data.subspan(2 + len);
            continue;
          }
        }
        partial_timer_armed_ = false;
        input_.assign(data.begin(), data.end());  // < 2 + 65535 bytes
        break;
      }
      if (input_.size() < 2) {
        input_.push_back(data[0]);
        data = data.subspan(1);
        continue;
      }
      const size_t len = FrameLength(input_[0], input_[1]);
      if (len == 0) {
        owner_.handler_.OnDroppedInput(DroppedInput::kTcpZeroLength);
        Close();
        return;
      }
      const size_t take = std::min(2 + len - input_.size(), data.size());
      input_.insert(input_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
      data = data.subspan(take);
      if (input_.size() == 2 + len) {
        HandleFrame(std::span<const uint8_t>(input_).subspan(2));
        input_.clear();  // keeps its capacity for the next split frame
        partial_timer_armed_ = false;
        framed = true;
      }
    }
    if (closed_) return;
    if (!paused_ && !input_.empty()) {
      // The clock for a partial frame starts at its first byte and is not reset by later bytes,
      // so a client trickling one byte at a time is still cut off.
      if (!partial_timer_armed_) {
        const auto rt = owner_.options_.read_timeout;
        ArmTimer(rt.count() > 0 ? rt : owner_.options_.idle_timeout);
        partial_timer_armed_ = true;
      }
    } else if (framed) {
      ArmTimer(owner_.options_.idle_timeout);
    }
  }

  void HandleFrame(std::span<const uint8_t> frame) noexcept {
    ++owner_.frames_;
    const ClientInfo client{reinterpret_cast<const sockaddr*>(&peer_), Transport::kTcp};
    owner_.handler_.HandlePacket(frame, client, *this);
  }

  void WriteDone(size_t bytes, int status) noexcept {
    pending_output_ -= bytes;
    if (status != 0) {
      log::Debug(kLog, uv::UvError(status, "write to " + Peer()).message);
      Close();
      return;
    }
    // A long answer (AXFR) being drained counts as activity; a half-sent query does not.
    if (paused_ || input_.empty()) ArmTimer(owner_.options_.idle_timeout);
    if (pending_output_ != 0 || closed_) return;
    if (paused_) {
      // Everything was written: handle the queries that waited, then read again.
      paused_ = false;
      backlog_.swap(input_);  // swapping keeps both buffers' capacity
      input_.clear();
      Consume(backlog_);
      backlog_.clear();
      if (closed_ || paused_ || pending_output_ != 0) return;
    }
    if (peer_eof_) {
      Close();  // the client half-closed and every answer has been written
    } else if (!reading_) {
      ResumeReading();
    }
  }

  // The client shut down its side: finish writing the answers already queued, then close.
  // A partial frame left in input_ can never complete and is dropped.
  void PeerClosed() noexcept {
    reading_ = false;  // libuv stops reading at EOF
    peer_eof_ = true;
    if (pending_output_ == 0 && !paused_) Close();
  }

  bool ResumeReading() noexcept {
    if (int rc = uv_read_start(stream(), &Connection::OnAlloc, &Connection::OnRead); rc != 0) {
      log::Debug(kLog, uv::UvError(rc, "read from " + Peer()).message);
      Close();
      return false;
    }
    reading_ = true;
    return true;
  }

  void ArmTimer(std::chrono::milliseconds timeout) noexcept {
    const uint64_t ms = timeout.count() > 0 ? static_cast<uint64_t>(timeout.count()) : 1;
    if (int rc = uv_timer_start(timer_.get(), &Connection::OnTimer, ms, 0); rc != 0) {
      log::Debug(kLog, uv::UvError(rc, "timer").message);
      Close();
    }
  }

  std::string Peer() const {
    return FormatSocketAddress(reinterpret_cast<const sockaddr*>(&peer_));
  }

  TcpListener& owner_;
  uv::Handle<uv_tcp_t> tcp_;
  uv::Handle<uv_timer_t> timer_;
  sockaddr_storage peer_{};
  std::vector<uint8_t> input_;    // unhandled bytes: a split frame, or the rest of a read (paused)
  std::vector<uint8_t> backlog_;  // input_ being handled after a pause
  size_t pending_output_ = 0;     // bytes submitted to uv_write and not yet completed
  bool reading_ = false;          // uv_read_start is active
  bool paused_ = false;           // pending_output_ went over the limit
  bool peer_eof_ = false;         // the client half-closed the connection
  bool partial_timer_armed_ = false;
  bool closed_ = false;
  std::shared_ptr<Connection*> alive_ = std::make_shared<Connection*>(this);
};

TcpListener::TcpListener(uv_loop_t* loop, PacketHandler& handler, TcpListenerOptions options)
    : loop_(loop), handler_(handler), options_(options) {}

TcpListener::~TcpListener() { Stop(); }

Status TcpListener::Start(const sockaddr* address) {
  const std::string what = "listen tcp " + FormatSocketAddress(address);
  if (address == nullptr || (address->sa_family != AF_INET && address->sa_family != AF_INET6)) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": not an IPv4 or IPv6 address");
  }
  Stop();
  if (read_buffer_ == nullptr)
    read_buffer_ = std::make_unique_for_overwrite<char[]>(kReadBufferSize);
  const unsigned family = address->sa_family;
  uv_loop_t* loop = loop_;
  if (auto st = server_.Open(
          [loop, family](uv_tcp_t* h) { return uv_tcp_init_ex(loop, h, family); }, this);
      !st) {
    return st.error().WithContext(what);
  }
  if (options_.reuse_port) {
    if (Status st = SetReusePort(reinterpret_cast<uv_handle_t*>(server_.get()), what); !st) {
      Stop();
      return st;
    }
  }
  const unsigned bind_flags = family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  // libuv reports some bind errors (EADDRINUSE) only from uv_listen; both get the same context.
  if (int rc = uv_tcp_bind(server_.get(), address, bind_flags); rc != 0) {
    Stop();
    return uv::UvError(rc, what);
  }
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_.get()), options_.backlog,
                         &TcpListener::OnConnection);
      rc != 0) {
    Stop();
    return uv::UvError(rc, what);
  }
  return {};
}

void TcpListener::Stop() noexcept {
  server_.Close();
  connections_.clear();  // ~Connection closes its handles; queued writes are cancelled
}

uint16_t TcpListener::LocalPort() const noexcept {
  if (server_.get() == nullptr) return 0;
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getsockname(server_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(reinterpret_cast<const sockaddr*>(&ss));
}

void TcpListener::OnConnection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<TcpListener*>(server->data);
  if (self == nullptr) return;
  if (status != 0) {
    log::Warning(kLog, uv::UvError(status, "accept").message);
    return;
  }
  self->Accept();
}

void TcpListener::Accept() noexcept {
  auto* server = reinterpret_cast<uv_stream_t*>(server_.get());
  if (connections_.size() >= options_.max_connections) {
    if (Reject()) ++rejected_over_limit_;
    return;
  }
  auto conn = std::make_unique<Connection>(*this);
  if (auto st = conn->Open(loop_); !st) {
    log::Warning(kLog, "accept: " + st.error().message);
    Reject();  // libuv stops accepting until the pending connection is taken
    return;
  }
  if (int rc = uv_accept(server, conn->stream()); rc != 0) {
    log::Warning(kLog, uv::UvError(rc, "accept").message);
    return;
  }
  ++accepted_;
  if (!conn->Start()) return;
  Connection* key = conn.get();
  connections_.emplace(key, std::move(conn));
}

bool TcpListener::Reject() noexcept {
  // Take the connection off the backlog and close it at once (Handle's destructor).
  uv::Handle<uv_tcp_t> rejected;
  uv_loop_t* loop = loop_;
  if (auto st = rejected.Open([loop](uv_tcp_t* h) { return uv_tcp_init(loop, h); }, nullptr); !st) {
    log::Warning(kLog, "reject connection: " + st.error().message);
    return false;
  }
  return uv_accept(reinterpret_cast<uv_stream_t*>(server_.get()),
                   reinterpret_cast<uv_stream_t*>(rejected.get())) == 0;
}

void TcpListener::Remove(Connection* connection) noexcept { connections_.erase(connection); }

}  // namespace petdns::listener
