#include "server/corefile/corefile_to_toml.h"

#include <algorithm>
#include <array>
#include <optional>

#include "server/corefile/corefile_parser.h"
#include "server/corefile/plugin_mapping.h"
#include "server/corefile/toml_document.h"
#include "server/corefile/zone_names.h"
#include "server/corefile/zone_split.h"

namespace petdns::corefile {
namespace {

constexpr uint16_t kDnsPort = 53;

// petdns's chain order (README.md); tables are written in it so the file reads like the chain.
constexpr std::array<std::string_view, 10> kTableOrder = {
    "metrics", "health", "ready",      "log",  "errors",
    "cache",   "hosts",  "kubernetes", "file", "forward"};

size_t TableRank(std::string_view plugin) {
  return std::find(kTableOrder.begin(), kTableOrder.end(), plugin) - kTableOrder.begin();
}

// One Corefile server block, read: where it listens, its zones, its plugins.
struct BlockPlan {
  const ServerBlock* block = nullptr;
  std::vector<std::string> zones;
  std::vector<uint16_t> ports;
  std::vector<std::string> listen;
  std::vector<PluginInstance> instances;
  std::vector<Issue> issues;          // directives (and keys) not converted
  std::vector<std::string> comments;  // notes for the first [[server]] of the block
  bool skipped = false;               // nothing of it can be served by petdns
};

struct ParsedKey {
  std::string zone;
  uint16_t port = kDnsPort;
};

// "dns://cluster.local:53", ".:53", "example.org", "10.0.0.0/8:5353". Other transports and
// malformed keys are Issues.
std::optional<ParsedKey> ParseKey(const Token& key, std::vector<Issue>& issues) {
  std::string_view text = key.text;
  if (const size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    if (text.substr(0, scheme) != "dns") {
      issues.push_back(Issue{key.line, "server block " + key.text,
                             "petdns serves plain DNS over UDP and TCP only (no DNS over TLS, "
                             "HTTPS, gRPC or QUIC)"});
      return std::nullopt;
    }
    text.remove_prefix(scheme + 3);
  }
  ParsedKey out;
  std::string_view host = text;
  if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    uint32_t number = 0;
    bool ok = !port.empty() && port.size() <= 5;
    for (char c : port) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) number = number * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!ok || number == 0 || number > 65535) {
      issues.push_back(Issue{key.line, "server block " + key.text, "not a port number"});
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(number);
  }
  auto zone = NormalizeZone(host.empty() ? "." : host);
  if (!zone) {
    issues.push_back(Issue{key.line, "server block " + key.text,
                           "not a zone name, or a CIDR petdns cannot write as one reverse zone"});
    return std::nullopt;
  }
  out.zone = *zone;
  return out;
}

// `bind ADDRESS...`: literal addresses only; interface names and `except` are Issues.
std::vector<std::string> BindAddresses(const Directive& d, std::vector<Issue>& issues) {
  std::vector<std::string> addresses;
  for (const Token& arg : d.args) {
    if (IsIpAddress(arg.text) && arg.text.find('%') == std::string::npos) {
      addresses.push_back(arg.text);
    } else {
      issues.push_back(Issue{arg.line, "bind " + arg.text,
                             "petdns listens on literal IP addresses, not interface names"});
    }
  }
  for (const Directive& option : d.body) {
    issues.push_back(Issue{option.line, "bind " + option.name,
                           "list the addresses to listen on instead of excluding some"});
  }
  return addresses;
}

std::string ListenAddress(const std::string& host, uint16_t port) {
  const std::string p = std::to_string(port);
  if (host.empty()) return ":" + p;
  return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

BlockPlan PlanBlock(const ServerBlock& block) {
  BlockPlan plan;
  plan.block = &block;
  for (const Token& key : block.keys) {
    auto parsed = ParseKey(key, plan.issues);
    if (!parsed) continue;
    if (std::find(plan.zones.begin(), plan.zones.end(), parsed->zone) == plan.zones.end()) {
      plan.zones.push_back(parsed->zone);
    }
    if (std::find(plan.ports.begin(), plan.ports.end(), parsed->port) == plan.ports.end()) {
      plan.ports.push_back(parsed->port);
    }
  }
  if (plan.zones.empty()) {
    plan.skipped = true;
    plan.issues.push_back(Issue{block.line, "server block",
                                "no key petdns can serve; the block's directives are left out"});
    return plan;
  }
  if (plan.ports.size() > 1) {
    plan.issues.push_back(Issue{block.line, "server block ports",
                                "keys with different ports: petdns serves every zone of the "
                                "block on every one of its ports"});
  }

  std::vector<std::string> bind;
  bool has_bind = false;
  for (const Directive& d : block.directives) {
    if (d.name == "bind") {
      has_bind = true;
      for (std::string& address : BindAddresses(d, plan.issues)) {
        if (std::find(bind.begin(), bind.end(), address) == bind.end()) bind.push_back(address);
      }
    } else if (d.name == "reload") {
      plan.comments.push_back("reload (line " + std::to_string(d.line) +
                              "): petdns reloads this file by itself when it changes (checked "
                              "every 2 s) and on SIGHUP");
    } else if (d.name == "import") {
      plan.issues.push_back(Issue{d.line, "import " + (d.args.empty() ? "" : d.args[0].text),
                                  "imported files are not read; convert them separately"});
    } else if (auto instance = MapDirective(d, plan.issues)) {
      plan.instances.push_back(std::move(*instance));
    }
  }
  if (has_bind && bind.empty()) {
    plan.issues.push_back(
        Issue{block.line, "bind", "no address petdns can listen on; every address is used"});
  }
  for (uint16_t port : plan.ports) {
    if (!bind.empty()) {
      for (const std::string& address : bind) plan.listen.push_back(ListenAddress(address, port));
    } else {
      plan.listen.push_back(ListenAddress("", port));
      plan.listen.push_back(ListenAddress("::", port));
    }
  }
  if (bind.empty()) {
    const std::string port = std::to_string(plan.ports.front());
    plan.comments.push_back("no bind: CoreDNS listens on every address; \":" + port +
                            "\" is every IPv4 address and \"[::]:" + port +
                            "\" every IPv6 one (drop it where IPv6 is disabled)");
  }
  return plan;
}

std::string IssueComment(const std::string& file, const Issue& issue) {
  return "not converted: " + file + ":" + std::to_string(issue.line) + ": " + issue.subject + " (" +
         issue.reason + ")";
}

// The [[server]] blocks of one Corefile block.
void EmitBlock(const BlockPlan& plan, const std::vector<std::string>& shadowing,
               const std::string& file, TomlDocument& document, std::vector<Issue>& issues) {
  ZoneSplit split = SplitByZone(plan.zones, plan.instances, shadowing);
  std::vector<Issue> block_issues = plan.issues;
  block_issues.insert(block_issues.end(), split.issues.begin(), split.issues.end());
  std::vector<bool> process_wide_done(plan.instances.size(), false);
  for (size_t g = 0; g < split.groups.size(); ++g) {
    const ZoneGroup& group = split.groups[g];
    TomlServer server;
    if (g == 0) {
      std::string keys;
      for (const Token& key : plan.block->keys) keys += (keys.empty() ? "" : " ") + key.text;
      server.comments.push_back("from " + file + ":" + std::to_string(plan.block->line) + ": " +
                                keys);
      for (const std::string& comment : plan.comments) server.comments.push_back(comment);
      for (const Issue& issue : block_issues) server.comments.push_back(IssueComment(file, issue));
    } else {
      server.comments.push_back("from " + file + ":" + std::to_string(plan.block->line) +
                                ": zones whose plugins differ from the rest of that block");
    }
    server.listen = plan.listen;
    server.zones = group.zones;
    std::vector<size_t> order = group.instances;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return TableRank(plan.instances[a].table.plugin) < TableRank(plan.instances[b].table.plugin);
    });
    for (size_t i : order) {
      const PluginInstance& instance = plan.instances[i];
      if (instance.process_wide) {
        if (process_wide_done[i]) continue;  // one endpoint per process; once is enough
        process_wide_done[i] = true;
      }
      TomlTable table = instance.table;
      if (instance.per_zone && group.zones.size() > 1) {
        const std::vector<std::string> own =
            IntersectZones(instance.zones.empty() ? plan.zones : instance.zones, plan.zones);
        for (const std::string& zone : group.zones) {
          if (std::find(own.begin(), own.end(), zone) != own.end()) {
            table.Set("origin", TomlString(zone));
            break;
          }
        }
      }
      for (const Issue& issue : instance.issues)
        table.comments.push_back(IssueComment(file, issue));
      server.plugins.push_back(std::move(table));
    }
    document.servers.push_back(std::move(server));
  }
  if (split.groups.empty()) {
    for (const Issue& issue : block_issues) document.header.push_back(IssueComment(file, issue));
  }
  issues.insert(issues.end(), block_issues.begin(), block_issues.end());
  for (const PluginInstance& instance : plan.instances) {
    issues.insert(issues.end(), instance.issues.begin(), instance.issues.end());
  }
}

}  // namespace

Result<Conversion> ConvertCorefile(std::string_view text, const std::string& file) {
  auto corefile = ParseCorefile(text, file);
  if (!corefile) return corefile.error();

  std::vector<BlockPlan> plans;
  for (const ServerBlock& block : corefile->blocks) plans.push_back(PlanBlock(block));

  TomlDocument document;
  document.header.push_back("petdns.toml converted from " + file +
                            " by `petdns convert-corefile` (petdns " PETDNS_VERSION ").");
  document.header.push_back(
      "Lines \"# not converted: ...\" name what petdns cannot express; see "
      "server/corefile/README.md.");
  Conversion out;
  for (const Issue& issue : corefile->issues) {
    document.header.push_back(IssueComment(file, issue));
    out.issues.push_back(issue);
  }
  for (size_t b = 0; b < plans.size(); ++b) {
    if (plans[b].skipped) {
      for (const Issue& issue : plans[b].issues) {
        document.header.push_back(IssueComment(file, issue));
        out.issues.push_back(issue);
      }
      continue;
    }
    // CoreDNS sends a name to the block with the longest matching zone on that port.
    std::vector<std::string> shadowing;
    for (size_t other = 0; other < plans.size(); ++other) {
      if (other == b || plans[other].skipped) continue;
      const bool shares_port =
          std::any_of(plans[other].ports.begin(), plans[other].ports.end(), [&](uint16_t port) {
            return std::find(plans[b].ports.begin(), plans[b].ports.end(), port) !=
                   plans[b].ports.end();
          });
      if (shares_port) {
        shadowing.insert(shadowing.end(), plans[other].zones.begin(), plans[other].zones.end());
      }
    }
    EmitBlock(plans[b], shadowing, file, document, out.issues);
  }
  if (document.servers.empty()) {
    return MakeError(ErrorCode::kParse, file + ": no server block petdns can serve");
  }
  std::stable_sort(out.issues.begin(), out.issues.end(),
                   [](const Issue& a, const Issue& b) { return a.line < b.line; });
  out.toml = RenderToml(document);
  return out;
}

}  // namespace petdns::corefile
