#include "plugins/kubernetes/records.h"

#include <gtest/gtest.h>

#include <fstream>

#include "plugins/kubernetes/cluster_state.h"
#include "plugins/kubernetes/cluster_view.h"
#include "server/wire/name.h"

namespace petdns::plugins::kubernetes {
namespace {

using wire::Rcode;
using wire::RrType;

std::string W(std::string_view text) { return *wire::NameFromText(text); }

// Feeds testdata/cluster.json into a ClusterState.
void LoadCluster(ClusterState& state) {
  std::ifstream in(std::string(PETDNS_SOURCE_DIR) + "/plugins/kubernetes/testdata/cluster.json");
  auto doc = nlohmann::json::parse(in);
  state.ReplaceAll(Resource::kNamespaces, doc["namespaces"].get<std::vector<nlohmann::json>>());
  state.ReplaceAll(Resource::kServices, doc["services"].get<std::vector<nlohmann::json>>());
  state.ReplaceAll(Resource::kEndpointSlices,
                   doc["endpointslices"].get<std::vector<nlohmann::json>>());
  state.ReplaceAll(Resource::kPods, doc["pods"].get<std::vector<nlohmann::json>>());
}

class RecordsTest : public ::testing::Test {
 protected:
  // Builds a view the way the plugin does: base zones plus one fragment per service.
  void Build() {
    std::vector<std::string> namespaces;
    for (const auto& [name, ns] : state_.namespaces()) namespaces.push_back(ns->name);
    auto base = BuildBaseZones(namespaces, options_, 42);
    ASSERT_TRUE(base) << base.error().message;
    view_ = ClusterView();
    view_.base = std::move(*base);
    view_.forward_zones = options_.forward_zones.size();
    view_.ttl = options_.ttl;
    for (const auto& [key, entry] : state_.services()) {
      if (entry.service == nullptr) continue;
      const Service& service = *entry.service;
      view_.SetService(ServiceKey(service.ns, service.name),
                       BuildServiceRecords(service, entry.SlicePointers(), options_));
    }
    std::vector<std::pair<std::string, PodRecords>> pods;
    if (options_.pods == PodMode::kVerified) {
      for (const auto& [key, pod] : state_.pods()) AddPodRecords(*pod, options_, pods);
    }
    for (auto& [key, records] : pods) {
      view_.pods.Set(key, std::make_shared<const PodRecords>(std::move(records)));
    }
  }
  // Renders the answer section as presentation-ish strings: "owner TYPE rdata-summary".
  std::vector<std::string> Ask(std::string_view name, RrType type, size_t zone = 0) {
    std::string qname = W(name);
    answer_.clear();
    view_.Resolve(zone, qname, qname, type, answer_);
    std::vector<std::string> out;
    for (const auto& a : answer_.answer) {
      for (std::string_view rdata : a.rrset->rdatas) {
        out.push_back(wire::NameToText(a.owner) + " " + Render(a.rrset->type, rdata));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string Render(RrType type, std::string_view rdata) {
    const auto* p = reinterpret_cast<const uint8_t*>(rdata.data());
    switch (type) {
      case RrType::kA:
        return "A " + std::to_string(p[0]) + "." + std::to_string(p[1]) + "." +
               std::to_string(p[2]) + "." + std::to_string(p[3]);
      case RrType::kAaaa:
        return "AAAA";
      case RrType::kSrv:
        return "SRV " + std::to_string(wire::ReadU16(p + 2)) + " " +
               std::to_string(wire::ReadU16(p + 4)) + " " + wire::NameToText(rdata.substr(6));
      case RrType::kCname:
        return "CNAME " + wire::NameToText(rdata);
      case RrType::kPtr:
        return "PTR " + wire::NameToText(rdata);
      case RrType::kTxt:
        return "TXT " + std::string(rdata.substr(1));
      default:
        return "TYPE" + std::to_string(static_cast<int>(type));
    }
  }

  ClusterState state_{nullptr};
  RecordOptions options_ = [] {
    RecordOptions o;
    o.forward_zones = {W("cluster.local.")};
    o.reverse_zones = {W("in-addr.arpa."), W("ip6.arpa.")};
    return o;
  }();
  ClusterView view_;
  zones::Answer answer_;
  void SetUp() override {
    LoadCluster(state_);
    Build();
  }
};

using Lines = std::vector<std::string>;

TEST_F(RecordsTest, HeadlessServiceListsReadyEndpointsOnly) {
  EXPECT_EQ(Ask("nginx.default.svc.cluster.local.", RrType::kA),
            (Lines{"nginx.default.svc.cluster.local. A 10.244.1.5",
                   "nginx.default.svc.cluster.local. A 10.244.3.3"}));
}

TEST_F(RecordsTest, StablePetNamesResolve) {
  EXPECT_EQ(Ask("web-0.nginx.default.svc.cluster.local.", RrType::kA),
            Lines{"web-0.nginx.default.svc.cluster.local. A 10.244.1.5"});
  Ask("web-1.nginx.default.svc.cluster.local.", RrType::kA);  // not ready: absent
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("10-244-3-3.nginx.default.svc.cluster.local.", RrType::kA).size(), 1u);
}

TEST_F(RecordsTest, HeadlessSrvHasOneRecordPerEndpointAndPort) {
  EXPECT_EQ(
      Ask("nginx.default.svc.cluster.local.", RrType::kSrv),
      (Lines{
          "nginx.default.svc.cluster.local. SRV 50 8080 "
          "10-244-3-3.nginx.default.svc.cluster.local.",
          "nginx.default.svc.cluster.local. SRV 50 8080 web-0.nginx.default.svc.cluster.local."}));
  EXPECT_EQ(Ask("_web._tcp.nginx.default.svc.cluster.local.", RrType::kSrv).size(), 2u);
  EXPECT_EQ(answer_.additional.size(), 2u);  // glue A for each target
  Ask("_web._udp.nginx.default.svc.cluster.local.", RrType::kSrv);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
}

TEST_F(RecordsTest, TolerateUnreadyAnnotationPublishesNotReadyEndpoints) {
  EXPECT_EQ(Ask("ub.default.svc.cluster.local.", RrType::kA),
            (Lines{"ub.default.svc.cluster.local. A 10.244.4.1",
                   "ub.default.svc.cluster.local. A 10.244.4.2"}));
  EXPECT_EQ(Ask("vm-1.ub.default.svc.cluster.local.", RrType::kA).size(), 1u);
  EXPECT_EQ(Ask("ub.default.svc.cluster.local.", RrType::kSrv).size(), 2u);
}

TEST_F(RecordsTest, PublishNotReadyAddressesPublishesNotReadyEndpoints) {
  EXPECT_EQ(Ask("pub.default.svc.cluster.local.", RrType::kAaaa).size(), 1u);
  EXPECT_EQ(Ask("2001-db8--7.pub.default.svc.cluster.local.", RrType::kAaaa).size(), 1u);
  Ask("pub.default.svc.cluster.local.", RrType::kA);  // IPv6 only: NODATA
  EXPECT_EQ(answer_.rcode, Rcode::kNoError);
  EXPECT_EQ(answer_.authority.size(), 1u);
}

TEST_F(RecordsTest, HeadlessWithoutReadyEndpointsIsNxDomain) {
  Ask("lonely.default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
}

TEST_F(RecordsTest, ClusterIpServiceHasBothFamiliesAndSrvToItself) {
  EXPECT_EQ(Ask("kube-dns.kube-system.svc.cluster.local.", RrType::kA),
            Lines{"kube-dns.kube-system.svc.cluster.local. A 10.96.0.10"});
  EXPECT_EQ(Ask("kube-dns.kube-system.svc.cluster.local.", RrType::kAaaa).size(), 1u);
  EXPECT_EQ(Ask("_dns._udp.kube-dns.kube-system.svc.cluster.local.", RrType::kSrv),
            Lines{"_dns._udp.kube-dns.kube-system.svc.cluster.local. SRV 50 53 "
                  "kube-dns.kube-system.svc.cluster.local."});
  // Bare name: every port, unnamed included: 2 IPs x 3 ports = 6 items → weight 16.
  EXPECT_EQ(Ask("kube-dns.kube-system.svc.cluster.local.", RrType::kSrv).size(), 2u);
  EXPECT_EQ(answer_.additional.size(), 2u);  // A and AAAA of the service
  EXPECT_EQ(Ask("10-244-0-3.kube-dns.kube-system.svc.cluster.local.", RrType::kA).size(), 1u);
}

TEST_F(RecordsTest, ExternalNameIsCnameAndFollowedInsideTheZone) {
  EXPECT_EQ(Ask("db.default.svc.cluster.local.", RrType::kA),
            Lines{"db.default.svc.cluster.local. CNAME db.example.com."});
  EXPECT_EQ(Ask("alias.default.svc.cluster.local.", RrType::kA),
            (Lines{"alias.default.svc.cluster.local. CNAME kube-dns.kube-system.svc.cluster.local.",
                   "kube-dns.kube-system.svc.cluster.local. A 10.96.0.10"}));
  Ask("ipext.default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
}

TEST_F(RecordsTest, NxDomainVersusNoData) {
  struct Case {
    const char* name;
    RrType type;
    Rcode rcode;
  };
  std::vector<Case> cases = {
      {"cluster.local.", RrType::kA, Rcode::kNoError},
      {"svc.cluster.local.", RrType::kA, Rcode::kNoError},
      {"pod.cluster.local.", RrType::kA, Rcode::kNoError},
      {"default.svc.cluster.local.", RrType::kA, Rcode::kNoError},
      {"empty.svc.cluster.local.", RrType::kA, Rcode::kNoError},
      {"missing.svc.cluster.local.", RrType::kA, Rcode::kNxDomain},
      {"nope.default.svc.cluster.local.", RrType::kA, Rcode::kNxDomain},
      {"web-0.nginx.default.svc.cluster.local.", RrType::kTxt, Rcode::kNoError},
      {"x.svc.cluster.local.svc.cluster.local.", RrType::kA, Rcode::kNxDomain},
      {"nginx.default.svc.cluster.local.default.svc.cluster.local.", RrType::kA, Rcode::kNxDomain},
      {"a.b.web-0.nginx.default.svc.cluster.local.", RrType::kA, Rcode::kNxDomain},
      {"10-244-1-5.default.pod.cluster.local.", RrType::kA, Rcode::kNxDomain},  // pods disabled
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Ask(c.name, c.type);
    EXPECT_EQ(answer_.rcode, c.rcode);
    EXPECT_TRUE(answer_.answer.empty());
    EXPECT_EQ(answer_.authority.size(), 1u);  // the SOA, either way
  }
}

TEST_F(RecordsTest, ApexHasSoaNsAndDnsVersion) {
  Ask("cluster.local.", RrType::kSoa);
  ASSERT_EQ(answer_.answer.size(), 1u);
  EXPECT_EQ(view_.base[0]->serial(), 42u);
  EXPECT_EQ(view_.base[0]->negative_ttl(), 5u);
  EXPECT_EQ(Ask("cluster.local.", RrType::kNs), Lines{"cluster.local. TYPE2"});
  EXPECT_EQ(Ask("dns-version.cluster.local.", RrType::kTxt),
            Lines{"dns-version.cluster.local. TXT 1.1.0"});
  EXPECT_EQ(answer_.answer.front().ttl, 28800u);
}

TEST_F(RecordsTest, PtrRecordsForClusterIpsAndEndpoints) {
  EXPECT_EQ(Ask("10.0.96.10.in-addr.arpa.", RrType::kPtr, 1),
            Lines{"10.0.96.10.in-addr.arpa. PTR kube-dns.kube-system.svc.cluster.local."});
  EXPECT_EQ(Ask("5.1.244.10.in-addr.arpa.", RrType::kPtr, 1),
            Lines{"5.1.244.10.in-addr.arpa. PTR web-0.nginx.default.svc.cluster.local."});
  Ask("9.2.244.10.in-addr.arpa.", RrType::kPtr, 1);  // web-1 not ready
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.",
                RrType::kPtr, 2)
                .size(),
            1u);
}

TEST_F(RecordsTest, PtrsOfASharedAddressFollowEveryServiceThatNamesIt) {
  // "mirror" publishes web-0's address under another name; then a ClusterIP service claims it.
  auto slice = [](const char* service, const char* host) {
    return nlohmann::json{{"metadata",
                           {{"name", std::string(service) + "-1"},
                            {"namespace", "default"},
                            {"labels", {{"kubernetes.io/service-name", service}}}}},
                          {"addressType", "IPv4"},
                          {"endpoints", {{{"addresses", {"10.244.1.5"}}, {"hostname", host}}}}};
  };
  auto apply = [&](Resource resource, nlohmann::json object,
                   WatchEventType type = WatchEventType::kAdded) {
    state_.Apply(resource, type, object);
    const ClusterState::ServiceEntry* entry = nullptr;
    std::string name = object["metadata"].value("name", "");
    if (resource == Resource::kEndpointSlices) name = name.substr(0, name.size() - 2);
    entry = state_.FindService("default/" + name);
    view_.SetService(ServiceKey("default", name),
                     entry != nullptr && entry->service != nullptr
                         ? BuildServiceRecords(*entry->service, entry->SlicePointers(), options_)
                         : nullptr);
  };
  const char* reverse = "5.1.244.10.in-addr.arpa.";
  apply(Resource::kServices, nlohmann::json::parse(R"({"metadata":{"name":"mirror",
      "namespace":"default"},"spec":{"clusterIP":"None"}})"));
  apply(Resource::kEndpointSlices, slice("mirror", "copy"));
  EXPECT_EQ(Ask(reverse, RrType::kPtr, 1),
            (Lines{"5.1.244.10.in-addr.arpa. PTR copy.mirror.default.svc.cluster.local.",
                   "5.1.244.10.in-addr.arpa. PTR web-0.nginx.default.svc.cluster.local."}));

  apply(Resource::kServices, nlohmann::json::parse(R"({"metadata":{"name":"vip",
      "namespace":"default"},"spec":{"clusterIP":"10.244.1.5"}})"));
  EXPECT_EQ(Ask(reverse, RrType::kPtr, 1),
            Lines{"5.1.244.10.in-addr.arpa. PTR vip.default.svc.cluster.local."});

  apply(Resource::kServices,
        nlohmann::json::parse(R"({"metadata":{"name":"vip","namespace":"default"}})"),
        WatchEventType::kDeleted);
  apply(Resource::kEndpointSlices, slice("mirror", "copy"), WatchEventType::kDeleted);
  EXPECT_EQ(Ask(reverse, RrType::kPtr, 1),
            Lines{"5.1.244.10.in-addr.arpa. PTR web-0.nginx.default.svc.cluster.local."});

  // Only the form ReverseName writes is an address: no leading zeros, nothing above a byte.
  for (const char* name : {"05.1.244.10.in-addr.arpa.", "1.244.10.in-addr.arpa.",
                           "261.1.244.10.in-addr.arpa.", "x.5.1.244.10.in-addr.arpa."}) {
    SCOPED_TRACE(name);
    Ask(name, RrType::kPtr, 1);
    EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  }
}

TEST_F(RecordsTest, VerifiedPodsAndEndpointPodNamesAndNamespaceFilter) {
  options_.pods = PodMode::kVerified;
  options_.endpoint_pod_names = true;
  Build();
  EXPECT_EQ(Ask("10-244-1-5.default.pod.cluster.local.", RrType::kA).size(), 1u);
  Ask("10-244-1-6.default.pod.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("nginx-extra.nginx.default.svc.cluster.local.", RrType::kA).size(), 1u);

  options_.namespaces = {"kube-system"};
  Build();
  Ask("nginx.default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  Ask("default.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("kube-dns.kube-system.svc.cluster.local.", RrType::kA).size(), 1u);
}

TEST_F(RecordsTest, IgnoreEmptyServiceHidesClusterIpWithoutEndpoints) {
  state_.Apply(
      Resource::kEndpointSlices, WatchEventType::kDeleted,
      nlohmann::json::parse(R"({"metadata":{"name":"kube-dns-1","namespace":"kube-system"}})"));
  options_.ignore_empty_service = true;
  Build();
  Ask("kube-dns.kube-system.svc.cluster.local.", RrType::kA);
  EXPECT_EQ(answer_.rcode, Rcode::kNxDomain);
}

TEST(DashedAddress, FollowsCoreDnsForm) {
  EXPECT_EQ(DashedAddress("10.0.0.1"), "10-0-0-1");
  EXPECT_EQ(DashedAddress("2001:db8::1"), "2001-db8--1");
  EXPECT_EQ(DashedAddress("2001:db8::"), "2001-db8--0");
}

TEST(ReverseName, BuildsV4AndNibbleV6Names) {
  EXPECT_EQ(wire::NameToText(ReverseName("10.96.0.10")), "10.0.96.10.in-addr.arpa.");
  EXPECT_EQ(wire::NameToText(ReverseName("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
  EXPECT_TRUE(ReverseName("nope").empty());
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
