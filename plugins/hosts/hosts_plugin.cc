#include "plugins/hosts/hosts_plugin.h"

#include <prometheus/gauge.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "server/common/log.h"
#include "server/wire/name.h"

namespace petdns::plugins::hosts {
namespace {

constexpr std::string_view kLog = "plugin/hosts";

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

struct ReloadResult {
  Result<ParsedHosts> file = MakeError(ErrorCode::kInternal, "not loaded");
  std::shared_ptr<const HostsTable> table;
};

}  // namespace

Result<std::string> ReadHostsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return MakeError(ErrorCode::kIo, path + ": read error");
  return text.str();
}

HostsPlugin::HostsPlugin(HostsOptions options, ParsedHosts inline_entries, ParsedHosts file,
                         chain::Runtime* runtime, HostsMetrics metrics)
    : options_(std::move(options)),
      inline_(std::make_shared<const ParsedHosts>(std::move(inline_entries))),
      file_(std::make_shared<const ParsedHosts>(std::move(file))),
      runtime_(runtime),
      metrics_(metrics) {
  if (!options_.path.empty()) ::stat(options_.path.c_str(), &last_stat_);
  const ParsedHosts* sources[] = {inline_.get(), file_.get()};
  Publish(HostsTable::Build(sources, options_.table));
}

void HostsPlugin::Publish(std::shared_ptr<const HostsTable> table) {
  table_ = std::move(table);
  if (metrics_.entries != nullptr) metrics_.entries->Set(static_cast<double>(table_->entries()));
  if (metrics_.reload_timestamp != nullptr) {
    metrics_.reload_timestamp->Set(static_cast<double>(std::time(nullptr)));
  }
}

void HostsPlugin::OnStartup() {
  if (runtime_ == nullptr || options_.path.empty()) return;
  runtime_->OnReloadSignal([this] { Reload(); });
  if (options_.reload_interval.count() > 0) {
    runtime_->Every(options_.reload_interval, [this] { CheckForChange(); });
  }
}

void HostsPlugin::CheckForChange() {
  struct stat now {};
  if (::stat(options_.path.c_str(), &now) != 0) return;  // gone for now: keep serving
  if (SameFile(now, last_stat_)) return;
  last_stat_ = now;
  Reload();
}

void HostsPlugin::Reload() {
  if (runtime_ == nullptr || options_.path.empty()) return;
  if (reloading_) {
    reload_again_ = true;
    return;
  }
  reloading_ = true;
  auto result = std::make_shared<ReloadResult>();
  runtime_->Background(
      [result, path = options_.path, inline_entries = inline_, options = options_.table] {
        auto text = ReadHostsFile(path);
        if (!text) {
          result->file = MakeError(text.error().code, text.error().message);
          return;
        }
        result->file = ParseHosts(*text, path, options.zones);
        if (result->file->truncated) return;  // half-written: the table is not rebuilt
        const ParsedHosts* sources[] = {inline_entries.get(), &*result->file};
        result->table = HostsTable::Build(sources, options);
      },
      [this, result] {
        reloading_ = false;
        if (!result->file) {
          ++stats_.reload_failures;
          log::Error(kLog, "reload failed, keeping " + std::to_string(table_->entries()) +
                               " entries: " + result->file.error().message);
        } else if (result->file->truncated) {
          ++stats_.reload_failures;
          log::Error(kLog, options_.path +
                               ": last line incomplete (file being written?), keeping the previous "
                               "entries: " +
                               result->file->errors.back());
        } else {
          for (const std::string& error : result->file->errors) log::Warning(kLog, error);
          file_ = std::make_shared<const ParsedHosts>(std::move(*result->file));
          Publish(std::move(result->table));
          ++stats_.reloads;
          log::Info(kLog,
                    options_.path + ": loaded, " + std::to_string(table_->entries()) + " entries");
        }
        if (std::exchange(reload_again_, false)) Reload();
      });
}

bool HostsPlugin::InZones(std::string_view name) const noexcept {
  const auto& zones = options_.table.zones;
  return std::any_of(zones.begin(), zones.end(),
                     [&](const std::string& z) { return wire::IsSubdomain(name, z); });
}

chain::Outcome HostsPlugin::Serve(chain::Query& q, chain::Next next) noexcept {
  std::string_view name = q.qname();
  if (!InZones(name)) return next(q);
  const HostsTable& table = *table_;
  const zones::RRset* rrset = table.Find(name, q.qtype());
  if (rrset != nullptr) {
    zones::Answer& answer = q.NewAnswer();
    answer.answer.push_back({q.qname_as_received(), rrset, rrset->ttl});
    return q.Reply(answer);
  }
  // CoreDNS: a reverse name without entries always goes on, whatever fallthrough says.
  if (q.qtype() == wire::RrType::kPtr && !table.HasName(name)) return next(q);
  if (table.HasName(name)) return q.Reply(q.NewAnswer());  // NODATA, no SOA: hosts has no apex
  if (options_.fallthrough.Covers(name)) return next(q);
  zones::Answer& answer = q.NewAnswer();
  answer.rcode = wire::Rcode::kNxDomain;
  return q.Reply(answer);
}

}  // namespace petdns::plugins::hosts
