// Socket options the UDP and TCP listeners share. Listener code only (libuv types).
#pragma once

#include <uv.h>

#include <string>

#include "server/common/error.h"

namespace petdns::listener {

// Sets SO_REUSEPORT on the handle's socket so several workers can bind one address. Errors carry
// `what` ("listen udp 127.0.0.1:53").
[[nodiscard]] Status SetReusePort(uv_handle_t* handle, const std::string& what);

}  // namespace petdns::listener
