#include "client/peer_finder.h"

#include <algorithm>
#include <map>
#include <set>

#include "client/go_log.h"
#include "client/hosts_file.h"
#include "client/resolv_conf.h"

namespace petdns::client {
namespace {

constexpr std::string_view kIncompleteArgs =
    "Incomplete args, require -on-change and/or -on-start, -service and -ns or an env var for "
    "POD_NAMESPACE.";

// The original's poll loop (contrib peer-finder.go, main's `for` statement) plus extensions.
class PeerLoop {
 public:
  PeerLoop(const PeerFinderOptions& options, std::string my_name, const PeerFinderEnv& env,
           GoLogger& log, PeerResolver& resolver)
      : options_(options),
        my_name_(std::move(my_name)),
        env_(env),
        log_(log),
        resolver_(resolver),
        hosts_(options.hosts_file) {}

  int Run(std::string script);

 private:
  void Sleep();
  // Resolves the peers' addresses and rewrites the hosts file if its content changes.
  // `accepted`: a new peer list (address errors are logged; a write error is fatal).
  bool UpdateHostsFile(const std::vector<std::string>& peers, bool accepted);
  std::string Describe(std::string_view first_line) const;

  const PeerFinderOptions& options_;
  const std::string my_name_;
  const PeerFinderEnv& env_;
  GoLogger& log_;
  PeerResolver& resolver_;
  HostsFileWriter hosts_;
  std::map<std::string, std::vector<std::string>> addresses_;  // last known, per peer
  bool started_ = false;  // a peer list was accepted (on-start ran)
  std::chrono::steady_clock::time_point deadline_;
  std::vector<std::string> last_list_;  // the last list DNS returned, for the timeout message
};

std::string PeerLoop::Describe(std::string_view first_line) const {
  return std::string(first_line) + "\nMy Hostname: " + my_name_ +
         "\nHosts in list: " + Join(last_list_, ", ");
}

void PeerLoop::Sleep() {
  std::chrono::nanoseconds pause = options_.poll_interval;
  if (!started_ && options_.timeout.count() > 0) {
    // Wake up for the deadline rather than up to one interval after it.
    auto left = deadline_ - env_.clock->MonotonicNow();
    pause = std::clamp<std::chrono::nanoseconds>(left, std::chrono::nanoseconds::zero(), pause);
  }
  env_.clock->Sleep(pause);
}

bool PeerLoop::UpdateHostsFile(const std::vector<std::string>& peers, bool accepted) {
  std::map<std::string, std::vector<std::string>> next;
  std::vector<HostsEntry> entries;
  size_t addresses = 0;
  for (const std::string& peer : peers) {
    Result<std::vector<std::string>> found = resolver_.LookupAddresses(peer);
    if (found) {
      next[peer] = *found;
    } else {
      // Keep the last known addresses through a failed lookup.
      if (auto old = addresses_.find(peer); old != addresses_.end()) next[peer] = old->second;
      if (accepted) log_.Print("No address for " + peer + ": " + found.error().message);
    }
    for (const std::string& address : next[peer]) {
      entries.push_back(HostsEntry{address, HostNamesFor(peer)});
      ++addresses;
    }
  }
  addresses_ = std::move(next);
  Result<HostsWrite> wrote = hosts_.Write(entries);
  if (!wrote) {
    log_.Print("Failed to write hosts file " + hosts_.path() + ": " + wrote.error().message);
    return !accepted;
  }
  if (*wrote != HostsWrite::kUnchanged) {
    log_.Print("Updated hosts file " + hosts_.path() + ": " + std::to_string(addresses) +
               " addresses for " + std::to_string(peers.size()) + " peers" +
               (*wrote == HostsWrite::kRewrittenInPlace ? " (rewritten in place)" : ""));
  }
  return true;
}

int PeerLoop::Run(std::string script) {
  std::set<std::string> peers;
  deadline_ = env_.clock->MonotonicNow() + options_.timeout;
  // The original loops while `script` is non-empty: after the first run it becomes -on-change.
  while (!started_ || !options_.on_change.empty()) {
    if (!started_ && options_.timeout.count() > 0 && env_.clock->MonotonicNow() >= deadline_) {
      bool found_myself =
          std::find(last_list_.begin(), last_list_.end(), my_name_) != last_list_.end();
      std::string what =
          found_myself ? "waiting for at least " + std::to_string(options_.min_peers) + " peers."
                       : "waiting to find myself in the list.";
      log_.Print(Describe("Timed out after " + FormatGoDuration(options_.timeout) + " " + what));
      return 1;
    }
    Result<std::vector<std::string>> targets = resolver_.LookupSrv(options_.service);
    if (!targets) {
      log_.Print(targets.error().message);
      Sleep();
      continue;
    }
    std::set<std::string> new_peers;
    for (const std::string& target : *targets) {
      // The original cuts the last character, the root dot: "web-0.nginx...local." -> "...local".
      new_peers.insert(target.empty() ? target : target.substr(0, target.size() - 1));
    }
    std::vector<std::string> list(new_peers.begin(), new_peers.end());
    last_list_ = list;
    if (new_peers == peers || !new_peers.contains(my_name_)) {
      // Also printed when the list is merely unchanged: the original does exactly this.
      log_.Print(Describe("Have not found myself in list yet."));
      if (started_ && !options_.hosts_file.empty()) {
        UpdateHostsFile({peers.begin(), peers.end()}, false);  // failures are logged, not fatal
      }
      Sleep();
      continue;
    }
    if (!started_ && options_.min_peers > static_cast<int64_t>(list.size())) {
      log_.Print(Describe("Found myself, waiting for at least " +
                          std::to_string(options_.min_peers) + " peers."));
      Sleep();
      continue;
    }
    log_.Print("Peer list updated\nwas " + GoList({peers.begin(), peers.end()}) + "\nnow " +
               GoList(list));
    if (!options_.hosts_file.empty() && !UpdateHostsFile(list, true)) return 1;
    if (!script.empty()) {
      std::string stdin_text = Join(list, "\n");
      log_.Print("execing: " + script + " with stdin: " + stdin_text);
      ScriptResult ran = env_.scripts->Run(script, stdin_text);
      if (!ran.error.empty()) {
        log_.Print("Failed to execute " + script + ": " + ran.output + ", err: " + ran.error);
        return 1;
      }
      log_.Print(ran.output);
    }
    peers = std::move(new_peers);
    script = options_.on_change;
    started_ = true;
    Sleep();
  }
  log_.Print("Peer finder exiting");
  return 0;
}

}  // namespace

int PeerFinderMain(std::string_view program, const std::vector<std::string>& args,
                   const PeerFinderEnv& env) {
  PeerFinderOptions options;
  FlagParseResult flags = ParseFlags(program, args, options);
  if (flags.exit_code >= 0) {
    env.stderr_sink(flags.output);
    return flags.exit_code;
  }
  GoLogger log(*env.clock, env.stderr_sink);

  std::string ns = options.ns;
  if (ns.empty()) ns = env.getenv("POD_NAMESPACE").value_or("");
  std::string hostname = options.hostname;
  if (hostname.empty()) {
    Result<std::string> system = env.hostname();
    if (!system) {
      log.Print("Failed to get hostname: " + system.error().message);
      return 1;
    }
    hostname = *system;
  }

  std::string domain_name;
  if (options.domain.empty()) {
    Result<std::string> resolv_conf = env.read_file(options.resolv_conf);
    if (!resolv_conf) {
      log.Print("Unable to read " + options.resolv_conf);
      return 1;
    }
    std::string goal = FindClusterDomain(*resolv_conf, !ns.empty());
    if (!goal.empty()) domain_name = ns.empty() ? goal : ns + "." + goal;
    log.Print("Determined Domain to be " + domain_name);
  } else {
    domain_name = ns + ".svc." + options.domain;
  }

  bool nothing_to_do =
      options.on_change.empty() && options.on_start.empty() && options.hosts_file.empty();
  if (options.service.empty() || domain_name.empty() || nothing_to_do) {
    log.Print(kIncompleteArgs);
    return 1;
  }

  std::string my_name = hostname + "." + options.service + "." + domain_name;
  std::string script = options.on_start;
  if (script.empty() && !options.on_change.empty()) {
    script = options.on_change;
    log.Print("No on-start supplied, on-change " + script + " will be applied on start.");
  }
  std::unique_ptr<PeerResolver> resolver = env.make_resolver(options, hostname);
  PeerLoop loop(options, std::move(my_name), env, log, *resolver);
  return loop.Run(std::move(script));
}

}  // namespace petdns::client
