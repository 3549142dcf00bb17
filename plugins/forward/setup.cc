#include "plugins/forward/setup.h"

#include <exception>
#include <fstream>
#include <random>
#include <sstream>

#include "plugins/forward/forward.h"
#include "server/config/table_reader.h"
#include "server/listener/socket_address.h"
#include "server/wire/name.h"

namespace petdns::plugins::forward {
namespace {

constexpr uint16_t kDnsPort = 53;

// "IP", "IP:port", "[IPv6]:port", "IPv6"; nullopt when it is not an address.
std::optional<sockaddr_storage> ParseHostPort(std::string_view text) {
  if (text.starts_with("dns://")) text.remove_prefix(6);
  std::string_view host = text;
  std::string_view port_text;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  uint32_t port = kDnsPort;
  if (!port_text.empty()) {
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
      if (port > 65535) return std::nullopt;
    }
    if (port == 0) return std::nullopt;
  }
  auto address = listener::ParseSocketAddress(host, static_cast<uint16_t>(port));
  if (!address) return std::nullopt;
  return *address;
}

Upstream MakeUpstream(const sockaddr_storage& address) {
  return Upstream(address,
                  listener::FormatSocketAddress(reinterpret_cast<const sockaddr*>(&address)));
}

Result<std::string> WireName(const std::string& text) {
  std::string absolute = text == "." || text.ends_with('.') ? text : text + ".";
  auto wire = wire::NameFromText(absolute);
  if (!wire) return wire.error();
  return wire::LowerName(*wire);
}

}  // namespace

Result<std::vector<Upstream>> ParseTo(std::string_view entry, const std::string& resolved_path) {
  std::vector<Upstream> out;
  if (auto address = ParseHostPort(entry)) {
    out.push_back(MakeUpstream(*address));
    return out;
  }
  if (entry.find('/') == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(entry) + "' is neither an IP[:port] nor a file path");
  }
  std::ifstream in(resolved_path);
  if (!in) {
    return MakeError(ErrorCode::kNotFound, "cannot read " + resolved_path);
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, value;
    if (!(words >> keyword >> value) || keyword != "nameserver") continue;
    if (size_t scope = value.find('%'); scope != std::string::npos) value.resize(scope);
    auto address = listener::ParseSocketAddress(value, kDnsPort);
    if (!address) {
      return MakeError(ErrorCode::kParse, resolved_path + ": bad nameserver '" + value + "'");
    }
    out.push_back(MakeUpstream(*address));
  }
  if (out.empty()) {
    return MakeError(ErrorCode::kNotFound, resolved_path + ": no nameserver lines");
  }
  return out;
}

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.forward", ctx.config.path);
  auto to = reader.StringArray("to", /*required=*/true);
  auto policy = reader.String("policy");
  auto force_tcp = reader.Bool("force_tcp");
  auto max_fails = reader.Integer("max_fails", 0, 1'000'000);
  auto health_check = reader.Duration("health_check");
  auto expire = reader.Duration("expire");
  auto timeout = reader.Duration("timeout");
  auto max_concurrent = reader.Integer("max_concurrent", 0, 10'000'000);
  auto except = reader.StringArray("except");

  ForwardOptions options;
  std::vector<Upstream> upstreams;
  if (to) {
    if (to->empty()) reader.AddError("to", "at least one upstream is required");
    for (const std::string& entry : *to) {
      auto parsed = ParseTo(entry, ctx.ResolvePath(entry));
      if (!parsed) {
        reader.AddError("to", parsed.error().message);
        continue;
      }
      for (Upstream& u : *parsed) upstreams.push_back(std::move(u));
    }
    if (upstreams.size() > kMaxUpstreams) {
      reader.AddError("to", "more than " + std::to_string(kMaxUpstreams) + " upstreams (" +
                                std::to_string(upstreams.size()) + ")");
    }
  }
  if (policy) {
    if (*policy == "random") {
      options.policy = Policy::kRandom;
    } else if (*policy == "round_robin") {
      options.policy = Policy::kRoundRobin;
    } else if (*policy == "sequential") {
      options.policy = Policy::kSequential;
    } else {
      reader.AddError("policy", "'" + *policy + "': expected random, round_robin or sequential");
    }
  }
  if (force_tcp) options.force_tcp = *force_tcp;
  if (max_fails) options.max_fails = static_cast<uint32_t>(*max_fails);
  if (health_check) {
    if (health_check->count() <= 0) {
      reader.AddError("health_check", "must be positive");
    } else {
      options.health_check = *health_check;
    }
  }
  if (expire) options.expire = *expire;
  if (timeout) {
    if (timeout->count() <= 0) {
      reader.AddError("timeout", "must be positive");
    } else {
      options.timeout = *timeout;
    }
  }
  if (max_concurrent) options.max_concurrent = static_cast<size_t>(*max_concurrent);
  for (const std::string& zone : ctx.block.zones) {
    if (auto wire = WireName(zone)) options.zones.push_back(std::move(*wire));
  }
  if (except) {
    for (const std::string& name : *except) {
      auto wire = WireName(name);
      if (!wire) {
        reader.AddError("except", "'" + name + "': " + wire.error().message);
        continue;
      }
      options.except.push_back(std::move(*wire));
    }
  }
  if (Status st = reader.Finish(); !st) return st.error();

  try {
    ForwardMetrics metrics(*ctx.metrics);
    std::unique_ptr<uv::DnsTransport> transport;
    if (ctx.runtime != nullptr && !ctx.check_only) transport = ctx.runtime->NewDnsTransport();
    if (ctx.runtime != nullptr && !ctx.check_only && transport == nullptr) {
      return MakeError(ErrorCode::kUnavailable,
                       ctx.config.path + ": [server.forward]: this runtime has no DNS transport");
    }
    return chain::PluginPtr(std::make_unique<ForwardPlugin>(
        std::move(options), std::move(upstreams), std::move(transport), ctx.runtime,
        std::move(metrics), std::random_device{}()));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     ctx.config.path + ": [server.forward]: " + std::string(e.what()));
  }
}

}  // namespace petdns::plugins::forward
