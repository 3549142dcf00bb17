#include "plugins/forward/forward.h"

#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/wire/dns.h"
#include "server/wire/name.h"

namespace petdns::plugins::forward {
namespace {

constexpr std::string_view kLog = "plugin/forward";

// Header field offsets.
constexpr size_t kFlagsOffset = 2;
constexpr size_t kQdcountOffset = 4;

struct Question {
  wire::NameBuffer name;
  uint16_t type = 0;
  uint16_t qclass = 0;
  size_t end = 0;  // offset just past the question
};

bool ReadQuestion(std::span<const uint8_t> message, Question& out) noexcept {
  if (message.size() < wire::kHeaderSize) return false;
  if (wire::ReadU16(message.data() + kQdcountOffset) != 1) return false;
  size_t offset = wire::kHeaderSize;
  if (!wire::ReadName(message, offset, out.name)) return false;
  if (offset + 4 > message.size()) return false;
  out.type = wire::ReadU16(message.data() + offset);
  out.qclass = wire::ReadU16(message.data() + offset + 2);
  out.end = offset + 4;
  return true;
}

// ". IN NS" with RD set: the health probe CoreDNS sends.
std::vector<uint8_t> ProbeQuery() {
  return {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00, 0x01};
}

// Every record the header counts lies inside the message: its owner name reads (compression
// included), and its fixed fields and RDATA fit. A response cut inside a record is not relayed.
bool RecordsFit(std::span<const uint8_t> message, size_t offset) noexcept {
  constexpr size_t kCountsOffset = 6;  // ANCOUNT, NSCOUNT, ARCOUNT
  constexpr size_t kFixedFields = 10;  // TYPE, CLASS, TTL, RDLENGTH
  size_t records = 0;
  for (size_t i = 0; i < 3; ++i) records += wire::ReadU16(message.data() + kCountsOffset + 2 * i);
  wire::NameBuffer owner;
  for (size_t i = 0; i < records; ++i) {
    if (!wire::ReadName(message, offset, owner)) return false;
    if (message.size() - offset < kFixedFields) return false;
    const size_t rdlength = wire::ReadU16(message.data() + offset + 8);
    offset += kFixedFields;
    if (message.size() - offset < rdlength) return false;
    offset += rdlength;
  }
  return true;
}

bool Truncated(std::span<const uint8_t> message) noexcept {
  return (wire::ReadU16(message.data() + kFlagsOffset) & wire::flags::kTc) != 0;
}

}  // namespace

bool ValidResponse(std::span<const uint8_t> query, std::span<const uint8_t> response) noexcept {
  if (query.size() < wire::kHeaderSize || response.size() < wire::kHeaderSize) return false;
  if (wire::ReadU16(query.data()) != wire::ReadU16(response.data())) return false;
  uint16_t qflags = wire::ReadU16(query.data() + kFlagsOffset);
  uint16_t rflags = wire::ReadU16(response.data() + kFlagsOffset);
  if ((rflags & wire::flags::kQr) == 0) return false;
  if ((qflags & wire::flags::kOpcodeMask) != (rflags & wire::flags::kOpcodeMask)) return false;
  Question asked, answered;
  if (!ReadQuestion(query, asked) || !ReadQuestion(response, answered)) return false;
  if (asked.type != answered.type || asked.qclass != answered.qclass ||
      !wire::NamesEqual(asked.name.view(), answered.name.view())) {
    return false;
  }
  return RecordsFit(response, answered.end);
}

// One query waiting on upstreams.
struct ForwardPlugin::Inflight {
  chain::Deferred held;
  std::vector<uint8_t> query;  // the client's query with our ID
  Order order;
  size_t next = 0;     // position in `order` of the next upstream to try
  size_t current = 0;  // upstream index of the exchange in flight
  bool tcp = false;
  std::unique_ptr<uv::DnsExchange> exchange;
  std::chrono::steady_clock::time_point sent_at;
};

ForwardPlugin::ForwardPlugin(ForwardOptions options, std::vector<Upstream> upstreams,
                             std::unique_ptr<uv::DnsTransport> transport, chain::Runtime* runtime,
                             ForwardMetrics metrics, uint32_t seed)
    : options_(std::move(options)),
      upstreams_(std::move(upstreams), options_.policy, options_.max_fails, seed),
      transport_(std::move(transport)),
      runtime_(runtime),
      metrics_(std::move(metrics)),
      probe_query_(ProbeQuery()),
      probes_(upstreams_.size()) {
  upstream_metrics_.reserve(upstreams_.size());
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    upstream_metrics_.push_back(metrics_.ForUpstream(upstreams_[i].text()));
  }
}

ForwardPlugin::~ForwardPlugin() { OnShutdown(); }

void ForwardPlugin::OnStartup() {
  if (runtime_ == nullptr || transport_ == nullptr || options_.max_fails == 0) return;
  std::weak_ptr<char> alive = alive_;
  runtime_->Every(options_.health_check, [this, alive] {
    // The runtime cannot cancel a timer: a replaced chain's plugin is gone, skip.
    if (alive.lock()) CheckHealth();
  });
}

void ForwardPlugin::OnShutdown() {
  alive_.reset();
  for (auto& probe : probes_) probe.reset();
  // Destroying a query's Deferred answers SERVFAIL; take the map first so End() is not re-entered.
  auto pending = std::move(inflight_);
  inflight_.clear();
  pending.clear();
}

bool ForwardPlugin::Forwards(std::string_view qname) const noexcept {
  bool inside = false;
  for (const std::string& zone : options_.zones) inside = inside || wire::IsSubdomain(qname, zone);
  if (!inside) return false;
  for (const std::string& zone : options_.except) {
    if (wire::IsSubdomain(qname, zone)) return false;
  }
  return true;
}

chain::Outcome ForwardPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  if (!Forwards(q.qname())) return next(q);
  if (transport_ == nullptr) return q.ReplyRcode(wire::Rcode::kServFail);
  if (options_.max_concurrent != 0 && inflight_.size() >= options_.max_concurrent) {
    ++stats_.rejected;
    metrics_.rejects().Increment();
    return q.ReplyRcode(wire::Rcode::kRefused);
  }
  auto f = std::make_unique<Inflight>();
  f->query.assign(q.packet().begin(), q.packet().end());
  f->tcp = options_.force_tcp || q.transport() == listener::Transport::kTcp;
  f->order = upstreams_.Select();
  if (f->order.all_down) metrics_.broken().Increment();
  f->held = q.Detach(Name());
  Inflight& ref = *f;
  inflight_.emplace(f.get(), std::move(f));
  ++stats_.forwarded;
  Attempt(ref);
  return chain::Outcome::kDeferred;
}

void ForwardPlugin::Attempt(Inflight& f) noexcept {
  while (f.next < f.order.size) {
    size_t index = f.order.index[f.next++];
    f.current = index;
    // A fresh ID per exchange; ReplyWire restores the client's.
    wire::WriteU16(f.query.data(), upstreams_.RandomId());
    ++stats_.attempts;
    upstream_metrics_[index].requests->Increment();
    f.sent_at = std::chrono::steady_clock::now();
    Inflight* raw = &f;
    auto exchange = transport_->Send(upstreams_[index].address(), f.tcp, f.query, options_.timeout,
                                     [this, raw](Result<std::vector<uint8_t>> response) {
                                       OnResponse(*raw, std::move(response));
                                     });
    if (exchange) {
      f.exchange = std::move(*exchange);
      return;
    }
    ++stats_.failures;
    upstreams_[index].RecordFailure();
    log::Debug(kLog, upstreams_[index].text() + ": " + exchange.error().message);
  }
  ++stats_.servfail;
  End(f);  // every upstream failed: the Deferred answers SERVFAIL
}

void ForwardPlugin::OnResponse(Inflight& f, Result<std::vector<uint8_t>> response) noexcept {
  // We are inside the exchange's callback: destroying it here is allowed.
  std::unique_ptr<uv::DnsExchange> done = std::move(f.exchange);
  Upstream& upstream = upstreams_[f.current];
  if (response && ValidResponse(f.query, *response)) {
    upstream.RecordSuccess();
    std::vector<uint8_t>& message = *response;
    unsigned rcode = wire::ReadU16(message.data() + kFlagsOffset) & wire::flags::kRcodeMask;
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - f.sent_at;
    metrics_.Response(upstream_metrics_[f.current], rcode, took.count());
    if (Truncated(message) && !f.tcp) {
      // Same upstream again, over TCP, for the whole answer.
      ++stats_.tcp_retries;
      f.tcp = true;
      --f.next;
      Attempt(f);
      return;
    }
    (void)f.held.query().ReplyWire(message);
    End(f);
    return;
  }
  ++stats_.failures;
  bool was_down = upstream.Down(options_.max_fails);
  upstream.RecordFailure();
  const std::string reason =
      response ? std::string("response does not match the query") : response.error().message;
  if (!was_down && upstream.Down(options_.max_fails)) {
    log::Warning(kLog, upstream.text() + ": marked down after " + std::to_string(upstream.fails()) +
                           " failures (last: " + reason + "); probing it");
  } else {
    log::Debug(kLog, upstream.text() + ": " + reason);
  }
  Attempt(f);
}

void ForwardPlugin::End(Inflight& f) noexcept {
  // Erasing destroys the Deferred (SERVFAIL if unanswered) and the Inflight.
  inflight_.erase(&f);
}

void ForwardPlugin::CheckHealth() noexcept {
  if (transport_ == nullptr) return;
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (!upstreams_.Down(i) || probes_[i] != nullptr) continue;
    wire::WriteU16(probe_query_.data(), upstreams_.RandomId());
    ++stats_.probes;
    auto probe = transport_->Send(
        upstreams_[i].address(), options_.force_tcp, probe_query_, options_.timeout,
        [this, i, query = probe_query_](Result<std::vector<uint8_t>> response) {
          // The exchange is ours to drop now (we are inside its callback).
          std::unique_ptr<uv::DnsExchange> finished = std::move(probes_[i]);
          OnProbe(i, response && ValidResponse(query, *response)
                         ? std::move(response)
                         : Result<std::vector<uint8_t>>(
                               MakeError(ErrorCode::kUnavailable, "no valid answer")));
        });
    if (probe) {
      probes_[i] = std::move(*probe);
    } else {
      OnProbe(i, probe.error());
    }
  }
}

void ForwardPlugin::OnProbe(size_t index, Result<std::vector<uint8_t>> response) noexcept {
  Upstream& upstream = upstreams_[index];
  if (response) {
    if (upstream.Down(options_.max_fails)) log::Info(kLog, upstream.text() + ": healthy again");
    upstream.RecordSuccess();
    return;
  }
  upstream.RecordFailure();
  upstream_metrics_[index].healthcheck_failures->Increment();
}

}  // namespace petdns::plugins::forward
