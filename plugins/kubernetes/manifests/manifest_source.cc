#include "plugins/kubernetes/manifests/manifest_source.h"

#include <exception>
#include <set>
#include <utility>

#include "server/common/log.h"

namespace petdns::plugins::kubernetes {
namespace {

constexpr std::string_view kLogPrefix = "plugin/kubernetes";

struct FileState {
  ManifestFileStat stat;
  // The objects of the file's last good version (an empty file if it never parsed).
  std::shared_ptr<const ManifestFile> file;
};

using FileStates = std::map<std::string, FileState>;
using Observed = std::map<std::string, ManifestFileStat>;

// One scan-and-reload, prepared on the main loop, run on a pool thread, applied on the main loop.
// The pool thread touches nothing but the job and the immutable loader.
struct Job {
  // In.
  bool force = false;
  FileStates files;   // copied from the source; updated in place by Run
  Observed observed;  // what the previous scan saw
  // Out.
  bool scan_ok = true;
  std::string scan_error;
  Observed now;
  bool reread = false;   // some file was parsed or deleted
  bool rebuild = false;  // the objects changed: publish `snapshot`
  std::vector<std::string> errors;
  ManifestSnapshot snapshot;

  void Run(const ManifestLoader& loader) noexcept {
    try {
      auto scan = ManifestLoader::Scan(loader.options().directory);
      if (!scan) {
        scan_ok = false;
        scan_error = scan.error().message;
        return;
      }
      for (ManifestFileStat& stat : *scan) now.emplace(stat.path, std::move(stat));
      std::set<std::string> paths;
      for (const auto& [path, stat] : now) paths.insert(path);
      for (const auto& [path, state] : files) paths.insert(path);
      for (const std::string& path : paths) Update(path);
      if (!rebuild && !force) return;
      rebuild = true;
      std::vector<const ManifestFile*> inputs;
      for (const auto& [path, state] : files) inputs.push_back(state.file.get());
      snapshot = loader.Build(inputs);
      errors.insert(errors.end(), snapshot.errors.begin(), snapshot.errors.end());
    } catch (const std::exception& e) {
      scan_ok = false;
      scan_error = std::string("internal error while reloading: ") + e.what();
    }
  }

  void Update(const std::string& path) {
    auto cur = now.find(path);
    auto old = files.find(path);
    bool present = cur != now.end();
    bool same = present && old != files.end() && old->second.stat == cur->second;
    if (same && !force) return;
    if (!force) {
      // Wait until the file looks the same on two polls in a row, so a file caught while being
      // written is not parsed half-way (a failed parse would keep the old objects anyway).
      auto prev = observed.find(path);
      bool stable = present ? (prev != observed.end() && prev->second == cur->second)
                            : prev == observed.end();
      if (!stable) return;
    }
    reread = true;
    if (!present) {
      files.erase(old);
      rebuild = true;
      return;
    }
    ManifestFile file = ManifestLoader::ParseFile(path);
    errors.insert(errors.end(), file.errors.begin(), file.errors.end());
    if (!file.parsed && old != files.end()) {
      old->second.stat = cur->second;  // keep its last good objects; retry when it changes again
      return;
    }
    if (file.parsed) rebuild = true;  // a new file that never parsed adds nothing
    files[path] = FileState{cur->second, std::make_shared<const ManifestFile>(std::move(file))};
  }
};

}  // namespace

struct ManifestSource::State : std::enable_shared_from_this<ManifestSource::State> {
  State(ManifestOptions o, chain::Runtime& r, ObjectSink& s)
      : options(std::move(o)), runtime(r), sink(s) {}

  void Poll(bool force) {
    if (stopped || loader == nullptr) return;
    if (in_flight) {
      force_again = force_again || force;
      return;
    }
    in_flight = true;
    auto job = std::make_shared<Job>();
    job->force = force;
    job->files = files;
    job->observed = observed;
    std::shared_ptr<const ManifestLoader> shared_loader = loader;
    std::weak_ptr<State> weak = weak_from_this();
    runtime.Background([job, shared_loader] { job->Run(*shared_loader); },
                       [weak, job] {
                         if (auto self = weak.lock()) self->Finish(*job);
                       });
  }

  void Finish(Job& job) {
    in_flight = false;
    if (stopped) return;
    if (!job.scan_ok) {
      if (job.scan_error != last_scan_error) {
        log::Error(kLogPrefix, job.scan_error);
        ++errors_reported;
      }
      last_scan_error = job.scan_error;
      // Keep everything already published (a directory briefly gone while a volume is
      // remounted must not empty DNS); if nothing was ever published, say "nothing" once.
      if (publishes == 0) {
        last_errors = {job.scan_error};
        Publish(loader->Build({}));
      }
    } else {
      last_scan_error.clear();
      observed = std::move(job.now);
      files = std::move(job.files);
      for (const std::string& error : job.errors) log::Error(kLogPrefix, error);
      errors_reported += job.errors.size();
      if (job.reread || job.rebuild) last_errors = job.errors;
      if (job.rebuild) Publish(std::move(job.snapshot));
    }
    if (force_again) {
      force_again = false;
      Poll(true);
    }
  }

  void Publish(ManifestSnapshot snapshot) {
    std::string summary = options.directory + ":";
    for (Resource resource : kAllResources) {
      summary += " " + std::to_string(snapshot.at(resource).size()) + " " +
                 std::string(ResourceName(resource));
    }
    for (Resource resource : kAllResources) {
      sink.ReplaceAll(resource, std::move(snapshot.at(resource)));
    }
    ++publishes;
    log::Info(kLogPrefix, summary);
  }

  ManifestOptions options;
  chain::Runtime& runtime;
  ObjectSink& sink;
  std::shared_ptr<const ManifestLoader> loader;
  bool stopped = false;
  bool in_flight = false;
  bool force_again = false;
  FileStates files;
  Observed observed;
  std::string last_scan_error;
  std::vector<std::string> last_errors;
  uint64_t errors_reported = 0;  // every error line logged
  uint64_t publishes = 0;
};

ManifestSource::ManifestSource(ManifestOptions options, chain::Runtime& runtime, ObjectSink& sink)
    : state_(std::make_shared<State>(std::move(options), runtime, sink)) {}

ManifestSource::~ManifestSource() { Stop(); }

Status ManifestSource::Start() {
  if (state_->loader != nullptr) return {};
  auto loader = ManifestLoader::Create(state_->options);
  if (!loader) return std::move(loader).error().WithContext("manifests");
  state_->loader = std::make_shared<const ManifestLoader>(std::move(*loader));
  std::weak_ptr<State> weak = state_;
  if (state_->options.poll_interval.count() > 0) {
    state_->runtime.Every(state_->options.poll_interval, [weak] {
      if (auto self = weak.lock()) self->Poll(false);
    });
  }
  state_->runtime.OnReloadSignal([weak] {
    if (auto self = weak.lock()) self->Poll(true);
  });
  state_->Poll(true);
  return {};
}

void ManifestSource::Stop() noexcept { state_->stopped = true; }

void ManifestSource::Reload() { state_->Poll(true); }

const std::vector<std::string>& ManifestSource::last_errors() const noexcept {
  return state_->last_errors;
}

uint64_t ManifestSource::publishes() const noexcept { return state_->publishes; }

uint64_t ManifestSource::errors_reported() const noexcept { return state_->errors_reported; }

Result<ManifestSnapshot> LoadOnce(const ManifestOptions& options) {
  auto loader = ManifestLoader::Create(options);
  if (!loader) return std::move(loader).error().WithContext("manifests");
  ManifestSnapshot snapshot = loader->Load();
  if (!snapshot.errors.empty()) {
    std::string message;
    for (const std::string& error : snapshot.errors) {
      if (!message.empty()) message += '\n';
      message += error;
    }
    return MakeError(ErrorCode::kParse, std::move(message));
  }
  return snapshot;
}

}  // namespace petdns::plugins::kubernetes
