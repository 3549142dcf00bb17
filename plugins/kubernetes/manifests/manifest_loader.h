// Reads a directory of Kubernetes manifests and turns it into the objects the API server would
// serve for services, endpointslices, pods and namespaces, synthesising what the controllers would
// create (StatefulSet pods, EndpointSlices, cluster IPs, namespaces). Everything here is pure and
// thread-safe (const methods on an immutable loader), so ManifestSource runs it on a pool thread.
// Nothing throws: problems become error lines "file:line: reason" / "file: Kind ns/name: reason".
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/manifests/ip_pool.h"
#include "plugins/kubernetes/object_sink.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

struct ManifestOptions {
  std::string directory;  // read recursively; hidden files and directories are skipped
  // Pods without status.podIP get an address from here; "v4cidr,v6cidr" gives dual-stack pods.
  std::string pod_cidr = "10.244.0.0/16";
  // Services without spec.clusterIP get one from here; "v4cidr,v6cidr" enables dual-stack.
  std::string service_cidr = "10.96.0.0/12";
  std::chrono::milliseconds poll_interval{500};  // ManifestSource only
};

// What a directory describes, as API-shaped JSON items.
struct ManifestSnapshot {
  std::array<std::vector<nlohmann::json>, 4> objects;  // indexed by Resource, sorted by ns/name
  std::vector<std::string> errors;                     // one line per problem

  std::vector<nlohmann::json>& at(Resource r) { return objects[static_cast<size_t>(r)]; }
  const std::vector<nlohmann::json>& at(Resource r) const {
    return objects[static_cast<size_t>(r)];
  }
};

// One object a manifest file contributes: a kept kind, defaulted and validated.
struct ManifestObject {
  nlohmann::json object;  // StatefulSets (and PetSets) are kept as "StatefulSet"
  std::string source;     // the file, for error messages
};

// What one file contributes.
struct ManifestFile {
  std::vector<ManifestObject> objects;
  std::vector<std::string> errors;
  // False when the file as a whole could not be read or parsed (its objects are then empty);
  // ManifestSource keeps the file's previous objects in that case.
  bool parsed = true;
};

// Identity of a manifest file on disk, for change detection.
struct ManifestFileStat {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  bool operator==(const ManifestFileStat&) const = default;
};

class ManifestLoader {
 public:
  // Validates the CIDRs of `options`.
  [[nodiscard]] static Result<ManifestLoader> Create(const ManifestOptions& options);

  // Reads the whole directory: Scan + ParseFile for each file + Build. Errors of every step are
  // in the snapshot; an unreadable directory is one error and an otherwise empty result.
  ManifestSnapshot Load() const noexcept;

  // Every *.yaml, *.yml and *.json regular file (symlinks followed) under `directory`, sorted by
  // path, hidden entries and symlinked directories skipped.
  [[nodiscard]] static Result<std::vector<ManifestFileStat>> Scan(
      const std::filesystem::path& directory) noexcept;
  static ManifestFile ParseFile(const std::filesystem::path& path) noexcept;
  // Parses file content; `json` picks the JSON parser (else YAML). `source` names the file in
  // errors.
  static ManifestFile ParseText(std::string_view text, std::string_view source, bool json) noexcept;
  // Synthesises the API objects from the files' objects (files in the given order: the first
  // definition of a name wins). The snapshot's errors are only those found here.
  ManifestSnapshot Build(const std::vector<const ManifestFile*>& files) const noexcept;

  const ManifestOptions& options() const noexcept { return options_; }

 private:
  ManifestLoader(ManifestOptions options, std::vector<IpPool> pod_pools,
                 std::vector<IpPool> service_pools);

  ManifestOptions options_;
  std::vector<IpPool> pod_pools_;      // unused templates: Build copies them
  std::vector<IpPool> service_pools_;  // first is the primary family
};

// Annotations understood by the manifests source.
inline constexpr std::string_view kReadyReplicasAnnotation = "petdns.io/ready-replicas";
inline constexpr std::string_view kNotReadyAnnotation = "petdns.io/not-ready";
inline constexpr std::string_view kPodReadyAnnotation = "petdns.io/ready";
inline constexpr std::string_view kManifestsManagedBy = "petdns.io/manifests";
inline constexpr std::string_view kManifestsNodeName = "petdns-manifests";

}  // namespace petdns::plugins::kubernetes
