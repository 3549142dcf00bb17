#include "plugins/kubernetes/cluster_state.h"

#include <gtest/gtest.h>

#include <set>

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

json Svc(const std::string& name, const std::string& ip) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"spec", {{"clusterIP", ip}}}};
}

json Slice(const std::string& name, const std::string& service, const std::string& ip) {
  json labels = json::object();
  if (!service.empty()) labels["kubernetes.io/service-name"] = service;
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"labels", labels}}},
          {"addressType", "IPv4"},
          {"endpoints", json::array({{{"addresses", {ip}}}})}};
}

class ClusterStateTest : public ::testing::Test {
 protected:
  // The services touched by each change, deduplicated.
  std::vector<std::set<std::string>> changes_;
  ClusterState state_{[this](const ClusterChange& c) {
    changes_.emplace_back(c.services.begin(), c.services.end());
  }};

  std::vector<std::string> SliceNames(const std::string& service) {
    std::vector<std::string> out;
    if (const auto* entry = state_.FindService(service)) {
      for (const EndpointSlice* s : entry->SlicePointers()) out.push_back(s->name);
    }
    return out;
  }
};

TEST_F(ClusterStateTest, KeepsSlicesWithTheirServiceWhicheverComesFirst) {
  state_.ReplaceAll(Resource::kEndpointSlices,
                    {Slice("web-b", "web", "10.0.0.2"), Slice("web-a", "web", "10.0.0.1"),
                     Slice("orphan", "", "10.0.0.9")});
  ASSERT_NE(state_.FindService("ns/web"), nullptr);
  EXPECT_EQ(state_.FindService("ns/web")->service, nullptr);  // slices only, so far
  EXPECT_EQ(SliceNames("ns/web"), (std::vector<std::string>{"web-a", "web-b"}));
  EXPECT_EQ(state_.slice_count(), 3u);
  EXPECT_EQ(changes_.back(), (std::set<std::string>{"ns/web"}));

  state_.ReplaceAll(Resource::kServices, {Svc("web", "10.96.0.1")});
  ASSERT_NE(state_.FindService("ns/web")->service, nullptr);
  EXPECT_TRUE(state_.synced(Resource::kServices));

  // The label moves: both services' records change.
  state_.Apply(Resource::kEndpointSlices, WatchEventType::kModified,
               Slice("web-b", "api", "10.0.0.2"));
  EXPECT_EQ(changes_.back(), (std::set<std::string>{"ns/web", "ns/api"}));
  EXPECT_EQ(SliceNames("ns/web"), std::vector<std::string>{"web-a"});
  EXPECT_EQ(SliceNames("ns/api"), std::vector<std::string>{"web-b"});

  // Deleted without metadata.namespace: stored under "default/…", so "ns/…" is untouched.
  state_.Apply(Resource::kEndpointSlices, WatchEventType::kDeleted,
               json{{"metadata", {{"name", "web-a"}}}});
  EXPECT_EQ(SliceNames("ns/web"), std::vector<std::string>{"web-a"});
  state_.Apply(Resource::kEndpointSlices, WatchEventType::kDeleted,
               Slice("web-a", "web", "10.0.0.1"));
  EXPECT_TRUE(SliceNames("ns/web").empty());
  state_.Apply(Resource::kServices, WatchEventType::kDeleted, Svc("web", "10.96.0.1"));
  EXPECT_EQ(state_.FindService("ns/web"), nullptr);  // neither service nor slices left
}

TEST_F(ClusterStateTest, RelistReportsOnlyWhatChangedAndKeepsUndecodableObjects) {
  state_.ReplaceAll(Resource::kServices,
                    {Svc("a", "10.96.0.1"), Svc("b", "10.96.0.2"), Svc("c", "10.96.0.3")});
  const auto* a_before = state_.FindService("ns/a")->service.get();
  changes_.clear();

  json broken = Svc("b", "10.96.0.20");
  broken["spec"]["ports"] = "not a list";
  state_.ReplaceAll(Resource::kServices,
                    {Svc("a", "10.96.0.1"), broken, Svc("d", "10.96.0.4")});  // c is gone
  ASSERT_EQ(changes_.size(), 1u);  // a list always reports, even when nothing changed
  EXPECT_EQ(changes_.back(), (std::set<std::string>{"ns/c", "ns/d"}));
  EXPECT_EQ(state_.FindService("ns/a")->service.get(), a_before);  // unchanged: the same object
  ASSERT_NE(state_.FindService("ns/b"), nullptr);  // failed to decode: the old version stays
  EXPECT_EQ(state_.FindService("ns/b")->service->cluster_ips[0].ToString(), "10.96.0.2");
  EXPECT_EQ(state_.FindService("ns/c"), nullptr);
  EXPECT_EQ(state_.decode_errors(), 1u);

  // A watch event that changes nothing DNS uses reports nothing.
  json annotated = Svc("a", "10.96.0.1");
  annotated["metadata"]["annotations"] = {{"note", "x"}};
  state_.Apply(Resource::kServices, WatchEventType::kModified, annotated);
  EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(ClusterStateTest, AnUnfinishedListChangesNothing) {
  state_.ReplaceAll(Resource::kServices, {Svc("a", "10.96.0.1")});
  changes_.clear();
  {
    auto list = state_.BeginList(Resource::kServices);
    list->Add(Svc("b", "10.96.0.2"));
  }  // dropped without Commit
  EXPECT_TRUE(changes_.empty());
  EXPECT_NE(state_.FindService("ns/a"), nullptr);
  EXPECT_EQ(state_.FindService("ns/b"), nullptr);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
