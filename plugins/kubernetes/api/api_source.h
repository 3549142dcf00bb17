// Feeds an ObjectSink from the Kubernetes API: one Reflector (list+watch) per resource DNS needs —
// services, endpointslices, namespaces, and pods when `watch_pods` — sharing one HttpClient and one
// token source. Main loop thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugins/kubernetes/api/kube_config.h"
#include "plugins/kubernetes/api/reflector.h"
#include "plugins/kubernetes/api/token_source.h"
#include "plugins/kubernetes/object_sink.h"
#include "server/chain/runtime.h"
#include "server/http/http_client.h"

namespace petdns::plugins::kubernetes::api {

struct ApiSourceOptions {
  bool watch_pods = false;
  std::string label_selector;            // services, endpointslices and pods
  std::string namespace_label_selector;  // namespaces
  std::chrono::milliseconds token_refresh{60'000};
  ReflectorOptions reflector;  // its label_selector is ignored (set per resource from the above)
};

class ApiSource {
 public:
  // `runtime` and `sink` must outlive the source; it owns the client.
  ApiSource(ApiEndpoint endpoint, std::unique_ptr<http::HttpClient> client, chain::Runtime& runtime,
            ObjectSink& sink, ApiSourceOptions options);
  ~ApiSource();
  ApiSource(const ApiSource&) = delete;
  ApiSource& operator=(const ApiSource&) = delete;

  // Starts every reflector (first lists go out at once). Idempotent.
  void Start();
  // Cancels all requests and retries. Start() may be called again (it relists).
  void Stop() noexcept;

  // True once every reflector delivered its first complete list.
  bool synced() const noexcept;
  const ApiEndpoint& endpoint() const noexcept { return endpoint_; }
  const std::vector<std::unique_ptr<Reflector>>& reflectors() const noexcept { return reflectors_; }
  // nullptr if the resource is not watched.
  const Reflector* reflector(Resource resource) const noexcept;

 private:
  ApiEndpoint endpoint_;
  std::unique_ptr<http::HttpClient> client_;
  TokenSource tokens_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;  // destroyed before client_
};

}  // namespace petdns::plugins::kubernetes::api
