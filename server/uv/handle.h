// RAII owner of one heap-allocated libuv handle (uv_udp_t, uv_tcp_t, uv_timer_t, uv_async_t,
// uv_signal_t, uv_poll_t). libuv may touch a handle until its close callback runs, so that callback
// frees it. Use on the thread that runs the handle's loop only.
#pragma once

#include <uv.h>

#include <memory>
#include <utility>

#include "server/common/error.h"
#include "server/uv/uv_error.h"

namespace petdns::uv {

template <class T>
class Handle {
 public:
  Handle() = default;
  ~Handle() { Close(); }
  Handle(const Handle&) = delete;             // exactly one owner per libuv handle
  Handle& operator=(const Handle&) = delete;  // (no moves are declared either)

  // Closes any current handle, then allocates a new one and runs `init` on it (e.g. a lambda that
  // calls uv_udp_init(loop, h)). On success the handle's `data` is `owner`.
  template <class Init>
  [[nodiscard]] Status Open(Init&& init, void* owner) {
    Close();
    auto h = std::make_unique<T>();
    if (int rc = init(h.get()); rc != 0) return UvError(rc);  // never initialised: plain delete
    h->data = owner;
    h_ = h.release();
    return {};
  }

  // Starts closing the handle; the memory is freed by the close callback. Callbacks still queued
  // for this handle find data == nullptr and must return without touching their owner.
  void Close() noexcept {
    if (h_ == nullptr) return;
    auto* base = reinterpret_cast<uv_handle_t*>(std::exchange(h_, nullptr));
    base->data = nullptr;
    uv_close(base, [](uv_handle_t* b) { delete reinterpret_cast<T*>(b); });
  }

  T* get() const noexcept { return h_; }

 private:
  T* h_ = nullptr;
};

}  // namespace petdns::uv
