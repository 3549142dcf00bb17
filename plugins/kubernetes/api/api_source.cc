#include "plugins/kubernetes/api/api_source.h"

#include <algorithm>
#include <utility>

#include "server/common/log.h"
#include "server/http/redact.h"

namespace petdns::plugins::kubernetes::api {

ApiSource::ApiSource(ApiEndpoint endpoint, std::unique_ptr<http::HttpClient> client,
                     chain::Runtime& runtime, ObjectSink& sink, ApiSourceOptions options)
    : endpoint_(std::move(endpoint)),
      client_(std::move(client)),
      tokens_(endpoint_.token, endpoint_.token_file, options.token_refresh) {
  for (Resource r : kAllResources) {
    if (r == Resource::kPods && !options.watch_pods) continue;
    ReflectorOptions ro = options.reflector;
    ro.label_selector =
        r == Resource::kNamespaces ? options.namespace_label_selector : options.label_selector;
    if (ro.seed != 0) ro.seed += static_cast<uint64_t>(r);  // distinct jitter per resource
    reflectors_.push_back(
        std::make_unique<Reflector>(r, *client_, runtime, sink, endpoint_, tokens_, std::move(ro)));
  }
}

ApiSource::~ApiSource() {
  // Reflectors hold calls of client_: destroy them first.
  reflectors_.clear();
}

void ApiSource::Start() {
  log::Info("plugin/kubernetes", "watching the API server " +
                                     http::RedactUrl(endpoint_.server_url) + " (" +
                                     endpoint_.source + ")");
  for (auto& r : reflectors_) r->Start();
}

void ApiSource::Stop() noexcept {
  for (auto& r : reflectors_) r->Stop();
}

bool ApiSource::synced() const noexcept {
  return std::all_of(reflectors_.begin(), reflectors_.end(),
                     [](const std::unique_ptr<Reflector>& r) { return r->synced(); });
}

const Reflector* ApiSource::reflector(Resource resource) const noexcept {
  for (const auto& r : reflectors_) {
    if (r->resource() == resource) return r.get();
  }
  return nullptr;
}

}  // namespace petdns::plugins::kubernetes::api
