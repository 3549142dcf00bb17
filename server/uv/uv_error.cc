#include "server/uv/uv_error.h"

#include <uv.h>

#include <string>

namespace petdns::uv {
namespace {

ErrorCode CodeFor(int rc) {
  switch (rc) {
    case UV_EINVAL:
    case UV_EAFNOSUPPORT:
    case UV_EADDRNOTAVAIL:
      return ErrorCode::kInvalidArgument;
    case UV_ENOENT:
      return ErrorCode::kNotFound;
    case UV_EADDRINUSE:
    case UV_EACCES:
    case UV_EAGAIN:
    case UV_EBUSY:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kIo;
  }
}

}  // namespace

Error UvError(int rc, std::string_view what) {
  std::string message;
  if (!what.empty()) {
    message.append(what);
    message.append(": ");
  }
  message.append(uv_strerror(rc));
  return Error{CodeFor(rc), std::move(message)};
}

}  // namespace petdns::uv
