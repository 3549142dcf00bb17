#include "plugins/kubernetes/object_sink.h"

namespace petdns::plugins::kubernetes {

std::string_view ResourceName(Resource resource) noexcept {
  switch (resource) {
    case Resource::kServices:
      return "services";
    case Resource::kEndpointSlices:
      return "endpointslices";
    case Resource::kPods:
      return "pods";
    case Resource::kNamespaces:
      return "namespaces";
  }
  return "?";
}

}  // namespace petdns::plugins::kubernetes
