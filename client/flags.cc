#include "client/flags.h"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

namespace petdns::client {
namespace {

// Go flag value kinds: they decide the placeholder in the usage text and the zero value.
enum class Kind { kString, kInt, kDuration };

struct Flag {
  std::string_view name;
  Kind kind;
  std::string_view usage;
  std::string default_text;  // Go's DefValue
  // Sets the value; returns Go's error text on failure.
  std::function<std::optional<std::string>(std::string_view)> set;
};

constexpr std::string_view kParseError = "parse error";
constexpr std::string_view kRangeError = "value out of range";

bool IsDigitIn(char c, int base) {
  int v = -1;
  if (c >= '0' && c <= '9') v = c - '0';
  if (c >= 'a' && c <= 'z') v = c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') v = c - 'A' + 10;
  return v >= 0 && v < base;
}

// strconv.ParseInt(s, 0, 64) without underscores: "parse error" / "value out of range".
std::optional<std::string> ParseGoInt(std::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x') base = 16;
    if (p == 'o') base = 8;
    if (p == 'b') base = 2;
    if (base != 10) {
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  if (s.empty() && base != 8) return std::string(kParseError);
  uint64_t value = 0;
  bool overflow = false;
  for (char c : s) {
    if (!IsDigitIn(c, base)) return std::string(kParseError);
    int digit = (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      overflow = true;
      continue;
    }
    value = value * base + digit;
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (overflow || value > kMax + (neg ? 1 : 0)) return std::string(kRangeError);
  out = neg ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  return std::nullopt;
}

// "ip:port" or "[ip6]:port"; a bare IP means port 53.
std::optional<std::string> CheckHostPort(std::string_view s) {
  std::string host;
  std::string_view port = "53";
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return "missing ']' in address";
    host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "want ip:port or [ip6]:port";
      port = rest.substr(1);
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    size_t colon = s.find(':');
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  } else {
    host = std::string(s);
  }
  std::string bare = host.substr(0, host.find('%'));
  unsigned char buf[16];
  if (inet_pton(AF_INET, bare.c_str(), buf) != 1 && inet_pton(AF_INET6, bare.c_str(), buf) != 1) {
    return "not an IP address (want ip:port or [ip6]:port)";
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(std::string(port)) > 65535) {
    return "bad port (want ip:port or [ip6]:port)";
  }
  return std::nullopt;
}

std::vector<Flag> MakeFlags(PeerFinderOptions* o) {
  auto str = [](std::string* target) {
    return [target](std::string_view v) -> std::optional<std::string> {
      *target = std::string(v);
      return std::nullopt;
    };
  };
  auto duration = [](Duration* target) {
    return [target](std::string_view v) -> std::optional<std::string> {
      auto d = ParseGoDuration(v);
      if (!d) return std::string(kParseError);
      *target = *d;
      return std::nullopt;
    };
  };
  static PeerFinderOptions defaults;
  if (o == nullptr) o = &defaults;  // usage text only: setters are never called
  std::vector<Flag> flags = {
      // The original's five flags, texts verbatim.
      {"domain", Kind::kString,
       "The Cluster Domain which is used by the Cluster, if not set tries to determine it from "
       "/etc/resolv.conf file.",
       "", str(&o->domain)},
      {"ns", Kind::kString,
       "The namespace this pod is running in. If unspecified, the POD_NAMESPACE env var is used.",
       "", str(&o->ns)},
      {"on-change", Kind::kString,
       "Script to run on change, must accept a new line separated list of peers via stdin.", "",
       str(&o->on_change)},
      {"on-start", Kind::kString,
       "Script to run on start, must accept a new line separated list of peers via stdin.", "",
       str(&o->on_start)},
      {"service", Kind::kString,
       "Governing service responsible for the DNS records of the domain this pod is in.", "",
       str(&o->service)},
      // petdns extensions.
      {"dns-server", Kind::kString,
       "petdns extension: query this DNS server (`ip:port`, IPv6 as [ip]:port) instead of the "
       "nameservers in the resolv.conf file; its search list and options still apply.",
       "",
       [o](std::string_view v) -> std::optional<std::string> {
         if (auto err = CheckHostPort(v)) return err;
         o->dns_server = std::string(v);
         return std::nullopt;
       }},
      {"hostname", Kind::kString,
       "petdns extension: use this `name` as the pod's hostname instead of the system hostname.",
       "", str(&o->hostname)},
      {"hosts-file", Kind::kString,
       "petdns extension: keep an /etc/hosts-format `file` with a line \"IP FQDN pet.service pet\" "
       "for each peer address, replaced atomically; lines outside petdns's marker comments are "
       "kept.",
       "", str(&o->hosts_file)},
      {"min-peers", Kind::kInt,
       "petdns extension: run the first script only when the peer list has at least this many "
       "peers.",
       "0",
       [o](std::string_view v) -> std::optional<std::string> {
         return ParseGoInt(v, o->min_peers);
       }},
      {"poll-interval", Kind::kDuration, "petdns extension: time to wait between two DNS polls.",
       FormatGoDuration(o->poll_interval), duration(&o->poll_interval)},
      {"resolv-conf", Kind::kString,
       "petdns extension: read the nameservers, search list, options and cluster domain from this "
       "`file`.",
       o->resolv_conf, str(&o->resolv_conf)},
      {"timeout", Kind::kDuration,
       "petdns extension: exit with status 1 if no peer list with this pod in it was found within "
       "this time (0s: wait forever).",
       FormatGoDuration(o->timeout), duration(&o->timeout)},
  };
  std::sort(flags.begin(), flags.end(),
            [](const Flag& a, const Flag& b) { return a.name < b.name; });
  return flags;
}

bool IsZeroValue(const Flag& f) {
  switch (f.kind) {
    case Kind::kString:
      return f.default_text.empty();
    case Kind::kInt:
      return f.default_text == "0";
    case Kind::kDuration:
      return f.default_text == "0s";
  }
  return false;
}

// Go's flag.PrintDefaults for one flag.
std::string DefaultsLine(const Flag& f) {
  std::string usage(f.usage);
  std::string placeholder;
  if (size_t open = usage.find('`'); open != std::string::npos) {
    if (size_t close = usage.find('`', open + 1); close != std::string::npos) {
      placeholder = usage.substr(open + 1, close - open - 1);
      usage = usage.substr(0, open) + placeholder + usage.substr(close + 1);
    }
  }
  if (placeholder.empty()) {
    placeholder = f.kind == Kind::kString ? "string" : f.kind == Kind::kInt ? "int" : "duration";
  }
  std::string line = "  -" + std::string(f.name) + " " + placeholder;
  line += "\n    \t";
  for (char c : usage) {
    line += c;
    if (c == '\n') line += "    \t";
  }
  if (!IsZeroValue(f)) {
    line +=
        " (default " + (f.kind == Kind::kString ? GoQuote(f.default_text) : f.default_text) + ")";
  }
  line += "\n";
  return line;
}

std::string Usage(std::string_view program, const std::vector<Flag>& flags) {
  std::string out = "Usage of " + std::string(program) + ":\n";
  for (const Flag& f : flags) out += DefaultsLine(f);
  return out;
}

// Leading decimal digits as in Go's time.leadingInt; false on overflow.
bool LeadingInt(std::string_view& s, uint64_t& x) {
  size_t i = 0;
  x = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (x > (uint64_t{1} << 63) / 10) return false;
    x = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (x > (uint64_t{1} << 63)) return false;
  }
  s.remove_prefix(i);
  return true;
}

}  // namespace

std::optional<Duration> ParseGoDuration(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration::zero();
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
    size_t before = s.size();
    uint64_t v = 0;
    if (!LeadingInt(s, v)) return std::nullopt;
    bool pre = before != s.size();
    uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t i = 0;
      bool overflow = false;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (overflow) continue;
        if (frac > (kLimit - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = frac * 10 + static_cast<uint64_t>(s[i] - '0');
        if (y > kLimit) {
          overflow = true;
          continue;
        }
        frac = y;
        scale *= 10;
      }
      post = i > 0;
      s.remove_prefix(i);
    }
    if (!pre && !post) return std::nullopt;
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9')) ++i;
    if (i == 0) return std::nullopt;
    std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = 0;
    if (unit_name == "ns") unit = 1;
    if (unit_name == "us" || unit_name == "\xc2\xb5s" || unit_name == "\xce\xbcs") unit = 1000;
    if (unit_name == "ms") unit = 1000000;
    if (unit_name == "s") unit = 1000000000;
    if (unit_name == "m") unit = 60 * uint64_t{1000000000};
    if (unit_name == "h") unit = 3600 * uint64_t{1000000000};
    if (unit == 0) return std::nullopt;
    if (v > kLimit / unit) return std::nullopt;
    v *= unit;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return std::nullopt;
    }
    total += v;
    if (total > kLimit) return std::nullopt;
  }
  if (neg) return Duration(static_cast<int64_t>(0 - total));
  if (total > kLimit - 1) return std::nullopt;
  return Duration(static_cast<int64_t>(total));
}

std::string FormatGoDuration(Duration d) {
  uint64_t u = static_cast<uint64_t>(d.count());
  bool neg = d.count() < 0;
  if (neg) u = 0 - u;
  std::string rev;  // built backwards, like Go's buffer
  auto frac = [&rev](uint64_t v, int prec) {
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      uint64_t digit = v % 10;
      print = print || digit != 0;
      if (print) rev += static_cast<char>('0' + digit);
      v /= 10;
    }
    if (print) rev += '.';
    return v;
  };
  auto integer = [&rev](uint64_t v) {
    if (v == 0) {
      rev += '0';
      return;
    }
    while (v > 0) {
      rev += static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  if (u < 1000000000) {
    if (u == 0) return "0s";
    rev += 's';
    int prec = 0;
    if (u < 1000) {
      rev += 'n';
    } else if (u < 1000000) {
      prec = 3;
      rev += "\xb5\xc2";  // "µ" reversed
    } else {
      prec = 6;
      rev += 'm';
    }
    integer(frac(u, prec));
  } else {
    rev += 's';
    u = frac(u, 9);
    integer(u % 60);
    u /= 60;
    if (u > 0) {
      rev += 'm';
      integer(u % 60);
      u /= 60;
      if (u > 0) {
        rev += 'h';
        integer(u);
      }
    }
  }
  if (neg) rev += '-';
  return std::string(rev.rbegin(), rev.rend());
}

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string UsageText(std::string_view program) { return Usage(program, MakeFlags(nullptr)); }

FlagParseResult ParseFlags(std::string_view program, std::span<const std::string> args,
                           PeerFinderOptions& options) {
  std::vector<Flag> flags = MakeFlags(&options);
  FlagParseResult result;
  auto fail = [&](const std::string& message) {
    result.exit_code = 2;
    result.output = message + "\n" + Usage(program, flags);
    return result;
  };
  size_t i = 0;
  while (i < args.size()) {
    std::string_view s = args[i];
    if (s.size() < 2 || s[0] != '-') break;  // first positional argument: stop
    size_t minuses = 1;
    if (s[1] == '-') {
      minuses = 2;
      if (s.size() == 2) break;  // "--" ends the flags
    }
    std::string_view name = s.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      return fail("bad flag syntax: " + std::string(s));
    }
    ++i;
    bool has_value = false;
    std::string_view value;
    if (size_t eq = name.find('=', 1); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto flag =
        std::find_if(flags.begin(), flags.end(), [&](const Flag& f) { return f.name == name; });
    if (flag == flags.end()) {
      if (name == "help" || name == "h") {
        result.exit_code = 0;
        result.output = Usage(program, flags);
        return result;
      }
      return fail("flag provided but not defined: -" + std::string(name));
    }
    if (!has_value && i < args.size()) {
      value = args[i++];
      has_value = true;
    }
    if (!has_value) return fail("flag needs an argument: -" + std::string(name));
    if (auto err = flag->set(value)) {
      return fail("invalid value " + GoQuote(value) + " for flag -" + std::string(name) + ": " +
                  *err);
    }
  }
  return result;
}

}  // namespace petdns::client
