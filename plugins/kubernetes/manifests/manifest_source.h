// Feeds an ObjectSink from a directory of manifests (petdns's "embedded default", no cluster
// needed): polls the directory, reloads on a change or SIGHUP, and replaces all four resources.
// A file that stops parsing (half-written, broken by an edit) keeps contributing the objects of
// its last good version; a deleted file removes its objects. Parsing runs in Runtime::Background;
// every method, and every call into the sink, happens on the main loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugins/kubernetes/manifests/manifest_loader.h"
#include "plugins/kubernetes/object_sink.h"
#include "server/chain/runtime.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes {

class ManifestSource {
 public:
  // `runtime` and `sink` must outlive this object.
  ManifestSource(ManifestOptions options, chain::Runtime& runtime, ObjectSink& sink);
  ~ManifestSource();
  ManifestSource(const ManifestSource&) = delete;
  ManifestSource& operator=(const ManifestSource&) = delete;

  // Checks the options (CIDRs), starts the first load in the background, and starts polling
  // every options.poll_interval and listening for SIGHUP. A missing directory is not an error
  // here: it is logged and the sink gets empty resources until it appears.
  [[nodiscard]] Status Start();
  // Stops reacting to timers, signals and finishing background loads. Idempotent.
  void Stop() noexcept;

  // Re-reads every file now, changed or not (what SIGHUP does).
  void Reload();

  // The problems of the last reload that changed something (one line each). For tests/status.
  const std::vector<std::string>& last_errors() const noexcept;
  // Number of times the sink was given a new set of objects.
  uint64_t publishes() const noexcept;
  // Problems logged so far: files that do not parse, objects rejected, an unreadable directory.
  uint64_t errors_reported() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Loads the directory once, for `petdns check`: the snapshot, or one error whose message has one
// line per problem (bad CIDR, unreadable directory, unparsable file, invalid object).
[[nodiscard]] Result<ManifestSnapshot> LoadOnce(const ManifestOptions& options);

}  // namespace petdns::plugins::kubernetes
