#include "plugins/kubernetes/setup.h"

#include <algorithm>

#include "plugins/kubernetes/ip_address.h"
#include "plugins/kubernetes/kubernetes_plugin.h"
#include "plugins/kubernetes/metrics.h"
#include "plugins/kubernetes/sources.h"
#include "server/config/table_reader.h"
#include "server/wire/name.h"

namespace petdns::plugins::kubernetes {
namespace {

bool IsReverseZone(std::string_view wire_name) {
  return wire::IsSubdomain(wire_name, *wire::NameFromText("in-addr.arpa.")) ||
         wire::IsSubdomain(wire_name, *wire::NameFromText("ip6.arpa."));
}

}  // namespace

Result<chain::PluginPtr> Setup(chain::SetupContext& ctx, const toml::table& table) {
  config::TableReader reader(table, "server.kubernetes", ctx.config.path);
  auto manifests = reader.String("manifests");
  auto kubeconfig = reader.String("kubeconfig");
  auto pod_cidr = reader.String("pod_cidr");
  auto service_cidr = reader.String("service_cidr");
  auto ttl = reader.Integer("ttl", 0, 3600);
  auto negative_ttl = reader.Integer("negative_ttl", 0, 3600);
  auto pods = reader.String("pods");
  auto namespaces = reader.StringArray("namespaces");
  auto endpoint_pod_names = reader.Bool("endpoint_pod_names");
  auto ignore_empty_service = reader.Bool("ignore_empty_service");
  auto ns_addresses = reader.StringArray("ns_addresses");
  auto rebuild_delay = reader.Duration("rebuild_delay");

  KubernetesOptions options;
  RecordOptions& records = options.records;
  for (const std::string& zone : ctx.block.zones) {
    std::string wire_name = wire::LowerName(*wire::NameFromText(zone));
    (IsReverseZone(wire_name) ? records.reverse_zones : records.forward_zones).push_back(wire_name);
  }
  if (records.forward_zones.empty()) {
    reader.AddError("", "the block's zones need a cluster domain such as \"cluster.local.\"");
  }
  if (ttl) records.ttl = static_cast<uint32_t>(*ttl);
  records.negative_ttl = negative_ttl ? static_cast<uint32_t>(*negative_ttl) : records.ttl;
  if (pods) {
    if (*pods == "disabled") {
      records.pods = PodMode::kDisabled;
    } else if (*pods == "insecure") {
      records.pods = PodMode::kInsecure;
    } else if (*pods == "verified") {
      records.pods = PodMode::kVerified;
    } else {
      reader.AddError("pods", "'pods' must be \"disabled\", \"insecure\" or \"verified\"");
    }
  }
  if (namespaces) records.namespaces = *namespaces;
  records.endpoint_pod_names = endpoint_pod_names.value_or(false);
  records.ignore_empty_service = ignore_empty_service.value_or(false);
  if (ns_addresses) {
    for (const std::string& address : *ns_addresses) {
      if (!IpAddress::Parse(address)) {
        reader.AddError("ns_addresses", "'" + address + "' is not an IP address");
      }
    }
    records.ns_addresses = *ns_addresses;
  }
  if (rebuild_delay) options.rebuild_delay = *rebuild_delay;

  // fallthrough = true | ["zone.", ...]: NXDOMAIN for those names goes to the next plugin.
  options.fallthrough = chain::Fallthrough::Read(table, reader);
  if (manifests && kubeconfig) {
    reader.AddError("kubeconfig", "use either 'manifests' or 'kubeconfig', not both");
  }
  if (Status st = reader.Finish(); !st) return st.error();

  bool watch_pods = records.pods == PodMode::kVerified;
  auto plugin = std::make_unique<KubernetesPlugin>(std::move(options), ctx.runtime);
  Result<std::unique_ptr<Source>> source = MakeError(ErrorCode::kInternal, "no source");
  if (manifests) {
    ManifestSourceConfig config;
    config.directory = ctx.ResolvePath(*manifests);
    if (pod_cidr) config.pod_cidr = *pod_cidr;
    if (service_cidr) config.service_cidr = *service_cidr;
    source = MakeManifestSource(config, ctx.runtime, plugin->state());
  } else {
    ApiSourceConfig config;
    if (kubeconfig) config.kubeconfig = ctx.ResolvePath(*kubeconfig);
    config.watch_pods = watch_pods;
    source = MakeApiSource(config, ctx.runtime, plugin->state());
  }
  if (!source) return source.error().WithContext(ctx.config.path + ": [server.kubernetes]");
  plugin->set_source(std::move(*source));
  if (ctx.metrics != nullptr && !ctx.check_only) {
    plugin->set_metrics(std::make_unique<KubernetesMetrics>(*ctx.metrics));
  }
  return chain::PluginPtr(std::move(plugin));
}

}  // namespace petdns::plugins::kubernetes
