// Factories for the two sources of Kubernetes objects, so setup.cc needs neither's internals.
// Main thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "plugins/kubernetes/object_sink.h"
#include "plugins/kubernetes/source.h"
#include "server/chain/runtime.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

struct ManifestSourceConfig {
  std::string directory;  // absolute
  std::string pod_cidr = "10.244.0.0/16";
  std::string service_cidr = "10.96.0.0/12";
  std::chrono::milliseconds poll_interval{250};  // a change shows after two equal polls
};

struct ApiSourceConfig {
  std::string kubeconfig;  // empty: KUBECONFIG, then in-cluster
  bool watch_pods = false;
};

// Loads the directory once (errors are logged, bad files skipped) and keeps watching it.
// With a null runtime (petdns check) it only loads and reports every problem as an error.
[[nodiscard]] Result<std::unique_ptr<Source>> MakeManifestSource(const ManifestSourceConfig& config,
                                                                 chain::Runtime* runtime,
                                                                 ObjectSink& sink);

[[nodiscard]] Result<std::unique_ptr<Source>> MakeApiSource(const ApiSourceConfig& config,
                                                            chain::Runtime* runtime,
                                                            ObjectSink& sink);

}  // namespace petdns::plugins::kubernetes
