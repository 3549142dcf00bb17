// Fuzz target: Kubernetes objects as petdns reads them. The input is a manifest file (JSON when it
// starts with '{' or '[', else YAML), parsed as the manifests source does (yaml_to_json, defaults,
// validation), synthesised into API objects (ManifestLoader::Build) and decoded with the object
// decoders the API source uses; the input itself, when it is JSON, is also decoded directly as a
// Service, an EndpointSlice, a Pod and a Namespace. Nothing may throw.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "plugins/kubernetes/manifests/manifest_loader.h"
#include "plugins/kubernetes/objects.h"

namespace {

using namespace petdns::plugins::kubernetes;  // NOLINT: a test program

void DecodeAll(const nlohmann::json& object) {
  (void)DecodeService(object);
  (void)DecodeEndpointSlice(object);
  (void)DecodePod(object);
  (void)DecodeNamespace(object);
  (void)ObjectKey(object);
}

void Decode(Resource resource, const nlohmann::json& object) {
  switch (resource) {
    case Resource::kServices:
      (void)DecodeService(object);
      break;
    case Resource::kEndpointSlices:
      (void)DecodeEndpointSlice(object);
      break;
    case Resource::kPods:
      (void)DecodePod(object);
      break;
    case Resource::kNamespaces:
      (void)DecodeNamespace(object);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t first = text.find_first_not_of(" \t\r\n");
  bool json = first != std::string_view::npos && (text[first] == '{' || text[first] == '[');

  if (json) {
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) {
      DecodeAll(value);
      if (value.is_object() && value.contains("items") && value["items"].is_array()) {
        for (const auto& item : value["items"]) DecodeAll(item);
      }
    }
  }

  static const ManifestLoader loader = *ManifestLoader::Create(ManifestOptions{});
  ManifestFile file = ManifestLoader::ParseText(text, "fuzz.yaml", json);
  ManifestSnapshot snapshot = loader.Build({&file});
  for (Resource resource : kAllResources) {
    for (const auto& object : snapshot.at(resource)) Decode(resource, object);
  }
  return 0;
}
