#include "plugins/kubernetes/kubernetes_plugin.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "server/wire/name.h"
#include "tests/testing/dns_testing.h"
#include "tests/testing/fake_runtime.h"

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;
using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using wire::RrType;

std::string W(std::string_view text) { return *wire::NameFromText(text); }

// Replies NOERROR with no data, so tests can see that a query fell through.
class MarkerPlugin final : public chain::Plugin {
 public:
  std::string_view Name() const noexcept override { return "marker"; }
  chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    ++calls;
    return q.ReplyRcode(wire::Rcode::kNotImp);  // a distinctive rcode
  }
  int calls = 0;
};

json Service(const char* name, const char* ns, const char* cluster_ip) {
  return {
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"clusterIP", cluster_ip}, {"ports", json::array({{{"name", "http"}, {"port", 80}}})}}}};
}

// Holds background work until the test runs it; timers fire at once.
class ManualRuntime final : public chain::Runtime {
 public:
  void Every(std::chrono::milliseconds, std::function<void()>) override {}
  void Background(std::function<void()> work, std::function<void()> done) override {
    jobs.emplace_back(std::move(work), std::move(done));
  }
  void After(std::chrono::milliseconds, std::function<void()> fn) override { fn(); }
  void OnReloadSignal(std::function<void()>) override {}
  void RunJobs() {
    auto pending = std::move(jobs);
    for (auto& [work, done] : pending) {
      work();
      done();
    }
  }
  std::vector<std::pair<std::function<void()>, std::function<void()>>> jobs;
};

class KubernetesPluginTest : public ::testing::Test {
 protected:
  std::unique_ptr<KubernetesPlugin> Make(KubernetesOptions options = {}) {
    options.records.forward_zones = {W("cluster.local.")};
    options.records.reverse_zones = {W("in-addr.arpa.")};
    return std::make_unique<KubernetesPlugin>(std::move(options), &runtime_);
  }
  void SyncAll(KubernetesPlugin& plugin, std::vector<json> services = {}) {
    plugin.state().ReplaceAll(Resource::kNamespaces, {json{{"metadata", {{"name", "default"}}}}});
    plugin.state().ReplaceAll(Resource::kEndpointSlices, {});
    plugin.state().ReplaceAll(Resource::kServices, std::move(services));
  }
  ParsedResponse Ask(KubernetesPlugin& plugin, std::string_view name, RrType type) {
    packet_ = MakeQuery(name, type);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sink_.messages.clear();
    sockaddr_in peer{};
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&peer),
                                listener::Transport::kUdp};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* chain[] = {&plugin, &marker_};
    chain::Next next{std::span<chain::Plugin* const>(chain)};
    (void)next(q);
    EXPECT_EQ(sink_.messages.size(), 1u);
    return sink_.messages.empty() ? ParsedResponse{} : Parse(sink_.messages.back());
  }

  petdns::testing::FakeRuntime runtime_;
  MarkerPlugin marker_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(KubernetesPluginTest, ServFailsUntilSyncedThenAnswers) {
  auto plugin = Make();
  EXPECT_EQ(Ask(*plugin, "web.default.svc.cluster.local.", RrType::kA).rcode, 2);
  plugin->state().ReplaceAll(Resource::kServices, {Service("web", "default", "10.96.0.5")});
  // Partial data: known names answer, unknown ones are SERVFAIL rather than NXDOMAIN.
  auto known = Ask(*plugin, "web.default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(known.rcode, 0);
  EXPECT_EQ(known.answer,
            std::vector<std::string>{"web.default.svc.cluster.local. 5 IN A 10.96.0.5"});
  EXPECT_EQ(Ask(*plugin, "nope.default.svc.cluster.local.", RrType::kA).rcode, 2);
  SyncAll(*plugin, {Service("web", "default", "10.96.0.5")});
  EXPECT_TRUE(plugin->synced());
  auto missing = Ask(*plugin, "nope.default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(missing.rcode, 3);
  EXPECT_TRUE(missing.aa);
  ASSERT_EQ(missing.authority.size(), 1u);
  EXPECT_EQ(missing.authority[0].find("cluster.local. 5 IN SOA ns.dns.cluster.local. "), 0u);
}

TEST_F(KubernetesPluginTest, PassesOtherZonesOnAndRefusesTransfers) {
  auto plugin = Make();
  SyncAll(*plugin);
  Ask(*plugin, "example.org.", RrType::kA);
  EXPECT_EQ(marker_.calls, 1);
  EXPECT_EQ(Ask(*plugin, "cluster.local.", RrType::kAxfr).rcode, 5);
}

TEST_F(KubernetesPluginTest, WatchEventsChangeAnswers) {
  auto plugin = Make();
  SyncAll(*plugin, {Service("web", "default", "10.96.0.5")});
  plugin->state().Apply(Resource::kServices, WatchEventType::kModified,
                        Service("web", "default", "10.96.0.6"));
  EXPECT_EQ(Ask(*plugin, "web.default.svc.cluster.local.", RrType::kA).answer,
            std::vector<std::string>{"web.default.svc.cluster.local. 5 IN A 10.96.0.6"});
  plugin->state().Apply(Resource::kServices, WatchEventType::kDeleted,
                        Service("web", "default", "10.96.0.6"));
  EXPECT_EQ(Ask(*plugin, "web.default.svc.cluster.local.", RrType::kA).rcode, 3);
  EXPECT_GE(plugin->stats().updates, 3u);  // a few services at a time: built on the loop
  EXPECT_EQ(plugin->stats().rebuilds, 0u);
}

TEST_F(KubernetesPluginTest, RelistRebuildsOnlyWhatChanged) {
  auto plugin = Make();
  std::vector<json> services;
  for (int i = 0; i < 40; ++i) {
    std::string name = "svc-" + std::to_string(i);
    services.push_back(Service(name.c_str(), "default", ("10.96.1." + std::to_string(i)).c_str()));
  }
  SyncAll(*plugin, services);
  EXPECT_EQ(plugin->stats().rebuilds, 1u);  // 40 new services: one batch on a pool thread
  EXPECT_EQ(plugin->stats().services_rebuilt, 40u);
  auto view = plugin->view();

  plugin->state().ReplaceAll(Resource::kServices, services);  // a relist: nothing changed
  EXPECT_EQ(plugin->view(), view);
  EXPECT_EQ(plugin->stats().services_rebuilt, 40u);

  services[7] = Service("svc-7", "default", "10.96.2.7");
  services.pop_back();  // svc-39 was deleted while nobody watched
  plugin->state().ReplaceAll(Resource::kServices, services);
  EXPECT_EQ(plugin->stats().services_rebuilt, 42u);
  EXPECT_EQ(Ask(*plugin, "svc-7.default.svc.cluster.local.", RrType::kA).answer,
            std::vector<std::string>{"svc-7.default.svc.cluster.local. 5 IN A 10.96.2.7"});
  EXPECT_EQ(Ask(*plugin, "svc-39.default.svc.cluster.local.", RrType::kA).rcode, 3);
  EXPECT_EQ(Ask(*plugin, "svc-38.default.svc.cluster.local.", RrType::kA).answer.size(), 1u);
}

TEST_F(KubernetesPluginTest, SmallUpdatesGoOnWhileABatchIsBuilding) {
  ManualRuntime runtime;
  KubernetesOptions options;
  options.records.forward_zones = {W("cluster.local.")};
  KubernetesPlugin plugin(std::move(options), &runtime);
  std::vector<json> services;
  for (int i = 0; i < 40; ++i) {
    std::string name = "svc-" + std::to_string(i);
    services.push_back(Service(name.c_str(), "default", ("10.96.1." + std::to_string(i)).c_str()));
  }
  SyncAll(plugin, services);
  ASSERT_EQ(runtime.jobs.size(), 1u);  // the 40 services, on a pool thread
  EXPECT_TRUE(plugin.synced());
  EXPECT_FALSE(plugin.complete());  // listed but not served yet: unknown names are not NXDOMAIN
  EXPECT_FALSE(plugin.Ready());
  EXPECT_EQ(Ask(plugin, "svc-8.default.svc.cluster.local.", RrType::kA).rcode, 2);

  plugin.state().Apply(Resource::kServices, WatchEventType::kModified,
                       Service("svc-7", "default", "10.96.2.7"));
  EXPECT_EQ(Ask(plugin, "svc-7.default.svc.cluster.local.", RrType::kA).answer,
            std::vector<std::string>{"svc-7.default.svc.cluster.local. 5 IN A 10.96.2.7"});

  runtime.RunJobs();  // the batch built svc-7 from the older object: the newer one stays
  EXPECT_TRUE(plugin.complete());
  EXPECT_TRUE(plugin.Ready());
  EXPECT_EQ(Ask(plugin, "svc-7.default.svc.cluster.local.", RrType::kA).answer,
            std::vector<std::string>{"svc-7.default.svc.cluster.local. 5 IN A 10.96.2.7"});
  EXPECT_EQ(Ask(plugin, "svc-8.default.svc.cluster.local.", RrType::kA).answer.size(), 1u);
  EXPECT_EQ(Ask(plugin, "nope.default.svc.cluster.local.", RrType::kA).rcode, 3);
}

TEST_F(KubernetesPluginTest, BadUpdateKeepsThePreviousObject) {
  auto plugin = Make();
  SyncAll(*plugin, {Service("web", "default", "10.96.0.5")});
  json broken = Service("web", "default", "10.96.0.5");
  broken["spec"]["ports"][0]["port"] = "eighty";
  plugin->state().Apply(Resource::kServices, WatchEventType::kModified, broken);
  EXPECT_EQ(plugin->state().decode_errors(), 1u);
  EXPECT_EQ(Ask(*plugin, "web.default.svc.cluster.local.", RrType::kA).answer.size(), 1u);
}

TEST_F(KubernetesPluginTest, FallthroughPassesNxDomainOnly) {
  KubernetesOptions options;
  options.fallthrough = chain::Fallthrough(false, {W("in-addr.arpa.")});
  auto plugin = Make(options);
  SyncAll(*plugin, {Service("web", "default", "10.96.0.5")});
  EXPECT_EQ(Ask(*plugin, "9.9.9.9.in-addr.arpa.", RrType::kPtr).rcode, 4);  // the marker
  EXPECT_EQ(Ask(*plugin, "5.0.96.10.in-addr.arpa.", RrType::kPtr).answer.size(), 1u);
  EXPECT_EQ(Ask(*plugin, "nope.default.svc.cluster.local.", RrType::kA).rcode, 3);
}

TEST_F(KubernetesPluginTest, InsecurePodsAnswerAnyWellFormedAddress) {
  KubernetesOptions options;
  options.records.pods = PodMode::kInsecure;
  auto plugin = Make(options);
  SyncAll(*plugin);
  auto v4 = Ask(*plugin, "10-244-1-7.default.pod.cluster.local.", RrType::kA);
  EXPECT_EQ(v4.answer,
            std::vector<std::string>{"10-244-1-7.default.pod.cluster.local. 5 IN A 10.244.1.7"});
  auto v6 = Ask(*plugin, "fd00--1.default.pod.cluster.local.", RrType::kAaaa);
  EXPECT_EQ(v6.answer.size(), 1u);
  auto nodata = Ask(*plugin, "10-244-1-7.default.pod.cluster.local.", RrType::kAaaa);
  EXPECT_EQ(nodata.rcode, 0);
  EXPECT_TRUE(nodata.answer.empty());
  EXPECT_EQ(Ask(*plugin, "not-an-ip.default.pod.cluster.local.", RrType::kA).rcode, 3);
  EXPECT_EQ(Ask(*plugin, "10-244-1-7.nons.pod.cluster.local.", RrType::kA).rcode, 3);
  EXPECT_EQ(Ask(*plugin, "default.pod.cluster.local.", RrType::kA).rcode, 0);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
