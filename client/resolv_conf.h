// /etc/resolv.conf as the original peer-finder (a Go program) reads it: the resolver settings of
// Go's pure-Go DNS client (nameservers, search list, ndots, timeout, attempts) and the cluster
// domain found by the original's regular expression. Pure functions, any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"

namespace petdns::client {

struct ResolvConf {
  std::vector<std::string> servers;  // "ip:53" / "[ip6]:53" as Go writes them (up to 3)
  std::vector<std::string> search;   // rooted suffixes, e.g. "default.svc.cluster.local."
  int ndots = 1;
  std::chrono::milliseconds timeout = std::chrono::seconds(5);  // per exchange
  int attempts = 2;
  bool rotate = false;
  bool use_tcp = false;
};

// The whole content of a file (resolv.conf); an error for a missing or unreadable file or a
// folder, like Go's os.ReadFile.
Result<std::string> ReadWholeFile(const std::string& path);

// Go 1.19 dnsReadConfig on the file's content. `hostname` supplies the default search domain
// (the part after its first dot) when the file has no search or domain line.
ResolvConf ParseResolvConf(std::string_view content, std::string_view hostname);

// Go's settings when the file cannot be read: 127.0.0.1:53 and [::1]:53, search from hostname.
ResolvConf DefaultResolvConf(std::string_view hostname);

// The names Go tries, in order, for `name` (Go's dnsConfig.nameList): a rooted name alone;
// otherwise the bare name first if it has >= ndots dots, each search suffix, the bare name last
// if it has fewer. Every result is rooted. Empty if the name is too long.
std::vector<std::string> NameList(const ResolvConf& conf, std::string_view name);

// The cluster-domain part the original's regex finds in the whole resolv.conf `content`:
// with a namespace, the last "svc.<domain>" after the first search line ("svc.cluster.local");
// without one, the last "<ns>.svc.<domain>" ("default.svc.cluster.local"). Empty: no match.
// Implements the regex's exact (quirky) semantics without a regex engine.
std::string FindClusterDomain(std::string_view content, bool with_namespace);

}  // namespace petdns::client
