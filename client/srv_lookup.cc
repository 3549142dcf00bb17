#include "client/srv_lookup.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "client/unique_fd.h"
#include "server/ldns/ldns_ptr.h"

namespace petdns::client {
namespace {

using petdns::ldns::LdnsPkt;
using petdns::ldns::MallocPtr;
using SteadyClock = std::chrono::steady_clock;

constexpr uint16_t kEdnsPayload = 1232;
constexpr auto kReloadCheckPeriod = std::chrono::seconds(5);

Unexpected GoError(std::string text) {
  return Unexpected(ErrorCode::kUnavailable, std::move(text));
}

// Go prints errno texts in lower case ("connection refused"); glibc capitalises the first letter.
std::string ErrnoText(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as Go prints it: "127.0.0.1:53", "[::1]:53"
};

// "ip:port", "[ip6]:port" or a bare IP (port 53).
std::optional<Endpoint> ParseServer(const std::string& server) {
  std::string host = server;
  std::string port = "53";
  if (!server.empty() && server[0] == '[') {
    size_t close = server.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = server.substr(1, close - 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') return std::nullopt;
      port = server.substr(close + 2);
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    size_t colon = server.find(':');
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  Endpoint ep;
  std::memcpy(&ep.addr, found->ai_addr, found->ai_addrlen);
  ep.len = found->ai_addrlen;
  freeaddrinfo(found);
  ep.text = JoinHostPort(host, port);
  return ep;
}

std::string SockaddrText(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return JoinHostPort(host, std::to_string(port));
}

std::string LocalText(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return "?";
  return SockaddrText(local);
}

// Waits until `fd` has `events` or the deadline passes: 1 ready, 0 timed out.
int WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return 1;  // let the following call report the error
  }
}

// A raw domain name ("a.b.c." / "."), as Go's dnsmessage.Name.String gives it.
std::string DnameText(const ldns_rdf* rdf) {
  if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return "";
  const uint8_t* data = ldns_rdf_data(rdf);
  size_t size = ldns_rdf_size(rdf);
  std::string out;
  size_t i = 0;
  while (i < size && data[i] != 0) {
    size_t len = data[i];
    if (i + 1 + len > size) break;
    out.append(reinterpret_cast<const char*>(data + i + 1), len);
    out.push_back('.');
    i += 1 + len;
  }
  return out.empty() ? "." : out;
}

struct Query {
  std::string name;  // rooted
  ldns_rr_type type;
  uint16_t id;
  std::vector<uint8_t> wire;
};

Result<Query> BuildQuery(const std::string& name, ldns_rr_type type, uint16_t id) {
  ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
  if (qname == nullptr) return GoError("cannot marshal DNS message");
  // Go asks with RD set; EDNS(0) with a 1232-byte payload as current Go releases do.
  LdnsPkt pkt(ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN, LDNS_RD));
  if (!pkt) {
    ldns_rdf_deep_free(qname);
    return GoError("cannot marshal DNS message");
  }
  ldns_pkt_set_id(pkt.get(), id);
  ldns_pkt_set_edns_udp_size(pkt.get(), kEdnsPayload);
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_status status = ldns_pkt2wire(&wire, pkt.get(), &size);
  MallocPtr<uint8_t> owned(wire);
  if (status != LDNS_STATUS_OK || wire == nullptr) return GoError("cannot marshal DNS message");
  return Query{name, type, id, std::vector<uint8_t>(wire, wire + size)};
}

enum class Match { kOk, kIgnore, kBad };

// Go's checkResponse: a response to our ID and question; anything else is ignored on UDP
// (possible spoofing) and an error on TCP.
Match ParseResponse(const std::vector<uint8_t>& buf, size_t n, const Query& q, LdnsPkt& out) {
  if (n < 12 || (buf[2] & 0x80) == 0 || ((buf[0] << 8) | buf[1]) != q.id) return Match::kIgnore;
  ldns_pkt* raw = nullptr;
  ldns_status status = ldns_wire2pkt(&raw, buf.data(), n);
  LdnsPkt pkt(raw);
  if (status != LDNS_STATUS_OK || !pkt) return Match::kBad;
  const ldns_rr_list* question = ldns_pkt_question(pkt.get());
  if (question == nullptr || ldns_rr_list_rr_count(question) == 0) return Match::kIgnore;
  const ldns_rr* rr = ldns_rr_list_rr(question, 0);
  ldns::LdnsRdf want(ldns_dname_new_frm_str(q.name.c_str()));
  if (ldns_rr_get_type(rr) != q.type || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !want ||
      ldns_dname_compare(ldns_rr_owner(rr), want.get()) != 0) {
    return Match::kIgnore;
  }
  out = std::move(pkt);
  return Match::kOk;
}

Result<LdnsPkt> UdpRoundTrip(const Endpoint& ep, const Query& q, SteadyClock::time_point deadline) {
  UniqueFd fd(::socket(ep.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return GoError("dial udp " + ep.text + ": socket: " + ErrnoText(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
    return GoError("dial udp " + ep.text + ": connect: " + ErrnoText(errno));
  }
  std::string conn = "udp " + LocalText(fd.get()) + "->" + ep.text;
  if (::send(fd.get(), q.wire.data(), q.wire.size(), MSG_NOSIGNAL) < 0) {
    return GoError("write " + conn + ": write: " + ErrnoText(errno));
  }
  std::vector<uint8_t> buf(65535);
  while (true) {
    if (WaitFor(fd.get(), POLLIN, deadline) == 0) return GoError("read " + conn + ": i/o timeout");
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return GoError("read " + conn + ": read: " + ErrnoText(errno));
    }
    LdnsPkt pkt;
    switch (ParseResponse(buf, static_cast<size_t>(n), q, pkt)) {
      case Match::kOk:
        return pkt;
      case Match::kBad:
        return GoError("cannot unmarshal DNS message");
      case Match::kIgnore:
        break;
    }
  }
}

// Sends or receives exactly `size` bytes before the deadline; returns Go's error text or "".
std::string TcpIo(int fd, bool write, uint8_t* data, size_t size, const std::string& conn,
                  SteadyClock::time_point deadline) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = write ? ::send(fd, data + done, size - done, MSG_NOSIGNAL)
                      : ::recv(fd, data + done, size - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0 && !write) return done == 0 ? "EOF" : "unexpected EOF";
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFor(fd, write ? POLLOUT : POLLIN, deadline) == 0) {
        return std::string(write ? "write " : "read ") + conn + ": i/o timeout";
      }
      continue;
    }
    const char* op = write ? "write" : "read";
    return std::string(op) + " " + conn + ": " + op + ": " + ErrnoText(errno);
  }
  return "";
}

Result<LdnsPkt> TcpRoundTrip(const Endpoint& ep, const Query& q, SteadyClock::time_point deadline) {
  UniqueFd fd(::socket(ep.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return GoError("dial tcp " + ep.text + ": socket: " + ErrnoText(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
    if (errno != EINPROGRESS)
      return GoError("dial tcp " + ep.text + ": connect: " + ErrnoText(errno));
    if (WaitFor(fd.get(), POLLOUT, deadline) == 0) {
      return GoError("dial tcp " + ep.text + ": i/o timeout");
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return GoError("dial tcp " + ep.text + ": connect: " + ErrnoText(err));
  }
  std::string conn = "tcp " + LocalText(fd.get()) + "->" + ep.text;
  std::vector<uint8_t> out(2 + q.wire.size());
  out[0] = static_cast<uint8_t>(q.wire.size() >> 8);
  out[1] = static_cast<uint8_t>(q.wire.size());
  std::copy(q.wire.begin(), q.wire.end(), out.begin() + 2);
  if (auto err = TcpIo(fd.get(), true, out.data(), out.size(), conn, deadline); !err.empty()) {
    return GoError(err);
  }
  uint8_t len_bytes[2];
  if (auto err = TcpIo(fd.get(), false, len_bytes, 2, conn, deadline); !err.empty()) {
    return GoError(err);
  }
  size_t size = (size_t{len_bytes[0]} << 8) | len_bytes[1];
  std::vector<uint8_t> buf(size);
  if (auto err = TcpIo(fd.get(), false, buf.data(), size, conn, deadline); !err.empty()) {
    return GoError(err);
  }
  LdnsPkt pkt;
  switch (ParseResponse(buf, size, q, pkt)) {
    case Match::kOk:
      return pkt;
    case Match::kBad:
      return GoError("cannot unmarshal DNS message");
    case Match::kIgnore:
      break;
  }
  return GoError("invalid DNS response");
}

// Go's Resolver.exchange: UDP, then TCP if the answer was truncated (or TCP only).
Result<LdnsPkt> Exchange(const std::string& server, const Query& q,
                         std::chrono::milliseconds timeout, bool use_tcp) {
  std::optional<Endpoint> ep = ParseServer(server);
  if (!ep) return GoError("dial udp " + server + ": invalid address");
  for (bool tcp : {false, true}) {
    if (use_tcp && !tcp) continue;
    SteadyClock::time_point deadline = SteadyClock::now() + timeout;
    Result<LdnsPkt> r = tcp ? TcpRoundTrip(*ep, q, deadline) : UdpRoundTrip(*ep, q, deadline);
    if (!r) return r;
    if (ldns_pkt_qdcount(r->get()) != 1) return GoError("invalid DNS response");
    if (ldns_pkt_tc(r->get())) continue;
    return r;
  }
  return GoError("no answer from DNS server");
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

bool IsDomainName(std::string_view s) {
  if (s == ".") return true;
  size_t l = s.size();
  if (l == 0 || l > 254 || (l == 254 && s[l - 1] != '.')) return false;
  char last = '.';
  bool non_numeric = false;
  size_t part = 0;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      non_numeric = true;
      ++part;
    } else if (c >= '0' && c <= '9') {
      ++part;
    } else if (c == '-') {
      if (last == '.') return false;
      ++part;
      non_numeric = true;
    } else if (c == '.') {
      if (last == '.' || last == '-') return false;
      if (part > 63 || part == 0) return false;
      part = 0;
    } else {
      return false;
    }
    last = c;
  }
  if (last == '-' || part > 63) return false;
  return non_numeric;
}

struct DnsPeerResolver::Failure {
  std::string err;
  std::string server;
};

DnsPeerResolver::DnsPeerResolver(std::string resolv_conf_path, std::string dns_server,
                                 std::string hostname)
    : path_(std::move(resolv_conf_path)),
      dns_server_(std::move(dns_server)),
      hostname_(std::move(hostname)),
      reloadable_(true) {
  if (!dns_server_.empty()) {
    if (auto ep = ParseServer(dns_server_)) dns_server_ = ep->text;
  }
  MaybeReload();
}

DnsPeerResolver::DnsPeerResolver(ResolvConf conf) : conf_(std::move(conf)) {}

void DnsPeerResolver::MaybeReload() {
  if (!reloadable_) return;
  SteadyClock::time_point now = SteadyClock::now();
  if (last_check_ && now - *last_check_ < kReloadCheckPeriod) return;
  last_check_ = now;
  int64_t mtime = MtimeNs(path_);
  if (mtime == mtime_ns_ && mtime != -1) return;
  mtime_ns_ = mtime;
  Result<std::string> text = ReadWholeFile(path_);
  conf_ = text ? ParseResolvConf(*text, hostname_) : DefaultResolvConf(hostname_);
  if (!dns_server_.empty()) conf_.servers = {dns_server_};
}

Result<std::vector<DnsPeerResolver::Record>> DnsPeerResolver::Lookup(const std::string& name,
                                                                     uint16_t qtype) {
  MaybeReload();
  if (!IsDomainName(name)) return GoError("lookup " + name + ": no such host");
  const auto type = static_cast<ldns_rr_type>(qtype);
  std::optional<Failure> last;
  for (const std::string& fqdn : NameList(conf_, name)) {
    // Go's tryOneName: `attempts` rounds over the servers; NXDOMAIN or no records of the type
    // end this name at once, other failures move on to the next server.
    uint32_t offset = conf_.rotate ? server_offset_++ : 0;
    size_t count = conf_.servers.size();
    bool name_done = false;
    for (int attempt = 0; attempt < conf_.attempts && !name_done; ++attempt) {
      for (size_t j = 0; j < count && !name_done; ++j) {
        const std::string& server = conf_.servers[(offset + j) % count];
        Result<Query> query = BuildQuery(fqdn, type, static_cast<uint16_t>(random_()));
        if (!query) {
          last = Failure{query.error().message, ""};
          name_done = true;
          break;
        }
        Result<LdnsPkt> reply = Exchange(server, *query, conf_.timeout, conf_.use_tcp);
        if (!reply) {
          last = Failure{reply.error().message, server};
          continue;
        }
        const ldns_pkt* pkt = reply->get();
        ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
        if (rcode == LDNS_RCODE_NXDOMAIN) {
          last = Failure{"no such host", server};
          name_done = true;
          break;
        }
        if (rcode == LDNS_RCODE_NOERROR && !ldns_pkt_aa(pkt) && !ldns_pkt_ra(pkt) &&
            ldns_pkt_ancount(pkt) == 0) {
          last = Failure{"lame referral", server};
          continue;
        }
        if (rcode != LDNS_RCODE_NOERROR) {
          last = Failure{"server misbehaving", server};
          continue;
        }
        std::vector<Record> records;
        bool found = false;
        const ldns_rr_list* answer = ldns_pkt_answer(pkt);
        for (size_t i = 0; answer != nullptr && i < ldns_rr_list_rr_count(answer); ++i) {
          const ldns_rr* rr = ldns_rr_list_rr(answer, i);
          Record rec;
          rec.type = static_cast<uint16_t>(ldns_rr_get_type(rr));
          rec.owner = DnameText(ldns_rr_owner(rr));
          if (rec.type == qtype) found = true;
          if (rec.type == LDNS_RR_TYPE_SRV && ldns_rr_rd_count(rr) >= 4) {
            rec.data = DnameText(ldns_rr_rdf(rr, 3));
          } else if ((rec.type == LDNS_RR_TYPE_A || rec.type == LDNS_RR_TYPE_AAAA) &&
                     ldns_rr_rd_count(rr) >= 1) {
            MallocPtr<char> text(ldns_rdf2str(ldns_rr_rdf(rr, 0)));
            if (text) rec.data = text.get();
          }
          records.push_back(std::move(rec));
        }
        if (!found) {
          last = Failure{"no such host", server};
          name_done = true;
          break;
        }
        return records;
      }
    }
  }
  if (!last) return GoError("lookup " + name + ": no such host");
  std::string text = "lookup " + name;
  if (!last->server.empty()) text += " on " + last->server;
  return GoError(text + ": " + last->err);
}

Result<std::vector<std::string>> DnsPeerResolver::LookupSrv(const std::string& service) {
  Result<std::vector<Record>> records = Lookup(service, LDNS_RR_TYPE_SRV);
  if (!records) return std::move(records).error();
  std::vector<std::string> targets;
  std::string cname;
  bool invalid = false;
  for (const Record& rec : *records) {
    if (rec.type != LDNS_RR_TYPE_SRV) continue;
    if (cname.empty()) cname = rec.owner;
    if (!IsDomainName(rec.data)) {
      invalid = true;
      continue;
    }
    targets.push_back(rec.data);
  }
  if (!cname.empty() && !IsDomainName(cname)) {
    return GoError("lookup " + service + ": SRV header name is invalid");
  }
  if (invalid) {
    return GoError("lookup " + service +
                   ": DNS response contained records which contain invalid names");
  }
  return targets;
}

Result<std::vector<std::string>> DnsPeerResolver::LookupAddresses(const std::string& fqdn) {
  std::string name = fqdn;
  if (name.empty() || name.back() != '.') name += '.';
  std::vector<std::string> addresses;
  std::optional<Error> first_error;
  for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
    Result<std::vector<Record>> records = Lookup(name, static_cast<uint16_t>(type));
    if (!records) {
      if (!first_error) first_error = records.error();
      continue;
    }
    for (const Record& rec : *records) {
      if (rec.type != type || rec.data.empty()) continue;
      if (std::find(addresses.begin(), addresses.end(), rec.data) == addresses.end()) {
        addresses.push_back(rec.data);
      }
    }
  }
  if (addresses.empty() && first_error) return *first_error;
  return addresses;
}

}  // namespace petdns::client
