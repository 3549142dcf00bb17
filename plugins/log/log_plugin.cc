#include "plugins/log/log_plugin.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "server/wire/dns.h"

namespace petdns::plugins::log {
namespace {

// Appends to a fixed buffer, cutting what does not fit; no allocation.
class LineBuffer {
 public:
  explicit LineBuffer(std::span<char> out) noexcept : out_(out) {}
  void Put(std::string_view s) noexcept {
    size_t take = std::min(s.size(), out_.size() - n_);
    std::memcpy(out_.data() + n_, s.data(), take);
    n_ += take;
  }
  void Put(char c) noexcept {
    if (n_ < out_.size()) out_[n_++] = c;
  }
  void Number(uint64_t v) noexcept {
    std::array<char, 24> digits;
    int len =
        std::snprintf(digits.data(), digits.size(), "%llu", static_cast<unsigned long long>(v));
    Put(std::string_view(digits.data(), static_cast<size_t>(len)));
  }
  size_t size() const noexcept { return n_; }

 private:
  std::span<char> out_;
  size_t n_ = 0;
};

std::string_view TypeName(uint16_t type) noexcept {
  switch (static_cast<wire::RrType>(type)) {
    case wire::RrType::kA:
      return "A";
    case wire::RrType::kNs:
      return "NS";
    case wire::RrType::kCname:
      return "CNAME";
    case wire::RrType::kSoa:
      return "SOA";
    case wire::RrType::kPtr:
      return "PTR";
    case wire::RrType::kHinfo:
      return "HINFO";
    case wire::RrType::kMx:
      return "MX";
    case wire::RrType::kTxt:
      return "TXT";
    case wire::RrType::kAaaa:
      return "AAAA";
    case wire::RrType::kSrv:
      return "SRV";
    case wire::RrType::kNaptr:
      return "NAPTR";
    case wire::RrType::kDname:
      return "DNAME";
    case wire::RrType::kOpt:
      return "OPT";
    case wire::RrType::kDs:
      return "DS";
    case wire::RrType::kRrsig:
      return "RRSIG";
    case wire::RrType::kNsec:
      return "NSEC";
    case wire::RrType::kDnskey:
      return "DNSKEY";
    case wire::RrType::kTkey:
      return "TKEY";
    case wire::RrType::kTsig:
      return "TSIG";
    case wire::RrType::kIxfr:
      return "IXFR";
    case wire::RrType::kAxfr:
      return "AXFR";
    case wire::RrType::kMailb:
      return "MAILB";
    case wire::RrType::kMaila:
      return "MAILA";
    case wire::RrType::kAny:
      return "ANY";
  }
  return {};
}

std::string_view ClassName(uint16_t rclass) noexcept {
  switch (static_cast<wire::RrClass>(rclass)) {
    case wire::RrClass::kIn:
      return "IN";
    case wire::RrClass::kChaos:
      return "CH";
    case wire::RrClass::kHesiod:
      return "HS";
    case wire::RrClass::kNone:
      return "NONE";
    case wire::RrClass::kAny:
      return "ANY";
  }
  return {};
}

std::string_view RcodeName(uint16_t rcode) noexcept {
  static constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI"};
  return rcode < std::size(kNames) ? kNames[rcode] : std::string_view{};
}

void PutName(LineBuffer& line, std::string_view name) noexcept {
  if (name.size() <= 1) {
    line.Put('.');
    return;
  }
  size_t i = 0;
  while (i < name.size()) {
    auto len = static_cast<uint8_t>(name[i++]);
    if (len == 0) break;
    for (size_t j = 0; j < len && i < name.size(); ++j, ++i) {
      auto c = static_cast<unsigned char>(name[i]);
      if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
          c == '$') {
        line.Put('\\');
        line.Put(static_cast<char>(c));
      } else if (c <= 0x20 || c >= 0x7F) {
        std::array<char, 5> esc;
        std::snprintf(esc.data(), esc.size(), "\\%03u", c);
        line.Put(std::string_view(esc.data(), 4));
      } else {
        line.Put(static_cast<char>(c));
      }
    }
    line.Put('.');
  }
}

void PutClient(LineBuffer& line, const sockaddr* address) noexcept {
  std::array<char, INET6_ADDRSTRLEN> text{};
  uint16_t port = 0;
  if (address != nullptr && address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size());
    port = ntohs(in6->sin6_port);
    line.Put('[');
    line.Put(std::string_view(text.data()));
    line.Put(']');
  } else if (address != nullptr && address->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in4->sin_addr, text.data(), text.size());
    port = ntohs(in4->sin_port);
    line.Put(std::string_view(text.data()));
  } else {
    line.Put('-');
  }
  line.Put(':');
  line.Number(port);
}

void PutFlags(LineBuffer& line, uint16_t flags) noexcept {
  static constexpr std::pair<uint16_t, std::string_view> kFlags[] = {
      {wire::flags::kQr, "qr"}, {wire::flags::kAa, "aa"}, {wire::flags::kTc, "tc"},
      {wire::flags::kRd, "rd"}, {wire::flags::kRa, "ra"}, {0x0040, "z"},
      {wire::flags::kAd, "ad"}, {wire::flags::kCd, "cd"}};
  bool first = true;
  for (const auto& [bit, name] : kFlags) {
    if ((flags & bit) == 0) continue;
    if (!first) line.Put(',');
    line.Put(name);
    first = false;
  }
  if (first) line.Put('-');
}

}  // namespace

chain::Outcome LogPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  (void)q.Observe(this);  // with kMaxObservers taken the query goes unlogged, never unanswered
  return next(q);
}

void LogPlugin::OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept {
  if ((classes_ & static_cast<uint8_t>(Classify(message))) == 0) return;
  auto duration = std::chrono::steady_clock::now() - q.received_at();
  std::array<char, kMaxLine> buffer;
  size_t n = FormatLine(q, message, duration, buffer);
  ssize_t ignored = ::write(fd_, buffer.data(), n);
  (void)ignored;
}

size_t LogPlugin::FormatLine(const chain::Query& q, std::span<const uint8_t> message,
                             std::chrono::nanoseconds duration, std::span<char> out) noexcept {
  if (out.empty()) return 0;
  // CoreDNS: {remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}"
  //          {rcode} {>rflags} {rsize} {duration}
  LineBuffer line(out.first(out.size() - 1));  // room for the newline
  const wire::Request& request = q.request();
  line.Put("[INFO] ");
  PutClient(line, q.client_address());
  line.Put(" - ");
  line.Number(request.id);
  line.Put(" \"");
  auto type = static_cast<uint16_t>(request.qtype);
  if (std::string_view name = TypeName(type); !name.empty()) {
    line.Put(name);
  } else {
    line.Put("TYPE");
    line.Number(type);
  }
  line.Put(' ');
  if (std::string_view name = ClassName(request.qclass); !name.empty()) {
    line.Put(name);
  } else {
    line.Put("CLASS");
    line.Number(request.qclass);
  }
  line.Put(' ');
  PutName(line, q.qname());
  line.Put(q.transport() == listener::Transport::kTcp ? " tcp " : " udp ");
  line.Number(q.packet().size());
  line.Put(request.edns.dnssec_ok ? " true " : " false ");
  line.Number(request.edns.present ? request.edns.udp_payload : wire::kMinUdpPayload);
  line.Put("\" ");
  uint16_t flags = message.size() >= 4 ? wire::ReadU16(message.data() + 2) : 0;
  uint16_t rcode = flags & wire::flags::kRcodeMask;
  if (std::string_view name = RcodeName(rcode); !name.empty()) {
    line.Put(name);
  } else {
    line.Put("RCODE");
    line.Number(rcode);
  }
  line.Put(' ');
  PutFlags(line, flags);
  line.Put(' ');
  line.Number(message.size());
  line.Put(' ');
  std::array<char, 32> seconds;
  double secs = std::chrono::duration<double>(duration).count();
  int len = std::snprintf(seconds.data(), seconds.size(), "%.9f", secs < 0 ? 0.0 : secs);
  std::string_view text(seconds.data(), len > 0 ? static_cast<size_t>(len) : 0);
  while (text.size() > 2 && text.back() == '0' && text[text.size() - 2] != '.') {
    text.remove_suffix(1);
  }
  line.Put(text);
  line.Put('s');
  size_t n = line.size();
  out[n] = '\n';
  return n + 1;
}

}  // namespace petdns::plugins::log
