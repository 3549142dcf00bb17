#include "plugins/kubernetes/objects.h"

#include <gtest/gtest.h>

namespace petdns::plugins::kubernetes {
namespace {

using nlohmann::json;

TEST(DecodeService, ReadsKindsPortsAndReadinessFlags) {
  auto headless = DecodeService(json::parse(R"({"metadata":{"name":"nginx","namespace":"default",
      "annotations":{"service.alpha.kubernetes.io/tolerate-unready-endpoints":"True"}},
      "spec":{"clusterIP":"None","ports":[{"name":"web","port":80}]}})"));
  ASSERT_TRUE(headless) << headless.error().message;
  EXPECT_EQ(headless->kind, Service::Kind::kHeadless);
  EXPECT_TRUE(headless->publish_not_ready);
  ASSERT_EQ(headless->ports.size(), 1u);
  EXPECT_EQ(headless->ports[0].protocol, "tcp");

  auto dual = DecodeService(json::parse(R"({"metadata":{"name":"d"},
      "spec":{"clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1","fd00::1"],"publishNotReadyAddresses":true}})"));
  ASSERT_TRUE(dual);
  EXPECT_EQ(dual->ns, "default");
  EXPECT_EQ(dual->cluster_ips, (std::vector<std::string>{"10.0.0.1", "fd00::1"}));
  EXPECT_TRUE(dual->publish_not_ready);

  auto annotation_false = DecodeService(json::parse(R"({"metadata":{"name":"x",
      "annotations":{"service.alpha.kubernetes.io/tolerate-unready-endpoints":"nope"}},"spec":{}})"));
  ASSERT_TRUE(annotation_false);
  EXPECT_FALSE(annotation_false->publish_not_ready);
}

TEST(DecodeService, NamesTheObjectInErrors) {
  auto bad = DecodeService(json::parse(R"({"metadata":{"name":"web","namespace":"prod"},
      "spec":{"ports":[{"port":"http"}]}})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Service prod/web: spec.ports[0].port: not a port number");
  EXPECT_FALSE(DecodeService(json::parse(R"({"spec":{}})")));
  EXPECT_FALSE(
      DecodeService(json::parse(R"({"metadata":{"name":"e"},"spec":{"type":"ExternalName"}})")));
}

TEST(DecodeEndpointSlice, ReadsConditionsHostnamesAndPorts) {
  auto slice = DecodeEndpointSlice(json::parse(R"({"metadata":{"name":"s","namespace":"n",
      "labels":{"kubernetes.io/service-name":"svc"}},"addressType":"IPv6",
      "endpoints":[{"addresses":["fd00::5"],"conditions":{"ready":false},"hostname":"h",
                    "targetRef":{"kind":"Pod","name":"p"}},
                   {"addresses":["fd00::6"]}],
      "ports":[{"name":"x","protocol":"UDP","port":53},{"name":"noport"}]})"));
  ASSERT_TRUE(slice) << slice.error().message;
  EXPECT_EQ(slice->service, "svc");
  EXPECT_EQ(slice->address_type, EndpointSlice::AddressType::kIpv6);
  ASSERT_EQ(slice->endpoints.size(), 2u);
  EXPECT_FALSE(slice->endpoints[0].ready);
  EXPECT_EQ(slice->endpoints[0].target_pod, "p");
  EXPECT_TRUE(slice->endpoints[1].ready);  // no conditions: ready
  EXPECT_EQ(slice->ports[0].protocol, "udp");
  EXPECT_EQ(slice->ports[1].port, -1);
  EXPECT_FALSE(DecodeEndpointSlice(json::parse(R"({"metadata":{"name":"s"},"addressType":"X"})")));
}

TEST(DecodePod, PrefersPodIpsOverPodIp) {
  auto pod = DecodePod(json::parse(R"({"metadata":{"name":"p","namespace":"n"},
      "status":{"podIP":"10.0.0.1","podIPs":[{"ip":"10.0.0.1"},{"ip":"fd00::1"}]}})"));
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->ips, (std::vector<std::string>{"10.0.0.1", "fd00::1"}));
}

TEST(ParseGoBool, AcceptsGoSpellings) {
  EXPECT_EQ(ParseGoBool("true"), true);
  EXPECT_EQ(ParseGoBool("1"), true);
  EXPECT_EQ(ParseGoBool("F"), false);
  EXPECT_EQ(ParseGoBool("yes"), std::nullopt);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
