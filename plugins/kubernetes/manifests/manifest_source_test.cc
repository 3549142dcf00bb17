#include "plugins/kubernetes/manifests/manifest_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace petdns::plugins::kubernetes {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Background runs at once on the calling thread; timers and SIGHUP fire when the test says.
class FakeRuntime final : public chain::Runtime {
 public:
  void Every(std::chrono::milliseconds interval, std::function<void()> fn) override {
    intervals.push_back(interval);
    timers.push_back(std::move(fn));
  }
  void Background(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
  void OnReloadSignal(std::function<void()> fn) override { reloads.push_back(std::move(fn)); }

  void Tick() {
    for (auto& fn : timers) fn();
  }
  void Sighup() {
    for (auto& fn : reloads) fn();
  }

  std::vector<std::chrono::milliseconds> intervals;
  std::vector<std::function<void()>> timers;
  std::vector<std::function<void()>> reloads;
};

class RecordingSink final : public ObjectSink {
 public:
  void ReplaceAll(Resource resource, std::vector<json> items) override {
    calls.push_back(resource);
    current[static_cast<size_t>(resource)] = std::move(items);
  }
  void Apply(Resource, WatchEventType, const json&) override { ++applies; }

  std::vector<std::string> Names(Resource resource) const {
    std::vector<std::string> names;
    for (const json& o : current[static_cast<size_t>(resource)]) {
      names.push_back(o["metadata"]["name"].get<std::string>());
    }
    return names;
  }

  std::vector<Resource> calls;
  std::array<std::vector<json>, 4> current;
  int applies = 0;
};

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{name: web, port: 80}]
)";

std::string StatefulSet(int replicas) {
  return R"(apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: )" +
         std::to_string(replicas) + R"(
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, ports: [{name: web, containerPort: 80}]}]
)";
}

class ManifestSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("manifest_source_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.directory = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes through a temporary file and a rename, as editors and kubectl cp do: a new inode.
  void Write(const std::string& name, const std::string& text) {
    fs::path tmp = dir_ / (".tmp-" + name);
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
    fs::rename(tmp, dir_ / name);
  }

  std::unique_ptr<ManifestSource> Start() {
    auto source = std::make_unique<ManifestSource>(options_, runtime_, sink_);
    Status started = source->Start();
    EXPECT_TRUE(started.has_value()) << started.error().message;
    return source;
  }

  // A change is picked up once the file looks the same on two polls in a row.
  void TickTwice() {
    runtime_.Tick();
    runtime_.Tick();
  }

  fs::path dir_;
  ManifestOptions options_;
  FakeRuntime runtime_;
  RecordingSink sink_;
};

TEST_F(ManifestSourceTest, LoadsTheDirectoryAtStart) {
  Write("svc.yaml", kService);
  Write("web.yaml", StatefulSet(2));
  auto source = Start();
  EXPECT_THAT(sink_.calls, ElementsAre(Resource::kServices, Resource::kEndpointSlices,
                                       Resource::kPods, Resource::kNamespaces));
  EXPECT_THAT(sink_.Names(Resource::kServices), ElementsAre("nginx"));
  EXPECT_THAT(sink_.Names(Resource::kPods), ElementsAre("web-0", "web-1"));
  EXPECT_THAT(sink_.Names(Resource::kEndpointSlices), ElementsAre("nginx-petdns"));
  EXPECT_THAT(sink_.Names(Resource::kNamespaces),
              ElementsAre("default", "kube-public", "kube-system"));
  EXPECT_THAT(runtime_.intervals, ElementsAre(std::chrono::milliseconds(500)));
  EXPECT_EQ(source->publishes(), 1u);
  EXPECT_EQ(sink_.applies, 0);
}

TEST_F(ManifestSourceTest, PublishesAnEditedFile) {
  Write("svc.yaml", kService);
  Write("web.yaml", StatefulSet(2));
  auto source = Start();
  runtime_.Tick();
  EXPECT_EQ(source->publishes(), 1u);  // nothing changed, nothing sent

  Write("web.yaml", StatefulSet(5));
  runtime_.Tick();
  EXPECT_EQ(source->publishes(), 1u);  // seen once: might still be being written
  runtime_.Tick();
  EXPECT_EQ(source->publishes(), 2u);
  EXPECT_EQ(sink_.calls.size(), 8u);
  EXPECT_THAT(sink_.Names(Resource::kPods),
              ElementsAre("web-0", "web-1", "web-2", "web-3", "web-4"));
  EXPECT_EQ(sink_.current[1][0]["endpoints"].size(), 5u);
  EXPECT_THAT(source->last_errors(), IsEmpty());
}

TEST_F(ManifestSourceTest, KeepsTheObjectsOfAFileThatStopsParsing) {
  Write("svc.yaml", kService);
  Write("web.yaml", StatefulSet(2));
  auto source = Start();
  std::string broken = StatefulSet(3);
  broken = broken.substr(0, broken.find("    spec:")) + "    spec: [unterminated\n";

  ::testing::internal::CaptureStderr();
  Write("web.yaml", broken);
  TickTwice();
  runtime_.Tick();  // still broken: logged once, not on every poll
  runtime_.Tick();
  std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_THAT(sink_.Names(Resource::kPods), ElementsAre("web-0", "web-1"));
  ASSERT_EQ(source->last_errors().size(), 1u);
  std::string path = (dir_ / "web.yaml").string();
  EXPECT_THAT(source->last_errors()[0], HasSubstr(path + ":10: "));
  EXPECT_THAT(log, HasSubstr("[ERROR] plugin/kubernetes: " + path + ":10: "));
  EXPECT_EQ(log.find(path + ":10:"), log.rfind(path + ":10:")) << log;

  // Fixed: the new version replaces the kept one.
  Write("web.yaml", StatefulSet(3));
  TickTwice();
  EXPECT_THAT(sink_.Names(Resource::kPods), ElementsAre("web-0", "web-1", "web-2"));
  EXPECT_THAT(source->last_errors(), IsEmpty());
}

TEST_F(ManifestSourceTest, ABrokenNewFileAddsNothingAndRemovesNothing) {
  Write("svc.yaml", kService);
  auto source = Start();
  Write("new.yaml", "kind: Service\nmetadata: {name: [\n");
  TickTwice();
  EXPECT_THAT(sink_.Names(Resource::kServices), ElementsAre("nginx"));
  EXPECT_EQ(source->last_errors().size(), 1u);
}

TEST_F(ManifestSourceTest, DropsTheObjectsOfADeletedFile) {
  Write("svc.yaml", kService);
  Write("web.yaml", StatefulSet(2));
  auto source = Start();
  fs::remove(dir_ / "web.yaml");
  TickTwice();
  EXPECT_EQ(source->publishes(), 2u);
  EXPECT_THAT(sink_.Names(Resource::kPods), IsEmpty());
  EXPECT_THAT(sink_.Names(Resource::kServices), ElementsAre("nginx"));
  EXPECT_EQ(sink_.current[1][0]["endpoints"].size(), 0u);
}

TEST_F(ManifestSourceTest, RereadsEverythingOnSighup) {
  Write("svc.yaml", kService);
  auto source = Start();
  Write("web.yaml", StatefulSet(1));
  runtime_.Sighup();  // no need to wait for a second poll
  EXPECT_EQ(source->publishes(), 2u);
  EXPECT_THAT(sink_.Names(Resource::kPods), ElementsAre("web-0"));
}

TEST_F(ManifestSourceTest, WaitsForAMissingDirectory) {
  options_.directory = (dir_ / "later").string();
  ::testing::internal::CaptureStderr();
  auto source = Start();
  runtime_.Tick();
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(source->publishes(), 1u);  // the sink learns there is nothing (yet)
  EXPECT_THAT(sink_.Names(Resource::kServices), IsEmpty());
  EXPECT_THAT(log, HasSubstr(options_.directory + ": No such file or directory"));
  EXPECT_EQ(log.find("No such file"), log.rfind("No such file")) << log;

  fs::create_directories(options_.directory);
  std::ofstream(fs::path(options_.directory) / "svc.yaml") << kService;
  TickTwice();
  EXPECT_THAT(sink_.Names(Resource::kServices), ElementsAre("nginx"));

  // The directory vanishing (a volume being remounted) keeps what DNS has.
  fs::remove_all(options_.directory);
  TickTwice();
  EXPECT_THAT(sink_.Names(Resource::kServices), ElementsAre("nginx"));
}

TEST_F(ManifestSourceTest, StopsReactingWhenDestroyed) {
  Write("svc.yaml", kService);
  auto source = Start();
  source.reset();
  Write("web.yaml", StatefulSet(1));
  TickTwice();
  runtime_.Sighup();
  EXPECT_EQ(sink_.calls.size(), 4u);
}

TEST_F(ManifestSourceTest, RejectsABadCidrAtStart) {
  options_.service_cidr = "10.96.0.0/99";
  ManifestSource source(options_, runtime_, sink_);
  Status started = source.Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error().message, HasSubstr("manifests: service CIDR"));
  EXPECT_TRUE(runtime_.timers.empty());
}

TEST_F(ManifestSourceTest, LoadOnceReturnsOneLinePerProblem) {
  Write("svc.yaml", kService);
  auto ok = LoadOnce(options_);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->at(Resource::kServices).size(), 1u);

  Write("a.yaml", "kind: Service\nmetadata: {name: x}\nspec: {ports: [{port: x}]}\n---\nkind: [\n");
  Write("b.yaml", "apiVersion: v1\nkind: Pod\n");
  auto bad = LoadOnce(options_);
  ASSERT_FALSE(bad.has_value());
  std::string a = (dir_ / "a.yaml").string(), b = (dir_ / "b.yaml").string();
  EXPECT_THAT(bad.error().message, ::testing::StartsWith(a + ":6: "));
  EXPECT_THAT(bad.error().message, HasSubstr("\n" + b + ": document 1: Pod without metadata.name"));
  EXPECT_EQ(std::count(bad.error().message.begin(), bad.error().message.end(), '\n'), 1);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
