#include "plugins/file/file_plugin.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "server/common/log.h"
#include "server/wire/message_writer.h"
#include "server/wire/name.h"
#include "zones/authority.h"

namespace petdns::plugins::file {
namespace {

constexpr std::string_view kLog = "plugin/file";
// Zone transfers go out in messages of at most this size (RFC 5936 allows up to 65535).
constexpr size_t kTransferMessageSize = 16384;

// Inode, size, modification time and status change time (a chmod is a change too: the file
// may have become unreadable, or readable again).
bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

FilePlugin::FilePlugin(FileOptions options, std::shared_ptr<const zones::CompiledZone> zone,
                       chain::Runtime* runtime, FileMetrics metrics)
    : options_(std::move(options)),
      zone_(std::move(zone)),
      runtime_(runtime),
      metrics_(std::move(metrics)) {
  ::stat(options_.zone.path.c_str(), &last_stat_);
}

void FilePlugin::OnStartup() {
  if (runtime_ == nullptr) return;
  runtime_->OnReloadSignal([this] { Reload(); });
  if (options_.reload_interval.count() > 0) {
    runtime_->Every(options_.reload_interval, [this] { CheckForChange(); });
  }
}

void FilePlugin::CheckForChange() {
  struct stat now {};
  if (::stat(options_.zone.path.c_str(), &now) != 0) {
    // Gone for now (deleted, or a volume being remounted): keep serving, say so once.
    if (!std::exchange(missing_, true)) {
      const int err = errno;
      CountFailure();
      log::Error(kLog, options_.zone.path + ": " + std::strerror(err) + "; still serving serial " +
                           std::to_string(zone_->serial()));
    }
    return;
  }
  if (std::exchange(missing_, false)) log::Info(kLog, options_.zone.path + ": present again");
  if (SameFile(now, last_stat_)) return;
  last_stat_ = now;
  Reload();
}

void FilePlugin::Reload() {
  if (runtime_ == nullptr) return;
  if (reloading_) {
    reload_again_ = true;
    return;
  }
  reloading_ = true;
  auto result = std::make_shared<Result<std::shared_ptr<const zones::CompiledZone>>>(
      MakeError(ErrorCode::kInternal, "not loaded"));
  zones::ZoneFileOptions options = options_.zone;
  runtime_->Background(
      [result, options] { *result = zones::LoadZoneFile(options); },
      [this, result] {
        reloading_ = false;
        if (*result) {
          zone_ = std::move(**result);
          ++stats_.reloads;
          if (metrics_.reloads != nullptr) metrics_.reloads->Increment();
          log::Info(kLog, wire::NameToText(zone_->origin()) + ": loaded " +
                              std::to_string(zone_->record_count()) + " records, serial " +
                              std::to_string(zone_->serial()));
        } else {
          CountFailure();
          log::Error(kLog, "reload failed, still serving serial " +
                               std::to_string(zone_->serial()) + ":\n" + result->error().message);
        }
        if (std::exchange(reload_again_, false)) Reload();
      });
}

void FilePlugin::CountFailure() noexcept {
  ++stats_.reload_failures;
  if (metrics_.reload_failures != nullptr) metrics_.reload_failures->Increment();
}

chain::Outcome FilePlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  const zones::CompiledZone& zone = *zone_;
  if (!wire::IsSubdomain(q.qname(), zone.origin())) return next(q);
  if (q.qtype() == wire::RrType::kAxfr || q.qtype() == wire::RrType::kIxfr) return Transfer(q);
  // Most queries name an owner and a type that exist: their answer is already encoded.
  if (const zones::Node* node = zone.Find(q.qname()); node != nullptr) {
    const zones::PrecompiledAnswer* ready = zone.Precompiled(*node, q.qtype());
    if (ready != nullptr && q.TryReplyPrecompiled(*ready)) return q.Replied();
  }
  zones::Answer& answer = q.NewAnswer();
  zones::Resolve(zone, q.qname(), q.qname_as_received(), q.qtype(), answer);
  return q.Reply(answer);
}

chain::Outcome FilePlugin::Transfer(chain::Query& q) noexcept {
  const zones::CompiledZone& zone = *zone_;
  bool at_apex = q.qname() == zone.origin();
  if (q.qtype() == wire::RrType::kIxfr && q.transport() == listener::Transport::kUdp && at_apex) {
    // RFC 1995 §2: over UDP, an answer holding just the SOA tells the client to use TCP.
    zones::Answer& answer = q.NewAnswer();
    answer.answer.push_back({q.qname_as_received(), &zone.soa(), zone.soa().ttl});
    return q.Reply(answer);
  }
  if (!at_apex || q.transport() != listener::Transport::kTcp ||
      !options_.transfer_to.Contains(q.client_address())) {
    ++stats_.transfers_refused;
    return q.ReplyRcode(wire::Rcode::kRefused);
  }
  ++stats_.transfers;
  // RFC 5936: SOA first, every other record, SOA last; the question only in the first message.
  std::span<uint8_t> buffer = q.buffer().first(kTransferMessageSize);
  wire::MessageWriter writer(buffer);
  writer.BeginResponse(q.request());
  writer.SetFlags(wire::flags::kAa);
  auto flush = [&] {
    q.SendRaw(std::span<uint8_t>(buffer.data(), writer.size()));
    writer.BeginHeaderOnly(q.request().id, q.request().flags);
    writer.SetFlags(wire::flags::kAa);
  };
  auto put = [&](std::string_view owner, const zones::RRset& rrset) {
    for (std::string_view rdata : rrset.rdatas) {
      if (writer.AppendRecord(wire::Section::kAnswer, owner, rrset.type, rrset.rclass, rrset.ttl,
                              zones::RRset::Bytes(rdata))) {
        continue;
      }
      flush();
      (void)writer.AppendRecord(wire::Section::kAnswer, owner, rrset.type, rrset.rclass, rrset.ttl,
                                zones::RRset::Bytes(rdata));
    }
  };
  put(zone.origin(), zone.soa());
  for (const zones::Node& node : zone.nodes()) {
    for (const zones::RRset& rrset : node.rrsets()) {
      if (&rrset != &zone.soa()) put(node.name(), rrset);
    }
  }
  put(zone.origin(), zone.soa());
  q.SendRaw(std::span<uint8_t>(buffer.data(), writer.size()));
  return q.Replied();
}

}  // namespace petdns::plugins::file
