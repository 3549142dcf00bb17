// The peer-finder program: start-up (flags, own FQDN from the hostname and the resolv.conf
// search list) and the poll loop that runs the on-start/on-change scripts, exactly as the
// original Kubernetes peer-finder does (log lines, timing, exit codes), plus petdns's opt-in
// extensions (hosts file, minimum peer count, start-up timeout, poll interval, DNS server).
// Everything outside the process (clock, DNS, scripts, hostname, files, stderr) is injected, so
// unit tests run it without sleeping or network. Single-threaded.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/clock.h"
#include "client/flags.h"
#include "client/script_runner.h"
#include "client/srv_lookup.h"
#include "server/common/error.h"

namespace petdns::client {

struct PeerFinderEnv {
  Clock* clock = nullptr;
  ScriptRunner* scripts = nullptr;
  // Receives everything the program writes (it writes to stderr only, as the original).
  std::function<void(std::string_view)> stderr_sink;
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  std::function<Result<std::string>()> hostname;  // the system (UTS) hostname
  std::function<Result<std::string>(const std::string& path)> read_file;
  // Builds the DNS client once the options and the hostname are known.
  std::function<std::unique_ptr<PeerResolver>(const PeerFinderOptions& options,
                                              const std::string& hostname)>
      make_resolver;
};

// Runs the whole program for `args` (argv without argv[0]; `program` is argv[0]) and returns
// its exit status: 0 after "Peer finder exiting" or -h, 1 for the original's fatal errors and
// the start-up timeout, 2 for flag errors. Without -on-change it returns after the first run;
// with -on-change it polls forever (the process ends by a signal).
int PeerFinderMain(std::string_view program, const std::vector<std::string>& args,
                   const PeerFinderEnv& env);

}  // namespace petdns::client
