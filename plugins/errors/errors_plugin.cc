#include "plugins/errors/errors_plugin.h"

#include <string>

#include "server/common/log.h"
#include "server/wire/dns.h"
#include "server/wire/name.h"

namespace petdns::plugins::errors {
namespace {

constexpr std::string_view kLog = "plugin/errors";

std::string TypeText(wire::RrType type) {
  switch (type) {
    case wire::RrType::kA:
      return "A";
    case wire::RrType::kAaaa:
      return "AAAA";
    case wire::RrType::kPtr:
      return "PTR";
    case wire::RrType::kSrv:
      return "SRV";
    case wire::RrType::kMx:
      return "MX";
    case wire::RrType::kTxt:
      return "TXT";
    case wire::RrType::kNs:
      return "NS";
    case wire::RrType::kSoa:
      return "SOA";
    case wire::RrType::kCname:
      return "CNAME";
    case wire::RrType::kAny:
      return "ANY";
    case wire::RrType::kAxfr:
      return "AXFR";
    case wire::RrType::kIxfr:
      return "IXFR";
    default:
      return "TYPE" + std::to_string(static_cast<uint16_t>(type));
  }
}

}  // namespace

ErrorsPlugin::ErrorsPlugin(ErrorsOptions options, chain::Runtime* runtime, Clock clock,
                           Output output)
    : options_(options),
      runtime_(runtime),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      output_(std::move(output)) {
  window_start_ = clock_();
}

void ErrorsPlugin::OnStartup() {
  if (runtime_ == nullptr) return;
  // Without a timer a burst's summary would wait for the next error.
  runtime_->Every(options_.interval, [this] { Tick(); });
}

chain::Outcome ErrorsPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  (void)q.Observe(this);
  return next(q);
}

void ErrorsPlugin::Emit(std::string_view line) noexcept {
  if (output_) {
    output_(line);
  } else {
    log::Error(kLog, line);
  }
}

void ErrorsPlugin::EndWindowIfOver(std::chrono::steady_clock::time_point now) noexcept {
  if (now - window_start_ < options_.interval) return;
  if (suppressed_ > 0) {
    Emit(std::to_string(suppressed_) + " more errors suppressed in the last " +
         std::to_string(options_.interval.count()) + "ms");
  }
  suppressed_ = 0;
  in_window_ = 0;
  window_start_ = now;
}

void ErrorsPlugin::Tick() noexcept {
  std::lock_guard lock(mu_);
  EndWindowIfOver(clock_());
}

void ErrorsPlugin::OnReply(const chain::Query& q, std::span<const uint8_t> message) noexcept {
  if (message.size() < wire::kHeaderSize) return;
  auto rcode =
      static_cast<wire::Rcode>(wire::ReadU16(message.data() + 2) & wire::flags::kRcodeMask);
  if (rcode != wire::Rcode::kServFail) return;
  std::lock_guard lock(mu_);
  EndWindowIfOver(clock_());
  if (in_window_ >= options_.limit) {
    ++suppressed_;
    ++suppressed_total_;
    return;
  }
  ++in_window_;
  ++reported_;
  // The error path may allocate: it is rate-limited and off the success path.
  std::string line = std::to_string(static_cast<uint16_t>(rcode)) + " " +
                     wire::NameToText(q.qname()) + " " + TypeText(q.qtype());
  // Who replied, when known (the chain running out names the last plugin that passed it on).
  std::string_view who = q.replied_by();
  if (!who.empty() && who != Name()) line += ": from plugin/" + std::string(who);
  Emit(line);
}

}  // namespace petdns::plugins::errors
