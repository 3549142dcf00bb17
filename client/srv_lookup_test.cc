#include "client/srv_lookup.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include "client/unique_fd.h"
#include "server/ldns/ldns_ptr.h"

namespace petdns::client {
namespace {

using petdns::ldns::LdnsPkt;
using petdns::ldns::MallocPtr;

// What the fake server does with one query.
struct Reply {
  int rcode = LDNS_RCODE_NOERROR;
  std::vector<std::string> answers;  // presentation format RRs
  bool aa = true;
  bool tc = false;
  bool drop = false;            // send nothing
  bool wrong_id_first = false;  // send a spoofed reply (other ID) before the real one
};

// A DNS server on 127.0.0.1 (UDP and TCP on one port) run by a thread; the handler sees the
// query name (as asked, rooted), type and transport.
class FakeDnsServer {
 public:
  using Handler = std::function<Reply(const std::string& name, ldns_rr_type type, bool tcp)>;

  explicit FakeDnsServer(Handler handler) : handler_(std::move(handler)) {
    udp_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(udp_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    tcp_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    EXPECT_EQ(bind(tcp_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(tcp_.get(), 8), 0);
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    stop_read_ = UniqueFd(fds[0]);
    stop_write_ = UniqueFd(fds[1]);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeDnsServer() {
    char c = 0;
    EXPECT_EQ(write(stop_write_.get(), &c, 1), 1);
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }

 private:
  std::vector<uint8_t> Respond(const uint8_t* data, size_t size, bool tcp, bool& drop,
                               std::vector<uint8_t>& spoof) {
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, data, size) != LDNS_STATUS_OK) return {};
    LdnsPkt query(raw);
    const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(query.get()), 0);
    MallocPtr<char> qname(ldns_rdf2str(ldns_rr_owner(q)));
    ldns_rr_type type = ldns_rr_get_type(q);
    {
      std::lock_guard lock(mu_);
      queries_.push_back(std::string(tcp ? "tcp " : "udp ") + qname.get() + " " +
                         std::to_string(type));
    }
    Reply reply = handler_(qname.get(), type, tcp);
    drop = reply.drop;
    LdnsPkt answer(ldns_pkt_new());
    ldns_pkt_set_id(answer.get(), ldns_pkt_id(query.get()));
    ldns_pkt_set_qr(answer.get(), true);
    ldns_pkt_set_aa(answer.get(), reply.aa);
    ldns_pkt_set_tc(answer.get(), reply.tc);
    ldns_pkt_set_rd(answer.get(), true);
    ldns_pkt_set_rcode(answer.get(), static_cast<uint8_t>(reply.rcode));
    ldns_pkt_push_rr(answer.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(q));
    for (const std::string& text : reply.answers) {
      ldns_rr* rr = nullptr;
      EXPECT_EQ(ldns_rr_new_frm_str(&rr, text.c_str(), 300, nullptr, nullptr), LDNS_STATUS_OK)
          << text;
      if (rr != nullptr) ldns_pkt_push_rr(answer.get(), LDNS_SECTION_ANSWER, rr);
    }
    uint8_t* wire = nullptr;
    size_t wire_size = 0;
    EXPECT_EQ(ldns_pkt2wire(&wire, answer.get(), &wire_size), LDNS_STATUS_OK);
    MallocPtr<uint8_t> owned(wire);
    std::vector<uint8_t> out(wire, wire + wire_size);
    if (reply.wrong_id_first) {
      spoof = out;
      spoof[0] ^= 0xff;
    }
    return out;
  }

  void Loop() {
    while (true) {
      pollfd fds[3] = {
          {stop_read_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (poll(fds, 3, 5000) <= 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents) {
        uint8_t buf[4096];
        sockaddr_storage from{};
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(udp_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from),
                             &from_len);
        bool drop = false;
        std::vector<uint8_t> spoof;
        std::vector<uint8_t> out = Respond(buf, static_cast<size_t>(n), false, drop, spoof);
        if (!spoof.empty()) {
          sendto(udp_.get(), spoof.data(), spoof.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
        }
        if (!drop && !out.empty()) {
          sendto(udp_.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
        }
      }
      if (fds[2].revents) {
        UniqueFd conn(accept(tcp_.get(), nullptr, nullptr));
        uint8_t len[2];
        if (recv(conn.get(), len, 2, MSG_WAITALL) != 2) continue;
        std::vector<uint8_t> buf((len[0] << 8) | len[1]);
        if (recv(conn.get(), buf.data(), buf.size(), MSG_WAITALL) !=
            static_cast<ssize_t>(buf.size())) {
          continue;
        }
        bool drop = false;
        std::vector<uint8_t> spoof;
        std::vector<uint8_t> out = Respond(buf.data(), buf.size(), true, drop, spoof);
        if (drop) continue;
        uint8_t out_len[2] = {static_cast<uint8_t>(out.size() >> 8),
                              static_cast<uint8_t>(out.size())};
        send(conn.get(), out_len, 2, MSG_NOSIGNAL);
        send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
  }

  Handler handler_;
  UniqueFd udp_, tcp_, stop_read_, stop_write_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::string> queries_;
  std::thread thread_;
};

Reply WithRcode(int rcode) {
  Reply r;
  r.rcode = rcode;
  return r;
}
Reply WithAnswers(std::vector<std::string> answers) {
  Reply r;
  r.answers = std::move(answers);
  return r;
}
Reply Truncated() {
  Reply r;
  r.tc = true;
  return r;
}
Reply Dropped() {
  Reply r;
  r.drop = true;
  return r;
}
Reply SpoofedFirst(std::vector<std::string> answers) {
  Reply r = WithAnswers(std::move(answers));
  r.wrong_id_first = true;
  return r;
}

// "<prefix><digits><suffix>": an error text that names an ephemeral local port.
bool MatchesWithPort(const std::string& text, const std::string& prefix,
                     const std::string& suffix) {
  if (!text.starts_with(prefix) || !text.ends_with(suffix)) return false;
  if (text.size() <= prefix.size() + suffix.size()) return false;
  std::string port = text.substr(prefix.size(), text.size() - prefix.size() - suffix.size());
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

ResolvConf PodConf(const std::string& server) {
  ResolvConf conf;
  conf.servers = {server};
  conf.search = {"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."};
  conf.ndots = 5;
  conf.timeout = std::chrono::milliseconds(300);
  conf.attempts = 1;
  return conf;
}

const std::vector<std::string> kNginxSrv = {
    "nginx.default.svc.cluster.local. 30 IN SRV 0 50 80 web-1.nginx.default.svc.cluster.local.",
    "nginx.default.svc.cluster.local. 30 IN SRV 0 50 80 Web-0.nginx.default.svc.cluster.local.",
};

TEST(IsDomainName, FollowsGoRules) {
  for (const std::string& ok :
       std::vector<std::string>{"nginx", "web-0.nginx.default.svc.cluster.local.", "a_b.c", ".",
                                "a1", "x.1a", std::string(63, 'a')}) {
    SCOPED_TRACE(ok);
    EXPECT_TRUE(IsDomainName(ok));
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "123", "1.2", "a..b", "x!", "-a", "a-", "a.-b", "a-.b", ".a",
                                std::string(64, 'a'), std::string(254, 'a'), "a b"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(IsDomainName(bad));
  }
}

TEST(DnsPeerResolver, WalksTheSearchListLikeGo) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type, bool) {
    if (name == "nginx.default.svc.cluster.local.") return WithAnswers(kNginxSrv);
    return WithRcode(LDNS_RCODE_NXDOMAIN);
  });
  ResolvConf conf = PodConf(dns.address());
  conf.search = {"other.svc.cluster.local.", "default.svc.cluster.local.", "cluster.local."};
  DnsPeerResolver resolver(conf);
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_TRUE(targets) << targets.error().message;
  EXPECT_EQ(*targets, (std::vector<std::string>{"web-1.nginx.default.svc.cluster.local.",
                                                "Web-0.nginx.default.svc.cluster.local."}));
  EXPECT_EQ(dns.queries(), (std::vector<std::string>{"udp nginx.other.svc.cluster.local. 33",
                                                     "udp nginx.default.svc.cluster.local. 33"}));
}

TEST(DnsPeerResolver, NoSuchHostNamesTheServiceAndLastServer) {
  FakeDnsServer dns(
      [](const std::string&, ldns_rr_type, bool) { return WithRcode(LDNS_RCODE_NXDOMAIN); });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().message, "lookup nginx on " + dns.address() + ": no such host");
  EXPECT_EQ(dns.queries(),
            (std::vector<std::string>{"udp nginx.default.svc.cluster.local. 33",
                                      "udp nginx.svc.cluster.local. 33",
                                      "udp nginx.cluster.local. 33", "udp nginx. 33"}));
}

TEST(DnsPeerResolver, AnswerWithoutSrvIsNoSuchHost) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type, bool) {
    return WithAnswers({name + " 30 IN A 10.0.0.1"});
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().message, "lookup nginx on " + dns.address() + ": no such host");
}

TEST(DnsPeerResolver, RefusedIsServerMisbehaving) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type, bool) {
    if (name.ends_with("cluster.local.")) return WithRcode(LDNS_RCODE_NXDOMAIN);
    return WithRcode(LDNS_RCODE_REFUSED);
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nosuch");
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().message, "lookup nosuch on " + dns.address() + ": server misbehaving");
}

TEST(DnsPeerResolver, ServfailIsTriedOnEveryAttempt) {
  FakeDnsServer dns(
      [](const std::string&, ldns_rr_type, bool) { return WithRcode(LDNS_RCODE_SERVFAIL); });
  ResolvConf conf = PodConf(dns.address());
  conf.search = {};
  conf.attempts = 2;
  DnsPeerResolver resolver(conf);
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().message, "lookup nginx on " + dns.address() + ": server misbehaving");
  EXPECT_EQ(dns.queries().size(), 2u);
}

TEST(DnsPeerResolver, ConnectionRefusedNamesBothEnds) {
  // A UDP port that was just free: nothing listens there.
  UniqueFd probe(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::string server = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  probe.Reset();
  DnsPeerResolver resolver(PodConf(server));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_TRUE(MatchesWithPort(targets.error().message,
                              "lookup nginx on " + server + ": read udp 127.0.0.1:",
                              "->" + server + ": read: connection refused"))
      << targets.error().message;
}

TEST(DnsPeerResolver, SilentServerTimesOut) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) { return Dropped(); });
  ResolvConf conf = PodConf(dns.address());
  conf.search = {};
  conf.timeout = std::chrono::milliseconds(100);
  DnsPeerResolver resolver(conf);
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_TRUE(MatchesWithPort(targets.error().message,
                              "lookup nginx on " + dns.address() + ": read udp 127.0.0.1:",
                              "->" + dns.address() + ": i/o timeout"))
      << targets.error().message;
}

TEST(DnsPeerResolver, TruncatedAnswerIsRetriedOverTcp) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type, bool tcp) {
    if (name != "nginx.default.svc.cluster.local.") return WithRcode(LDNS_RCODE_NXDOMAIN);
    if (!tcp) return Truncated();
    return WithAnswers(kNginxSrv);
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_TRUE(targets) << targets.error().message;
  EXPECT_EQ(targets->size(), 2u);
  EXPECT_EQ(dns.queries(), (std::vector<std::string>{"udp nginx.default.svc.cluster.local. 33",
                                                     "tcp nginx.default.svc.cluster.local. 33"}));
}

TEST(DnsPeerResolver, UseVcAsksOverTcpOnly) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) { return WithAnswers(kNginxSrv); });
  ResolvConf conf = PodConf(dns.address());
  conf.use_tcp = true;
  DnsPeerResolver resolver(conf);
  ASSERT_TRUE(resolver.LookupSrv("nginx"));
  EXPECT_EQ(dns.queries(), (std::vector<std::string>{"tcp nginx.default.svc.cluster.local. 33"}));
}

TEST(DnsPeerResolver, IgnoresRepliesWithAnotherId) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) { return SpoofedFirst(kNginxSrv); });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_TRUE(targets) << targets.error().message;
  EXPECT_EQ(targets->size(), 2u);
}

TEST(DnsPeerResolver, InvalidTargetDropsTheWholeAnswer) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) {
    return WithAnswers(
        {kNginxSrv[0], "nginx.default.svc.cluster.local. 30 IN SRV 0 50 80 bad\\!name."});
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> targets = resolver.LookupSrv("nginx");
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().message,
            "lookup nginx: DNS response contained records which contain invalid names");
}

TEST(DnsPeerResolver, InvalidServiceNameIsNoSuchHostWithoutQuery) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) { return Reply{}; });
  DnsPeerResolver resolver(PodConf(dns.address()));
  for (std::string name : {"123", "a..b", "x!"}) {
    Result<std::vector<std::string>> targets = resolver.LookupSrv(name);
    ASSERT_FALSE(targets);
    EXPECT_EQ(targets.error().message, "lookup " + name + ": no such host");
  }
  EXPECT_TRUE(dns.queries().empty());
}

TEST(DnsPeerResolver, LooksUpAddressesOfRootedName) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type type, bool) {
    if (type == LDNS_RR_TYPE_A) return WithAnswers({name + " 30 IN A 10.0.0.5"});
    return WithAnswers({name + " 30 IN AAAA fd00::5"});
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> addresses =
      resolver.LookupAddresses("web-0.nginx.default.svc.cluster.local");
  ASSERT_TRUE(addresses) << addresses.error().message;
  EXPECT_EQ(*addresses, (std::vector<std::string>{"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(dns.queries(),
            (std::vector<std::string>{"udp web-0.nginx.default.svc.cluster.local. 1",
                                      "udp web-0.nginx.default.svc.cluster.local. 28"}));
}

TEST(DnsPeerResolver, AddressLookupFailsOnlyWhenBothFail) {
  FakeDnsServer dns([](const std::string& name, ldns_rr_type type, bool) {
    if (type == LDNS_RR_TYPE_A && name.starts_with("web-0")) {
      return WithAnswers({name + " 30 IN A 10.0.0.5"});
    }
    return WithRcode(LDNS_RCODE_NXDOMAIN);
  });
  DnsPeerResolver resolver(PodConf(dns.address()));
  Result<std::vector<std::string>> one = resolver.LookupAddresses("web-0.x.");
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, std::vector<std::string>{"10.0.0.5"});
  Result<std::vector<std::string>> none = resolver.LookupAddresses("web-9.x");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "lookup web-9.x. on " + dns.address() + ": no such host");
}

TEST(DnsPeerResolver, DnsServerOverridesResolvConfNameservers) {
  FakeDnsServer dns([](const std::string&, ldns_rr_type, bool) { return WithAnswers(kNginxSrv); });
  std::string path = ::testing::TempDir() + "srv_lookup_test_resolv.conf";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("nameserver 192.0.2.1\nsearch default.svc.cluster.local\noptions ndots:5 timeout:1\n", f);
  fclose(f);
  DnsPeerResolver resolver(path, dns.address(), "web-0");
  EXPECT_EQ(resolver.conf().servers, std::vector<std::string>{dns.address()});
  EXPECT_EQ(resolver.conf().search, std::vector<std::string>{"default.svc.cluster.local."});
  EXPECT_TRUE(resolver.LookupSrv("nginx"));
  unlink(path.c_str());
}

}  // namespace
}  // namespace petdns::client
