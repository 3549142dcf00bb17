#include "plugins/cache/setup.h"

#include <exception>

#include "plugins/cache/cache.h"
#include "server/config/table_reader.h"

namespace petdns::plugins::cache {
namespace {

constexpr int64_t kMaxCapacity = 10'000'000;
constexpr std::chrono::seconds kMaxTtl{0x7FFFFFFF};

// A duration key in whole seconds: "5s", "1h"; sub-second parts are rounded down.
std::optional<uint32_t> Seconds(config::TableReader& reader, std::string_view key) {
  auto d = reader.Duration(key);
  if (!d) return std::nullopt;
  auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
  if (s > kMaxTtl) {
    reader.AddError(key, "must be at most 68 years");
    return std::nullopt;
  }
  return static_cast<uint32_t>(s.count());
}

}  // namespace

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.cache", ctx.config.path);
  CacheOptions options;
  if (auto v = reader.Integer("capacity", 1, kMaxCapacity))
    options.capacity = static_cast<size_t>(*v);
  if (auto v = Seconds(reader, "success_ttl")) options.ttl.success_max = *v;
  if (auto v = Seconds(reader, "denial_ttl")) options.ttl.denial_max = *v;
  if (auto v = Seconds(reader, "min_ttl")) options.ttl.min = *v;
  if (auto v = reader.Integer("prefetch", 0, 0xFFFFFFFF))
    options.prefetch = static_cast<uint32_t>(*v);
  if (auto v = Seconds(reader, "serve_stale")) options.serve_stale = std::chrono::seconds(*v);
  if (auto v = Seconds(reader, "stale_ttl")) options.stale_ttl = *v;
  if (Status st = reader.Finish(); !st) return st.error();

  std::string server = "dns://";
  if (!ctx.block.listen.empty()) server += ctx.block.listen.front().text;
  try {
    CacheMetrics metrics = CacheMetrics::Create(ctx.metrics, server);
    return chain::PluginPtr(std::make_unique<CachePlugin>(options, std::move(metrics)));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     ctx.config.path + ": [server.cache]: metrics: " + e.what());
  }
}

}  // namespace petdns::plugins::cache
