// Fuzz target: a DNS message from the network, through the code the UDP and TCP listeners call
// (Dispatcher::HandlePacket: request parsing, routing, the chain, zone lookup, response building)
// on a small compiled zone served by the file plugin. Every reply must parse as a DNS message
// with the query's ID. Input: one DNS message, as in a UDP datagram or a TCP frame.
#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "plugins/file/file_plugin.h"
#include "server/chain/chain.h"
#include "server/common/cidr.h"
#include "server/dispatch/dispatcher.h"
#include "server/ldns/ldns_ptr.h"
#include "server/wire/name.h"
#include "zones/zone_file_loader.h"

namespace {

using namespace petdns;  // NOLINT: a test program

constexpr char kZone[] = R"(; example.org: every kind of answer the file plugin gives
$ORIGIN example.org.
$TTL 3600
@       IN SOA  ns1.example.org. hostmaster.example.org. 2026112201 7200 3600 1209600 300
        IN NS   ns1
        IN NS   ns2
        IN MX   10 mail
        IN TXT  "v=spf1 -all"
ns1     IN A    192.0.2.1
ns2     IN A    192.0.2.2
        IN AAAA 2001:db8::2
www     IN A    192.0.2.10
        IN A    192.0.2.11
        IN AAAA 2001:db8::10
        IN TXT  "hello from petdns" "and a second string"
mail    IN A    192.0.2.25
alias   IN CNAME www
chain   IN CNAME alias
loop1   IN CNAME loop2
loop2   IN CNAME loop1
outside IN CNAME www.example.net.
*.apps  IN A    192.0.2.80
*.apps  IN TXT  "wildcard"
_http._tcp IN SRV 0 10 80 www
a.b.c   IN A    192.0.2.30
sub     IN NS   ns.sub
ns.sub  IN A    192.0.2.53
ptr     IN PTR  www
caa     IN CAA  0 issue "letsencrypt.org"
big     IN TXT  "0123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "1123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "2123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "3123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "4123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "5123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "6123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT  "7123456789012345678901234567890123456789012345678901234567890123456789"
unknown IN TYPE65280 \# 4 01020304
)";

// Keeps every message; checks each against the query that caused it.
class CheckingSink final : public listener::ResponseSink {
 public:
  void Send(std::span<const uint8_t> message) noexcept override {
    if (message.size() < 12) Fail("reply shorter than a header", message);
    if (query_.size() >= 2 && (message[0] != query_[0] || message[1] != query_[1])) {
      Fail("reply ID differs from the query's", message);
    }
    if (transport_ == listener::Transport::kUdp && message.size() > 65535) {
      Fail("UDP reply over 64 KiB", message);
    }
    ldns_pkt* raw = nullptr;
    ldns_status status = ldns_wire2pkt(&raw, message.data(), message.size());
    ldns::LdnsPkt pkt(raw);
    if (status != LDNS_STATUS_OK) Fail("reply does not parse as a DNS message", message);
  }
  void Expect(std::span<const uint8_t> query, listener::Transport transport) {
    query_ = query;
    transport_ = transport;
  }

 private:
  [[noreturn]] static void Fail(const char* what, std::span<const uint8_t> message) {
    std::fprintf(stderr, "dns_query_fuzz: %s (%zu bytes):", what, message.size());
    for (uint8_t b : message) std::fprintf(stderr, " %02x", b);
    std::fprintf(stderr, "\n");
    std::abort();
  }

  std::span<const uint8_t> query_;
  listener::Transport transport_ = listener::Transport::kUdp;
};

struct Server {
  Server() {
    char path[] = "/tmp/petdns-dns-query-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, kZone, sizeof(kZone) - 1) != static_cast<ssize_t>(sizeof(kZone) - 1)) {
      std::abort();
    }
    close(fd);
    plugins::file::FileOptions options;
    options.zone.path = path;
    options.zone.origin = *wire::NameFromText("example.org.");
    options.reload_interval = std::chrono::milliseconds(0);
    options.transfer_to = *CidrSet::Parse({"127.0.0.0/8"});
    auto zone = zones::LoadZoneFile(options.zone);
    unlink(path);
    if (!zone) {
      std::fprintf(stderr, "dns_query_fuzz: %s\n", zone.error().message.c_str());
      std::abort();
    }
    std::string origin = options.zone.origin;
    std::vector<chain::PluginPtr> plugins;
    plugins.push_back(
        std::make_unique<plugins::file::FilePlugin>(std::move(options), *zone, nullptr));
    chain = std::make_unique<chain::Chain>(std::move(plugins), std::vector<std::string>{origin});
    dispatcher =
        std::make_unique<dispatch::Dispatcher>(std::vector<chain::Chain*>{chain.get()}, 1232);
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    peer.sin_port = htons(5353);
  }

  std::unique_ptr<chain::Chain> chain;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  sockaddr_in peer{};
  CheckingSink sink;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server();  // never destroyed: lives for the whole run
  std::span<const uint8_t> packet(data, size);
  for (auto transport : {listener::Transport::kUdp, listener::Transport::kTcp}) {
    server->sink.Expect(packet, transport);
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&server->peer), transport};
    server->dispatcher->HandlePacket(packet, client, server->sink);
  }
  return 0;
}
