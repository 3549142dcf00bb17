#include "server/corefile/plugin_mapping.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "server/corefile/zone_names.h"

namespace petdns::corefile {
namespace {

constexpr std::string_view kNoEquivalent = "no petdns equivalent";

// CoreDNS's defaults where petdns's differ; written out so the converted server behaves the same.
constexpr int64_t kCoreDnsCacheCapacity = 9984;  // per kind (success, denial)
constexpr int64_t kCoreDnsSuccessTtl = 3600;
constexpr int64_t kCoreDnsDenialTtl = 1800;
constexpr int64_t kCoreDnsCacheMinTtl = 5;
constexpr int64_t kCoreDnsServeStaleMs = 3'600'000;
constexpr int64_t kCoreDnsFileReloadMs = 60'000;
constexpr int64_t kMaxTtl = 0x7FFFFFFF;

// Directives petdns does not have, with the reason printed for them; others get a generic one.
const std::map<std::string, std::string, std::less<>>& NoEquivalentReasons() {
  static const auto* reasons = new std::map<std::string, std::string, std::less<>>{
      {"loop", "no petdns equivalent: petdns does not probe for forwarding loops"},
      {"loadbalance", "no petdns equivalent: answers keep the order of the data"},
      {"debug", "no petdns equivalent: for verbose logs set [global] log_level = \"debug\""},
      {"transfer", "use transfer_to in [server.file] for zone transfers"},
      {"bufsize", "no petdns equivalent: petdns advertises [global] udp_max_payload"},
      {"tls", "petdns serves plain DNS over UDP and TCP only"},
      {"autopath", "no petdns equivalent: clients expand their search path themselves"},
      {"template", "no petdns equivalent: put the records in a zone file ([server.file])"},
      {"rewrite", "no petdns equivalent: petdns answers names as asked"},
  };
  return *reasons;
}

std::string ArgsText(const std::vector<Token>& args, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < args.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += args[i].text;
  }
  return out;
}

// Collects issues for one directive: "<directive> <option>" on the option's line.
class Notes {
 public:
  Notes(const Directive& directive, std::vector<Issue>& issues)
      : directive_(directive), issues_(issues) {}

  void Option(const Directive& option, std::string reason) {
    issues_.push_back(Issue{option.line, directive_.name + " " + option.name, std::move(reason)});
  }
  void Argument(uint32_t line, std::string_view what, std::string reason) {
    issues_.push_back(Issue{line, directive_.name + " " + std::string(what), std::move(reason)});
  }
  // A plugin option CoreDNS has and petdns lacks.
  void Unsupported(const Directive& option, std::string_view why = kNoEquivalent) {
    Option(option, std::string(why));
  }
  void Unknown(const Directive& option) {
    Option(option, "unknown " + directive_.name + " option");
  }
  // Wrong argument count or value: CoreDNS would refuse it, petdns leaves it out.
  void Invalid(const Directive& option, std::string_view expected) {
    Option(option, "expected " + std::string(expected));
  }

 private:
  const Directive& directive_;
  std::vector<Issue>& issues_;
};

std::optional<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

// Zone arguments; a name that is not a zone is reported and left out.
std::vector<std::string> Zones(const std::vector<Token>& args, size_t from, Notes& notes) {
  std::vector<std::string> zones;
  for (size_t i = from; i < args.size(); ++i) {
    auto zone = NormalizeZone(args[i].text);
    if (!zone) {
      notes.Argument(args[i].line, args[i].text,
                     "not a zone name, or a CIDR petdns cannot write as one reverse zone");
      continue;
    }
    zones.push_back(*zone);
  }
  return zones;
}

// `fallthrough [ZONES...]` → fallthrough = true | ["zone.", ...].
void MapFallthrough(const Directive& option, PluginInstance& out, Notes& notes) {
  std::vector<std::string> zones = Zones(option.args, 0, notes);
  out.falls_through = true;
  if (option.args.empty()) {
    out.table.Set("fallthrough", "true");
  } else if (!zones.empty()) {
    out.table.Set("fallthrough", TomlStringArray(zones));
  }
}

// `name DURATION` → key = "duration".
void MapDurationOption(const Directive& option, std::string_view key, PluginInstance& out,
                       Notes& notes) {
  std::optional<int64_t> ms;
  if (option.args.size() == 1) ms = ParseCorefileDuration(option.args[0].text);
  if (!ms) {
    notes.Invalid(option, "one duration such as 5s");
    return;
  }
  out.table.Set(std::string(key), TomlDuration(*ms));
}

// `name N` → key = N within [min, max].
void MapIntegerOption(const Directive& option, std::string_view key, int64_t min, int64_t max,
                      PluginInstance& out, Notes& notes) {
  std::optional<int64_t> value;
  if (option.args.size() == 1) value = ParseInteger(option.args[0].text, min, max);
  if (!value) {
    notes.Invalid(option,
                  "one integer between " + std::to_string(min) + " and " + std::to_string(max));
    return;
  }
  out.table.Set(std::string(key), std::to_string(*value));
}

// An option that takes no arguments and sets a boolean.
void MapFlagOption(const Directive& option, std::string_view key, PluginInstance& out,
                   Notes& notes) {
  if (!option.args.empty()) {
    notes.Invalid(option, "no arguments");
    return;
  }
  out.table.Set(std::string(key), "true");
}

PluginInstance NewInstance(const Directive& d, std::string plugin) {
  PluginInstance out;
  out.directive = d.name;
  out.line = d.line;
  out.table.plugin = std::move(plugin);
  return out;
}

constexpr const char* kRelativePathNote =
    "relative paths start at this file's folder (CoreDNS: its working directory)";

std::optional<PluginInstance> MapKubernetes(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "kubernetes");
  Notes notes(d, out.issues);
  out.zones = Zones(d.args, 0, notes);
  for (const Directive& o : d.body) {
    if (o.name == "kubeconfig") {
      if (o.args.empty() || o.args.size() > 2) {
        notes.Invalid(o, "KUBECONFIG [CONTEXT]");
        continue;
      }
      out.table.Set("kubeconfig", TomlString(o.args[0].text));
      if (o.args.size() == 2) {
        notes.Argument(o.line, "kubeconfig context",
                       "petdns uses the kubeconfig's current-context");
      }
    } else if (o.name == "endpoint") {
      notes.Unsupported(o,
                        "petdns finds the API server in a kubeconfig (kubeconfig = \"...\"), "
                        "$KUBECONFIG or the pod's service account");
    } else if (o.name == "tls") {
      notes.Unsupported(o, "put the client certificate and CA in a kubeconfig instead");
    } else if (o.name == "namespaces") {
      if (o.args.empty()) {
        notes.Invalid(o, "at least one namespace");
        continue;
      }
      std::vector<std::string> names;
      for (const Token& t : o.args) names.push_back(t.text);
      out.table.Set("namespaces", TomlStringArray(names));
    } else if (o.name == "labels" || o.name == "namespace_labels") {
      notes.Unsupported(o, "petdns has no label selectors: it serves every object");
    } else if (o.name == "pods") {
      const std::string mode = o.args.size() == 1 ? o.args[0].text : "";
      if (mode != "disabled" && mode != "insecure" && mode != "verified") {
        notes.Invalid(o, "disabled, insecure or verified");
        continue;
      }
      out.table.Set("pods", TomlString(mode));
    } else if (o.name == "endpoint_pod_names") {
      MapFlagOption(o, "endpoint_pod_names", out, notes);
    } else if (o.name == "ttl") {
      MapIntegerOption(o, "ttl", 0, 3600, out, notes);
    } else if (o.name == "noendpoints") {
      notes.Unsupported(o, "petdns always watches EndpointSlices");
    } else if (o.name == "fallthrough") {
      MapFallthrough(o, out, notes);
    } else if (o.name == "ignore") {
      if (o.args.size() != 1 || o.args[0].text != "empty_service") {
        notes.Invalid(o, "ignore empty_service");
        continue;
      }
      out.table.Set("ignore_empty_service", "true");
    } else if (o.name == "startup_timeout") {
      notes.Unsupported(o,
                        "petdns starts at once and answers SERVFAIL instead of NXDOMAIN until "
                        "its first sync");
    } else if (o.name == "multicluster" || o.name == "zonal") {
      notes.Unsupported(o, "not implemented in petdns");
    } else if (o.name == "apiserver_qps" || o.name == "apiserver_burst" ||
               o.name == "apiserver_max_inflight") {
      notes.Unsupported(o, "petdns has no client-side API rate limits");
    } else {
      notes.Unknown(o);
    }
  }
  return out;
}

std::optional<PluginInstance> MapFile(const Directive& d, std::vector<Issue>& issues) {
  if (d.args.empty()) {
    issues.push_back(Issue{d.line, d.name, "no zone file given"});
    return std::nullopt;
  }
  PluginInstance out = NewInstance(d, "file");
  Notes notes(d, out.issues);
  out.per_zone = true;
  out.table.Set("path", TomlString(d.args[0].text),
                d.args[0].text.starts_with('/') ? "" : kRelativePathNote);
  out.zones = Zones(d.args, 1, notes);
  bool reload_set = false;
  for (const Directive& o : d.body) {
    if (o.name == "reload") {
      MapDurationOption(o, "reload", out, notes);
      reload_set = true;
    } else if (o.name == "transfer") {
      notes.Unsupported(o, "use transfer_to in [server.file] (addresses or CIDRs)");
    } else if (o.name == "upstream") {
      notes.Unsupported(o, "petdns follows CNAMEs inside the zone only");
    } else {
      notes.Unknown(o);
    }
  }
  if (!reload_set) out.table.Set("reload", TomlDuration(kCoreDnsFileReloadMs), "CoreDNS's default");
  return out;
}

std::optional<PluginInstance> MapHosts(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "hosts");
  Notes notes(d, out.issues);
  // CoreDNS reads /etc/hosts when no file is named, inline entries or not; petdns reads no file
  // when only `entries` is set, so the path is always written.
  const std::string path = d.args.empty() ? "/etc/hosts" : d.args[0].text;
  out.table.Set("path", TomlString(path), path.starts_with('/') ? "" : kRelativePathNote);
  out.zones = Zones(d.args, 1, notes);
  std::vector<std::string> entries;
  for (const Directive& o : d.body) {
    if (IsIpAddress(o.name)) {
      entries.push_back(o.name + " " + ArgsText(o.args));
    } else if (o.name == "ttl") {
      MapIntegerOption(o, "ttl", 0, kMaxTtl, out, notes);
    } else if (o.name == "reload") {
      MapDurationOption(o, "reload", out, notes);
    } else if (o.name == "no_reverse") {
      MapFlagOption(o, "no_reverse", out, notes);
    } else if (o.name == "fallthrough") {
      MapFallthrough(o, out, notes);
    } else {
      notes.Unknown(o);
    }
  }
  if (!entries.empty()) out.table.Set("entries", TomlStringArray(entries));
  return out;
}

// `success|denial CAPACITY [TTL] [MINTTL]`.
struct CacheKind {
  int64_t capacity = kCoreDnsCacheCapacity;
  int64_t ttl;
  int64_t min_ttl = kCoreDnsCacheMinTtl;
};

void ReadCacheKind(const Directive& o, CacheKind& kind, Notes& notes) {
  std::optional<int64_t> capacity, ttl, min_ttl;
  if (!o.args.empty()) capacity = ParseInteger(o.args[0].text, 1, 10'000'000);
  if (o.args.size() >= 2) ttl = ParseInteger(o.args[1].text, 0, kMaxTtl);
  if (o.args.size() >= 3) min_ttl = ParseInteger(o.args[2].text, 0, kMaxTtl);
  if (o.args.empty() || o.args.size() > 3 || !capacity || (o.args.size() >= 2 && !ttl) ||
      (o.args.size() >= 3 && !min_ttl)) {
    notes.Invalid(o, "CAPACITY [TTL] [MINTTL]");
    return;
  }
  kind.capacity = *capacity;
  if (ttl) kind.ttl = *ttl;
  if (min_ttl) kind.min_ttl = *min_ttl;
}

std::optional<PluginInstance> MapCache(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "cache");
  Notes notes(d, out.issues);
  CacheKind success{.ttl = kCoreDnsSuccessTtl};
  CacheKind denial{.ttl = kCoreDnsDenialTtl};
  size_t first_zone = 0;
  if (!d.args.empty()) {
    if (auto ttl = ParseInteger(d.args[0].text, 0, kMaxTtl)) {
      success.ttl = denial.ttl = *ttl;
      first_zone = 1;
    }
  }
  out.zones = Zones(d.args, first_zone, notes);
  int64_t prefetch = 0;  // CoreDNS prefetches only when asked; petdns by default
  int64_t serve_stale_ms = 0;
  // Zones where `disable success` / `disable denial` apply; both for a zone = no cache there.
  std::vector<std::string> no_success, no_denial;
  std::vector<uint32_t> disable_lines;
  for (const Directive& o : d.body) {
    if (o.name == "success") {
      ReadCacheKind(o, success, notes);
    } else if (o.name == "denial") {
      ReadCacheKind(o, denial, notes);
    } else if (o.name == "prefetch") {
      std::optional<int64_t> amount;
      if (!o.args.empty() && o.args.size() <= 3) {
        amount = ParseInteger(o.args[0].text, 1, 0xFFFFFFFF);
      }
      if (!amount) {
        notes.Invalid(o, "AMOUNT [DURATION] [PERCENTAGE%]");
        continue;
      }
      prefetch = *amount;
      for (size_t i = 1; i < o.args.size(); ++i) {
        const std::string& arg = o.args[i].text;
        const bool default_window = arg == "10%" || ParseCorefileDuration(arg) == 60'000;
        if (!default_window) {
          notes.Argument(o.line, "prefetch " + arg,
                         "petdns refreshes an entry hit `prefetch` times in the last 10% of its "
                         "TTL");
        }
      }
    } else if (o.name == "serve_stale") {
      serve_stale_ms = kCoreDnsServeStaleMs;
      if (!o.args.empty()) {
        auto ms = ParseCorefileDuration(o.args[0].text);
        if (!ms || o.args.size() > 2) {
          notes.Invalid(o, "[DURATION] [REFRESH_MODE]");
          continue;
        }
        serve_stale_ms = *ms;
      }
      if (o.args.size() == 2 && o.args[1].text != "verify") {
        notes.Argument(o.line, "serve_stale " + o.args[1].text,
                       "petdns always asks the rest of the chain first (CoreDNS's `verify`)");
      }
    } else if (o.name == "servfail") {
      if (o.args.size() != 1 || ParseCorefileDuration(o.args[0].text) != 0) {
        notes.Unsupported(o, "petdns never caches SERVFAIL");
      }
    } else if (o.name == "disable") {
      if (o.args.empty() || (o.args[0].text != "success" && o.args[0].text != "denial")) {
        notes.Invalid(o, "success|denial [ZONES...]");
        continue;
      }
      std::vector<std::string> zones = Zones(o.args, 1, notes);
      if (o.args.size() == 1) zones.push_back(".");  // no zones: every zone of the cache
      auto& list = o.args[0].text == "success" ? no_success : no_denial;
      list.insert(list.end(), zones.begin(), zones.end());
      disable_lines.push_back(o.line);
    } else if (o.name == "keepttl") {
      notes.Unsupported(o, "petdns lowers TTLs by the time an answer spent in the cache");
    } else {
      notes.Unknown(o);
    }
  }
  // A zone disabled for both kinds is left out of the cache; one kind alone cannot be expressed.
  for (const std::string& zone : no_success) {
    if (std::find(no_denial.begin(), no_denial.end(), zone) != no_denial.end()) {
      out.excluded_zones.push_back(zone);
    }
  }
  for (const auto* list : {&no_success, &no_denial}) {
    const std::vector<std::string>& other = list == &no_success ? no_denial : no_success;
    for (const std::string& zone : *list) {
      if (std::find(other.begin(), other.end(), zone) != other.end()) continue;
      notes.Argument(
          disable_lines.empty() ? d.line : disable_lines.front(),
          std::string("disable ") + (list == &no_success ? "success " : "denial ") + zone,
          "petdns can leave a zone out of the cache, but not one kind of answer only");
    }
  }

  out.table.Set("capacity", std::to_string(success.capacity + denial.capacity),
                "CoreDNS's success + denial capacities, one shared LRU in petdns");
  out.table.Set("success_ttl", TomlDuration(success.ttl * 1000));
  out.table.Set("denial_ttl", TomlDuration(denial.ttl * 1000));
  if (success.min_ttl != denial.min_ttl) {
    notes.Argument(d.line, "MINTTL",
                   "petdns has one min_ttl for both kinds; the smaller one is used");
  }
  out.table.Set("min_ttl", TomlDuration(std::min(success.min_ttl, denial.min_ttl) * 1000));
  out.table.Set("prefetch", std::to_string(prefetch),
                prefetch == 0 ? "CoreDNS's default: off" : "");
  out.table.Set("serve_stale", TomlDuration(serve_stale_ms),
                serve_stale_ms == 0 ? "CoreDNS's default: off" : "");
  return out;
}

std::optional<PluginInstance> MapForward(const Directive& d, std::vector<Issue>& issues) {
  if (d.args.size() < 2) {
    issues.push_back(Issue{d.line, d.name, "expected FROM TO..."});
    return std::nullopt;
  }
  PluginInstance out = NewInstance(d, "forward");
  Notes notes(d, out.issues);
  auto from = NormalizeZone(d.args[0].text);
  if (!from) {
    issues.push_back(Issue{d.line, d.name + " " + d.args[0].text, "FROM is not a zone name"});
    return std::nullopt;
  }
  out.zones.push_back(*from);
  std::vector<std::string> to;
  for (size_t i = 1; i < d.args.size(); ++i) {
    std::string_view target = d.args[i].text;
    if (target.starts_with("dns://")) target.remove_prefix(6);
    if (target.find("://") != std::string_view::npos) {
      notes.Argument(d.args[i].line, d.args[i].text,
                     "petdns forwards over plain DNS only (no DNS over TLS or gRPC)");
      continue;
    }
    to.emplace_back(target);
  }
  if (to.empty()) {
    issues.push_back(Issue{d.line, d.name, "no upstream petdns can use"});
    return std::nullopt;
  }
  out.table.Set("to", TomlStringArray(to));
  bool max_concurrent_set = false;
  for (const Directive& o : d.body) {
    if (o.name == "except") {
      std::vector<std::string> zones = Zones(o.args, 0, notes);
      if (!zones.empty()) out.table.Set("except", TomlStringArray(zones));
    } else if (o.name == "force_tcp") {
      MapFlagOption(o, "force_tcp", out, notes);
    } else if (o.name == "prefer_udp") {
      notes.Unsupported(o, "petdns asks upstreams over the client's transport (UDP or TCP)");
    } else if (o.name == "expire") {
      MapDurationOption(o, "expire", out, notes);
    } else if (o.name == "max_fails") {
      MapIntegerOption(o, "max_fails", 0, 1'000'000, out, notes);
    } else if (o.name == "policy") {
      const std::string policy = o.args.size() == 1 ? o.args[0].text : "";
      if (policy != "random" && policy != "round_robin" && policy != "sequential") {
        notes.Invalid(o, "random, round_robin or sequential");
        continue;
      }
      out.table.Set("policy", TomlString(policy));
    } else if (o.name == "health_check") {
      std::optional<int64_t> ms;
      if (!o.args.empty()) ms = ParseCorefileDuration(o.args[0].text);
      if (!ms || *ms <= 0) {
        notes.Invalid(o, "DURATION [no_rec] [domain FQDN]");
        continue;
      }
      out.table.Set("health_check", TomlDuration(*ms));
      if (o.args.size() > 1) {
        notes.Argument(o.line, "health_check " + ArgsText(o.args, 1),
                       "petdns probes with a recursive `. IN NS` query");
      }
    } else if (o.name == "max_concurrent") {
      MapIntegerOption(o, "max_concurrent", 0, 10'000'000, out, notes);
      max_concurrent_set = true;
    } else if (o.name == "tls" || o.name == "tls_servername") {
      notes.Unsupported(o, "petdns forwards over plain DNS only");
    } else if (o.name == "next") {
      notes.Unsupported(o, "petdns relays every upstream answer");
    } else if (o.name == "failfast_all_unhealthy_upstreams") {
      notes.Unsupported(o, "petdns tries every upstream when all are down");
    } else if (o.name == "failover") {
      notes.Unsupported(o, "petdns fails over on timeouts and bad answers, not on rcodes");
    } else {
      notes.Unknown(o);
    }
  }
  if (!max_concurrent_set) out.table.Set("max_concurrent", "0", "CoreDNS's default: no limit");
  return out;
}

// prometheus/health/ready: [ADDRESS] → listen.
void MapListen(const Directive& d, std::string_view fallback, PluginInstance& out, Notes& notes) {
  if (d.args.size() > 1) {
    notes.Argument(d.line, ArgsText(d.args, 1), "expected one address");
  }
  const std::string address = d.args.empty() ? std::string(fallback) : d.args[0].text;
  if (auto listen = NormalizeHttpListen(address)) {
    out.table.Set("listen", TomlString(*listen));
  } else {
    notes.Argument(d.line, address,
                   "petdns listens on literal addresses only; the default is used");
  }
}

std::optional<PluginInstance> MapPrometheus(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "metrics");
  Notes notes(d, out.issues);
  MapListen(d, "localhost:9153", out, notes);  // CoreDNS's default address
  for (const Directive& o : d.body) notes.Unknown(o);
  return out;
}

std::optional<PluginInstance> MapHealth(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "health");
  Notes notes(d, out.issues);
  out.process_wide = true;
  MapListen(d, ":8080", out, notes);
  for (const Directive& o : d.body) {
    if (o.name == "lameduck") {
      MapDurationOption(o, "lameduck", out, notes);
    } else {
      notes.Unknown(o);
    }
  }
  return out;
}

std::optional<PluginInstance> MapReady(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "ready");
  Notes notes(d, out.issues);
  out.process_wide = true;
  MapListen(d, ":8181", out, notes);
  for (const Directive& o : d.body) notes.Unknown(o);
  return out;
}

std::optional<PluginInstance> MapLog(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "log");
  Notes notes(d, out.issues);
  for (const Token& arg : d.args) {
    if (arg.text == ".") continue;  // every name: what petdns logs
    if (arg.text.find('{') != std::string::npos) {
      notes.Argument(arg.line, "format",
                     "petdns writes CoreDNS's common format; custom formats are not supported");
    } else {
      notes.Argument(arg.line, arg.text, "petdns logs every name of the block, not a subset");
    }
  }
  std::vector<std::string> classes;
  for (const Directive& o : d.body) {
    if (o.name != "class") {
      notes.Unknown(o);
      continue;
    }
    for (const Token& t : o.args) {
      if (t.text == "all" || t.text == "success" || t.text == "denial" || t.text == "error") {
        classes.push_back(t.text);
      } else {
        notes.Argument(o.line, "class " + t.text, "expected all, success, denial or error");
      }
    }
  }
  if (!classes.empty()) out.table.Set("classes", TomlStringArray(classes));
  return out;
}

std::optional<PluginInstance> MapErrors(const Directive& d, std::vector<Issue>& /*issues*/) {
  PluginInstance out = NewInstance(d, "errors");
  Notes notes(d, out.issues);
  for (const Directive& o : d.body) {
    if (o.name == "consolidate") {
      notes.Unsupported(o,
                        "petdns rate-limits every SERVFAIL line instead: see limit and interval "
                        "in plugins/errors/README.md");
    } else if (o.name == "stacktrace") {
      notes.Unsupported(o);
    } else {
      notes.Unknown(o);
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> ParseCorefileDuration(std::string_view text) {
  if (auto seconds = ParseInteger(text, 0, std::numeric_limits<int32_t>::max())) {
    return *seconds * 1000;
  }
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t begin = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == begin) return std::nullopt;
    const std::string number(text.substr(begin, i - begin));
    if (number.size() > 15 || number.find('.') != number.rfind('.') || number == ".") {
      return std::nullopt;
    }
    const double amount = std::stod(number);
    const std::string_view rest = text.substr(i);
    double unit_ms = 0;
    for (const auto& [suffix, ms] : {std::pair<std::string_view, double>{"ns", 1e-6},
                                     {"us", 1e-3},
                                     {"\xC2\xB5s", 1e-3},
                                     {"ms", 1},
                                     {"s", 1e3},
                                     {"m", 6e4},
                                     {"h", 3.6e6}}) {
      if (rest.starts_with(suffix)) {
        unit_ms = ms;
        i += suffix.size();
        break;
      }
    }
    if (unit_ms == 0) return std::nullopt;
    total_ms += amount * unit_ms;
    if (total_ms > 1e15) return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(total_ms));
}

std::optional<PluginInstance> MapDirective(const Directive& directive, std::vector<Issue>& issues) {
  using Mapper = std::optional<PluginInstance> (*)(const Directive&, std::vector<Issue>&);
  static const auto* mappers = new std::map<std::string, Mapper, std::less<>>{
      {"kubernetes", &MapKubernetes}, {"file", &MapFile},       {"hosts", &MapHosts},
      {"cache", &MapCache},           {"forward", &MapForward}, {"prometheus", &MapPrometheus},
      {"health", &MapHealth},         {"ready", &MapReady},     {"log", &MapLog},
      {"errors", &MapErrors}};
  if (auto mapper = mappers->find(directive.name); mapper != mappers->end()) {
    return mapper->second(directive, issues);
  }
  const auto& reasons = NoEquivalentReasons();
  auto reason = reasons.find(directive.name);
  issues.push_back(Issue{directive.line, directive.name,
                         reason != reasons.end() ? reason->second : std::string(kNoEquivalent)});
  return std::nullopt;
}

}  // namespace petdns::corefile
