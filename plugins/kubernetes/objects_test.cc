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
  EXPECT_EQ(headless->ports[0].protocol.view(), "tcp");

  auto dual = DecodeService(json::parse(R"({"metadata":{"name":"d"},
      "spec":{"clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1","fd00::1"],"publishNotReadyAddresses":true}})"));
  ASSERT_TRUE(dual);
  EXPECT_EQ(dual->ns, "default");
  ASSERT_EQ(dual->cluster_ips.size(), 2u);
  EXPECT_EQ(dual->cluster_ips[0].ToString(), "10.0.0.1");
  EXPECT_EQ(dual->cluster_ips[1].ToString(), "fd00::1");
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
  EXPECT_EQ(slice->endpoints[0].name_kind, Endpoint::NameKind::kHostname);  // the pod is unused
  EXPECT_EQ(slice->NameOf(slice->endpoints[0]), "h");
  EXPECT_EQ(slice->AddressOf(slice->endpoints[0]).ToString(), "fd00::5");
  EXPECT_TRUE(slice->endpoints[1].ready);  // no conditions: ready
  EXPECT_EQ(slice->endpoints[1].name_kind, Endpoint::NameKind::kAddress);
  EXPECT_EQ(slice->ports[0].protocol.view(), "udp");
  EXPECT_EQ(slice->ports[1].port, -1);
  EXPECT_FALSE(DecodeEndpointSlice(json::parse(R"({"metadata":{"name":"s"},"addressType":"X"})")));
}

TEST(DecodeEndpointSlice, KeepsOneEntryPerAddressAndOnlyTheNamesDnsUses) {
  json object = json::parse(R"({"metadata":{"name":"s"},"addressType":"IPv6",
      "endpoints":[{"addresses":["FD00:0:0::7","fd00::8","not-an-ip"],
                    "targetRef":{"kind":"Pod","name":"Web-7"}},
                   {"addresses":["fd00::9"],"hostname":"WEB-9","targetRef":{"name":"ignored"}},
                   {"addresses":["fd00::a"]},
                   {"addresses":["fd00::b"],"targetRef":{"kind":"Node","name":"n1"}},
                   {"addresses":[]}]})");
  object["endpoints"][2]["hostname"] = std::string(64, 'x');  // longer than a DNS label
  auto slice = DecodeEndpointSlice(object);
  ASSERT_TRUE(slice) << slice.error().message;
  ASSERT_EQ(slice->endpoints.size(), 5u);
  const auto& e = slice->endpoints;
  EXPECT_EQ(e[0].name_kind, Endpoint::NameKind::kPod);
  EXPECT_EQ(slice->NameOf(e[0]), "web-7");
  EXPECT_EQ(slice->AddressText(e[0]), "fd00:0:0::7");  // as written: the dashed name uses it
  EXPECT_EQ(slice->NameOf(e[1]), "web-7");
  EXPECT_EQ(slice->AddressText(e[1]), "fd00::8");
  EXPECT_EQ(slice->AddressOf(e[0]), *IpAddress::Parse("fd00::7"));
  EXPECT_EQ(slice->AddressOf(e[1]), *IpAddress::Parse("fd00::8"));
  static_assert(sizeof(Endpoint) == 16);
  EXPECT_EQ(e[2].name_kind, Endpoint::NameKind::kHostname);
  EXPECT_EQ(slice->NameOf(e[2]), "web-9");
  EXPECT_EQ(e[3].name_kind, Endpoint::NameKind::kInvalid);  // no DNS label: never published
  EXPECT_EQ(e[4].name_kind, Endpoint::NameKind::kAddress);  // not a pod
}

TEST(DecodeEndpointSlice, EqualObjectsCompareEqual) {
  const char* text = R"({"metadata":{"name":"s","namespace":"n"},"addressType":"IPv4",
      "endpoints":[{"addresses":["10.0.0.1"],"hostname":"a"}],"ports":[{"port":80}]})";
  auto a = DecodeEndpointSlice(json::parse(text));
  auto b = DecodeEndpointSlice(json::parse(text));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto c = DecodeEndpointSlice(json::parse(R"({"metadata":{"name":"s","namespace":"n"},
      "addressType":"IPv4","endpoints":[{"addresses":["10.0.0.2"],"hostname":"a"}],
      "ports":[{"port":80}]})"));
  ASSERT_TRUE(c);
  EXPECT_NE(*a, *c);
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
