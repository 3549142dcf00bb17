#include "server/listener/socket_options.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "server/uv/uv_error.h"

namespace petdns::listener {

Status SetReusePort(uv_handle_t* handle, const std::string& what) {
  uv_os_fd_t fd = -1;
  if (int rc = uv_fileno(handle, &fd); rc != 0) return uv::UvError(rc, what);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return MakeError(ErrorCode::kIo, what + ": SO_REUSEPORT: " + std::strerror(errno));
  }
  return {};
}

}  // namespace petdns::listener
