#include "client/resolv_conf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/unique_fd.h"

namespace petdns::client {
namespace {

bool IsGoSpace(char c) {  // RE2's \s
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

bool IsLdh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool IsAlnum(char c) { return IsLdh(c) && c != '-'; }

std::vector<std::string_view> Fields(std::string_view line) {  // Go's getFields
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\r' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\r' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

int Dtoi(std::string_view s) {  // Go's dtoi, result only
  constexpr int kBig = 0xFFFFFF;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    n = n * 10 + (c - '0');
    if (n >= kBig) return kBig;
  }
  return n;
}

std::string EnsureRooted(std::string_view s) {
  std::string out(s);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

std::vector<std::string> DefaultSearch(std::string_view hostname) {
  size_t dot = hostname.find('.');
  if (dot != std::string_view::npos && dot < hostname.size() - 1) {
    return {EnsureRooted(hostname.substr(dot + 1))};
  }
  return {};
}

bool IsIpLiteral(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return true;
  // IPv6 may carry a zone ("fe80::1%eth0"), as Go's parseIPv6Zone allows.
  std::string bare = s.substr(0, s.find('%'));
  return inet_pton(AF_INET6, bare.c_str(), buf) == 1;
}

// TAIL = ([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9]{2,63} at `p`, with RE2's leftmost-first preference;
// returns the end of the match or npos.
size_t MatchTail(std::string_view c, size_t p) {
  // Collect the chain of "label." groups; each group is forced to be the maximal LDH run.
  std::vector<size_t> group_ends = {p};
  size_t q = p;
  while (true) {
    size_t r = q;
    while (r < c.size() && IsLdh(c[r])) ++r;
    size_t run = r - q;
    if (run < 1 || run > 63 || r >= c.size() || c[r] != '.') break;
    q = r + 1;
    group_ends.push_back(q);
  }
  for (size_t k = group_ends.size(); k-- > 0;) {
    size_t start = group_ends[k];
    size_t r = start;
    while (r < c.size() && r - start < 63 && IsAlnum(c[r])) ++r;
    if (r - start >= 2) return r;
  }
  return std::string_view::npos;
}

// Whether the goal matches at p; sets `end`.
bool MatchGoal(std::string_view c, size_t p, bool with_namespace, size_t& end) {
  auto svc_then_tail = [&](size_t q) {
    // "svc", one character other than '\n' (the unescaped '.'), then TAIL.
    if (q + 4 > c.size() || c.substr(q, 3) != "svc" || c[q + 3] == '\n') return false;
    size_t e = MatchTail(c, q + 4);
    if (e == std::string_view::npos) return false;
    end = e;
    return true;
  };
  if (with_namespace) return svc_then_tail(p);
  size_t run = 0;
  while (p + run < c.size() && run < 63 && IsLdh(c[p + run])) ++run;
  for (size_t len = run; len >= 1; --len) {
    size_t q = p + len;  // the unescaped '.' after the namespace label
    if (q < c.size() && c[q] != '\n' && svc_then_tail(q + 1)) return true;
  }
  return false;
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Unexpected(ErrorCode::kIo, "open " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(ErrorCode::kIo, "read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

ResolvConf DefaultResolvConf(std::string_view hostname) {
  ResolvConf conf;
  conf.servers = {"127.0.0.1:53", "[::1]:53"};
  conf.search = DefaultSearch(hostname);
  return conf;
}

ResolvConf ParseResolvConf(std::string_view content, std::string_view hostname) {
  ResolvConf conf;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    std::string_view line =
        content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
    if (!line.empty() && (line[0] == ';' || line[0] == '#')) continue;
    std::vector<std::string_view> f = Fields(line);
    if (f.empty()) continue;
    if (f[0] == "nameserver") {
      if (f.size() > 1 && conf.servers.size() < 3 && IsIpLiteral(f[1])) {
        bool v6 = f[1].find(':') != std::string_view::npos;
        conf.servers.push_back(v6 ? "[" + std::string(f[1]) + "]:53" : std::string(f[1]) + ":53");
      }
    } else if (f[0] == "domain") {
      if (f.size() > 1) {
        conf.search = {EnsureRooted(f[1])};
      }
    } else if (f[0] == "search") {
      conf.search.clear();
      for (size_t i = 1; i < f.size(); ++i) {
        std::string name = EnsureRooted(f[i]);
        if (name != ".") conf.search.push_back(name);
      }
    } else if (f[0] == "options") {
      for (size_t i = 1; i < f.size(); ++i) {
        std::string_view s = f[i];
        if (s.starts_with("ndots:")) {
          conf.ndots = std::clamp(Dtoi(s.substr(6)), 0, 15);
        } else if (s.starts_with("timeout:")) {
          conf.timeout = std::chrono::seconds(std::max(Dtoi(s.substr(8)), 1));
        } else if (s.starts_with("attempts:")) {
          conf.attempts = std::max(Dtoi(s.substr(9)), 1);
        } else if (s == "rotate") {
          conf.rotate = true;
        } else if (s == "use-vc" || s == "usevc" || s == "tcp") {
          conf.use_tcp = true;
        }
      }
    }
  }
  if (conf.servers.empty()) conf.servers = {"127.0.0.1:53", "[::1]:53"};
  if (conf.search.empty()) conf.search = DefaultSearch(hostname);
  return conf;
}

std::vector<std::string> NameList(const ResolvConf& conf, std::string_view name) {
  size_t l = name.size();
  bool rooted = l > 0 && name.back() == '.';
  if (l > 254 || (l == 254 && !rooted)) return {};
  if (rooted) return {std::string(name)};
  bool has_ndots = std::count(name.begin(), name.end(), '.') >= conf.ndots;
  std::string bare = std::string(name) + ".";
  ++l;
  std::vector<std::string> names;
  if (has_ndots) names.push_back(bare);
  for (const std::string& suffix : conf.search) {
    if (l + suffix.size() <= 254) names.push_back(bare + suffix);
  }
  if (!has_ndots) names.push_back(bare);
  return names;
}

std::string FindClusterDomain(std::string_view c, bool with_namespace) {
  // The first line that starts with "search" and one whitespace character.
  size_t s = std::string_view::npos;
  for (size_t line = 0; line < c.size();) {
    if (c.substr(line).starts_with("search") && line + 6 < c.size() && IsGoSpace(c[line + 6])) {
      s = line;
      break;
    }
    size_t nl = c.find('\n', line);
    if (nl == std::string_view::npos) break;
    line = nl + 1;
  }
  if (s == std::string_view::npos) return "";
  // The goal closest to the end of the file that follows a whitespace character.
  for (size_t p = c.size(); p >= s + 7; --p) {
    if (!IsGoSpace(c[p - 1])) continue;
    size_t end = 0;
    if (MatchGoal(c, p, with_namespace, end)) return std::string(c.substr(p, end - p));
  }
  return "";
}

}  // namespace petdns::client
