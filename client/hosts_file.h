// The hosts file peer-finder keeps with -hosts-file: /etc/hosts format, one line per peer
// address, between two marker comments so the file's other lines survive every rewrite.
// Written to a temporary file in the same folder and renamed over the old one, so readers see
// the old or the new file, never a mix. Single-threaded (the poll loop).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/error.h"

namespace petdns::client {

inline constexpr std::string_view kHostsBeginMarker =
    "# BEGIN petdns peer-finder: managed block, rewritten on every peer change";
inline constexpr std::string_view kHostsEndMarker = "# END petdns peer-finder";

struct HostsEntry {
  std::string address;             // "10.244.1.5", "fd00::5"
  std::vector<std::string> names;  // "web-0.nginx.default.svc.cluster.local", "web-0.nginx", ...
};

// The names a peer gets: its FQDN, then "<pet>.<service>" and "<pet>" (the first two labels and
// the first label), without repeats: "web-0.nginx.default.svc.cluster.local web-0.nginx web-0".
std::vector<std::string> HostNamesFor(std::string_view fqdn);

// `existing` with the managed block replaced by one for `entries` ("address<TAB>names...").
// The block stays where it was; without one it is appended. A BEGIN marker without END takes
// everything after it. Every other line is kept byte for byte.
std::string RenderHostsFile(std::string_view existing, const std::vector<HostsEntry>& entries);

enum class HostsWrite { kUnchanged, kReplaced, kRewrittenInPlace };

class HostsFileWriter {
 public:
  // rename(2), replaceable so tests can make it fail like a bind-mounted file does.
  using RenameFn = std::function<int(const char* from, const char* to)>;

  explicit HostsFileWriter(std::string path, RenameFn rename = nullptr);

  // Reads the file (missing = empty), renders the new block and, if the content changes, writes
  // it: temp file + fsync + rename, keeping the old file's mode. When the rename fails with EBUSY
  // or EXDEV (the file is a bind mount, as /etc/hosts is in a container) or no temp file can be
  // created next to it, the file is rewritten in place instead (kRewrittenInPlace).
  [[nodiscard]] Result<HostsWrite> Write(const std::vector<HostsEntry>& entries);

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  RenameFn rename_;
};

}  // namespace petdns::client
