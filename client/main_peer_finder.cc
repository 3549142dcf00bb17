#include "client/main_peer_finder.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "client/peer_finder.h"
#include "client/resolv_conf.h"

namespace petdns::client {
namespace {

// Go's os.Hostname on Linux: /proc/sys/kernel/hostname, else uname's nodename.
Result<std::string> SystemHostname() {
  if (Result<std::string> proc = ReadWholeFile("/proc/sys/kernel/hostname"); proc) {
    std::string name = *proc;
    if (!name.empty() && name.back() == '\n') name.pop_back();
    if (!name.empty()) return name;
  }
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) {
    return Unexpected(ErrorCode::kIo, std::string("gethostname: ") + std::strerror(errno));
  }
  return std::string(buf);
}

void WriteStderr(std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int RunPeerFinder(int argc, char** argv) {
  SystemClock clock;
  BashScriptRunner scripts;
  PeerFinderEnv env;
  env.clock = &clock;
  env.scripts = &scripts;
  env.stderr_sink = WriteStderr;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  env.hostname = SystemHostname;
  env.read_file = ReadWholeFile;
  env.make_resolver = [](const PeerFinderOptions& options, const std::string& hostname) {
    return std::make_unique<DnsPeerResolver>(options.resolv_conf, options.dns_server, hostname);
  };
  std::string program = argc > 0 && argv[0] != nullptr ? argv[0] : "peer-finder";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return PeerFinderMain(program, args, env);
}

}  // namespace petdns::client
