#include "plugins/kubernetes/object_sink.h"

#include <utility>

namespace petdns::plugins::kubernetes {
namespace {

class GatheringList final : public ListBuilder {
 public:
  GatheringList(ObjectSink& sink, Resource resource) : sink_(sink), resource_(resource) {}
  void Add(const nlohmann::json& item) override { items_.push_back(item); }
  void Commit() override { sink_.ReplaceAll(resource_, std::exchange(items_, {})); }

 private:
  ObjectSink& sink_;
  Resource resource_;
  std::vector<nlohmann::json> items_;
};

}  // namespace

std::unique_ptr<ListBuilder> ObjectSink::BeginList(Resource resource) {
  return std::make_unique<GatheringList>(*this, resource);
}

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
