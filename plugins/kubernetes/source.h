// A running feed of Kubernetes objects into an ObjectSink: the API server (api/) or a manifests
// directory (manifests/). Main loop thread only.
#pragma once

namespace petdns::plugins::kubernetes {

class Source {
 public:
  virtual ~Source() = default;
  virtual void Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace petdns::plugins::kubernetes
