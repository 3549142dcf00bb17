#include "plugins/kubernetes/sources.h"

#include "plugins/kubernetes/api/api_source.h"
#include "plugins/kubernetes/api/kube_config.h"
#include "plugins/kubernetes/manifests/manifest_loader.h"
#include "plugins/kubernetes/manifests/manifest_source.h"
#include "server/common/log.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLog = "plugin/kubernetes";

class ManifestSourceAdapter final : public Source {
 public:
  ManifestSourceAdapter(ManifestOptions options, chain::Runtime& runtime, ObjectSink& sink)
      : source_(std::move(options), runtime, sink) {}
  void Start() override {
    if (Status st = source_.Start(); !st) log::Error(kLog, st.error().message);
  }
  void Stop() override { source_.Stop(); }
  uint64_t InputErrors() const override { return source_.errors_reported(); }

 private:
  ManifestSource source_;
};

class ApiSourceAdapter final : public Source {
 public:
  explicit ApiSourceAdapter(std::unique_ptr<api::ApiSource> source) : source_(std::move(source)) {}
  void Start() override { source_->Start(); }
  void Stop() override { source_->Stop(); }
  std::vector<SourceStats> Stats() const override {
    std::vector<SourceStats> out;
    for (const auto& reflector : source_->reflectors()) {
      const api::ReflectorStats& r = reflector->stats();
      SourceStats s;
      s.resource = reflector->resource();
      s.lists = r.lists;
      s.relists = r.relists;
      s.watch_restarts = r.watch_restarts;
      s.events = r.events;
      for (uint64_t e : r.errors) s.errors += e;
      s.last_sync = reflector->last_sync_time();
      out.push_back(s);
    }
    return out;
  }

 private:
  std::unique_ptr<api::ApiSource> source_;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeManifestSource(const ManifestSourceConfig& config,
                                                   chain::Runtime* runtime, ObjectSink& sink) {
  ManifestOptions options;
  options.directory = config.directory;
  options.pod_cidr = config.pod_cidr;
  options.service_cidr = config.service_cidr;
  options.poll_interval = config.poll_interval;
  if (runtime == nullptr) {
    // petdns check: every problem in the directory is an error.
    auto snapshot = LoadOnce(options);
    if (!snapshot) return snapshot.error();
    return std::unique_ptr<Source>();
  }
  if (auto loader = ManifestLoader::Create(options); !loader) return loader.error();
  return std::unique_ptr<Source>(
      std::make_unique<ManifestSourceAdapter>(std::move(options), *runtime, sink));
}

Result<std::unique_ptr<Source>> MakeApiSource(const ApiSourceConfig& config,
                                              chain::Runtime* runtime, ObjectSink& sink) {
  auto endpoint = api::ResolveApiEndpoint(api::ApiConfigInputs::FromEnvironment(config.kubeconfig));
  if (!endpoint) return endpoint.error();
  if (runtime == nullptr) return std::unique_ptr<Source>();  // petdns check: resolving is enough
  std::unique_ptr<http::HttpClient> client = runtime->NewHttpClient();
  if (client == nullptr) {
    return MakeError(ErrorCode::kUnavailable, "no HTTP client for the Kubernetes API");
  }
  api::ApiSourceOptions options;
  options.watch_pods = config.watch_pods;
  auto source = std::make_unique<api::ApiSource>(std::move(*endpoint), std::move(client), *runtime,
                                                 sink, std::move(options));
  return std::unique_ptr<Source>(std::make_unique<ApiSourceAdapter>(std::move(source)));
}

}  // namespace petdns::plugins::kubernetes
