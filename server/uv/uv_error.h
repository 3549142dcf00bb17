// Turns libuv return codes into petdns::Error. Pure function, callable from any thread.
#pragma once

#include <string_view>

#include "server/common/error.h"

namespace petdns::uv {

// Returns an Error whose message is "what: <uv_strerror(rc)>", or just the libuv text when `what`
// is empty. `rc` is a negative libuv error code.
Error UvError(int rc, std::string_view what = {});

}  // namespace petdns::uv
