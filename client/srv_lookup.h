// DNS lookups for peer-finder. DnsPeerResolver reproduces what the original's
// net.LookupSRV("", "", service) did through Go's pure-Go resolver (Go 1.19, dnsclient_unix.go):
// resolv.conf search list and ndots order, attempts x servers per name, UDP with TCP fallback on
// truncation, and Go's error texts ("lookup nginx on 10.96.0.10:53: no such host"). ldns builds
// and parses the messages; the sockets are blocking POSIX calls with deadlines. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "client/resolv_conf.h"
#include "server/common/error.h"

namespace petdns::client {

// What the poll loop needs from DNS; faked in unit tests. Error messages are the texts to log.
class PeerResolver {
 public:
  virtual ~PeerResolver() = default;
  // SRV targets for `service` exactly as Go's net.LookupSRV("", "", service) returns them:
  // rooted ("web-0.nginx.default.svc.cluster.local."), case kept, duplicates kept.
  [[nodiscard]] virtual Result<std::vector<std::string>> LookupSrv(const std::string& service) = 0;
  // A, then AAAA addresses of a fully qualified name (for the hosts file); text form.
  [[nodiscard]] virtual Result<std::vector<std::string>> LookupAddresses(
      const std::string& fqdn) = 0;
};

// Go's isDomainName (net/dnsclient.go): the check Go applies to queried names and SRV targets.
bool IsDomainName(std::string_view s);

class DnsPeerResolver final : public PeerResolver {
 public:
  // Reads `resolv_conf_path` now, and again when its mtime changes (checked at most every 5 s,
  // as Go does). A non-empty `dns_server` ("ip:port", "[ip6]:port" or "ip") replaces the
  // nameservers; the search list and options still come from the file. `hostname` gives the
  // default search domain when the file has none.
  DnsPeerResolver(std::string resolv_conf_path, std::string dns_server, std::string hostname);
  // A fixed configuration, never reloaded (tests).
  explicit DnsPeerResolver(ResolvConf conf);

  Result<std::vector<std::string>> LookupSrv(const std::string& service) override;
  Result<std::vector<std::string>> LookupAddresses(const std::string& fqdn) override;

  const ResolvConf& conf() const noexcept { return conf_; }

  // One answer-section record: type, raw owner name, and data (SRV: raw target; A/AAAA: text).
  struct Record {
    uint16_t type = 0;
    std::string owner;
    std::string data;
  };

 private:
  struct Failure;
  void MaybeReload();
  // Go's Resolver.lookup: every name of the name list until one has records of `qtype`.
  Result<std::vector<Record>> Lookup(const std::string& name, uint16_t qtype);

  std::string path_;
  std::string dns_server_;
  std::string hostname_;
  bool reloadable_ = false;
  ResolvConf conf_;
  std::optional<std::chrono::steady_clock::time_point> last_check_;
  int64_t mtime_ns_ = -1;
  uint32_t server_offset_ = 0;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace petdns::client
