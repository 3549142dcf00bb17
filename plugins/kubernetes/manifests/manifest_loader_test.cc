#include "plugins/kubernetes/manifests/manifest_loader.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "plugins/kubernetes/manifests/ip_pool.h"

namespace petdns::plugins::kubernetes {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(MANIFESTS_TESTDATA) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Replaces the first occurrence of `from` (which must exist) in `text`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

bool InCidr(const std::string& ip, const std::string& base, int bits) {
  in_addr a{}, b{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1 || inet_pton(AF_INET, base.c_str(), &b) != 1) {
    return false;
  }
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask);
}

class ManifestLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("manifest_loader_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.directory = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path.string();
  }

  ManifestSnapshot Load() {
    auto loader = ManifestLoader::Create(options_);
    EXPECT_TRUE(loader.has_value()) << loader.error().message;
    return loader->Load();
  }

  static const json* Find(const ManifestSnapshot& s, Resource r, const std::string& ns,
                          const std::string& name) {
    for (const json& o : s.at(r)) {
      if (o["metadata"].value("namespace", "") == ns && o["metadata"]["name"] == name) return &o;
    }
    return nullptr;
  }

  static std::vector<std::string> Names(const ManifestSnapshot& s, Resource r) {
    std::vector<std::string> names;
    for (const json& o : s.at(r)) names.push_back(o["metadata"]["name"].get<std::string>());
    return names;
  }

  static std::string PodIp(const ManifestSnapshot& s, const std::string& name) {
    const json* pod = Find(s, Resource::kPods, "default", name);
    return pod == nullptr ? "" : pod->at("status").value("podIP", "");
  }

  fs::path dir_;
  ManifestOptions options_;
};

constexpr char kHeadlessNginx[] = R"(apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{name: web, port: 80}]
)";

constexpr char kWebStatefulSet[] = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  annotations: {}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports: [{name: web, containerPort: 80}]
)";

std::string WebWith(const std::string& annotations, int replicas = 2) {
  std::string text = Replace(kWebStatefulSet, "annotations: {}", "annotations: " + annotations);
  return Replace(text, "replicas: 2", "replicas: " + std::to_string(replicas));
}

TEST_F(ManifestLoaderTest, KeepsKubernetesFieldTypesFromYaml) {
  Write("svc.yaml", R"(
apiVersion: v1
kind: Service
metadata:
  name: db
  annotations:
    flag: "true"
    count: "3"
spec:
  selector: {app: db}
  publishNotReadyAddresses: true
  ports:
  - name: pg
    port: 5432
    targetPort: "5432"
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  const json* svc = Find(s, Resource::kServices, "default", "db");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ((*svc)["spec"]["ports"][0]["port"], 5432);
  EXPECT_TRUE((*svc)["spec"]["ports"][0]["port"].is_number_integer());
  EXPECT_EQ((*svc)["spec"]["ports"][0]["targetPort"], 5432);  // a quoted number means the number
  EXPECT_EQ((*svc)["spec"]["ports"][0]["protocol"], "TCP");
  EXPECT_EQ((*svc)["spec"]["publishNotReadyAddresses"], true);
  EXPECT_EQ((*svc)["metadata"]["annotations"]["flag"], "true");
  EXPECT_EQ((*svc)["metadata"]["annotations"]["count"], "3");
  EXPECT_EQ((*svc)["kind"], "Service");
  EXPECT_EQ((*svc)["apiVersion"], "v1");
}

TEST_F(ManifestLoaderTest, ReadsMultiDocumentYamlListsAndJson) {
  Write("a.yaml", R"(
apiVersion: v1
kind: Service
metadata: {name: one, namespace: team}
spec: {clusterIP: None}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: two}
  spec: {clusterIP: None}
- apiVersion: v1
  kind: Pod
  metadata: {name: lone}
)");
  Write("b.json", R"({"kind": "ServiceList", "apiVersion": "v1", "items": [
      {"metadata": {"name": "three"}, "spec": {"clusterIP": "None"}}]})");
  Write("c.json", R"({"kind": "Service", "apiVersion": "v1",
      "metadata": {"name": "four"}, "spec": {"ports": [{"port": 53, "protocol": "UDP"}]}})");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kServices), ElementsAre("four", "three", "two", "one"));
  EXPECT_NE(Find(s, Resource::kServices, "team", "one"), nullptr);
  EXPECT_NE(Find(s, Resource::kPods, "default", "lone"), nullptr);
}

TEST_F(ManifestLoaderTest, IgnoresKindsDnsDoesNotNeed) {
  Write("app.yaml", R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec: {replicas: 3}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: knative}
---
apiVersion: v1
kind: Service
metadata: {name: kept}
spec: {clusterIP: None}
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kServices), ElementsAre("kept"));
  EXPECT_THAT(s.at(Resource::kPods), IsEmpty());
}

TEST_F(ManifestLoaderTest, SynthesisesStatefulSetPodsAndTheirEndpointSlice) {
  Write("web.yaml", ReadTestdata("web.yaml"));
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kPods), ElementsAre("web-0", "web-1"));

  std::vector<std::string> ips;
  for (const std::string name : {"web-0", "web-1"}) {
    SCOPED_TRACE(name);
    const json& pod = *Find(s, Resource::kPods, "default", name);
    EXPECT_EQ(pod["kind"], "Pod");
    EXPECT_EQ(pod["spec"]["hostname"], name);
    EXPECT_EQ(pod["spec"]["subdomain"], "nginx");
    EXPECT_EQ(pod["metadata"]["labels"]["app"], "nginx");
    EXPECT_EQ(pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], name);
    EXPECT_EQ(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"], name.substr(4));
    EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    EXPECT_EQ(pod["spec"]["containers"][0]["ports"][0]["name"], "web");
    EXPECT_EQ(pod["status"]["phase"], "Running");
    std::string ip = pod["status"]["podIP"];
    EXPECT_TRUE(InCidr(ip, "10.244.0.0", 16)) << ip;
    EXPECT_FALSE(ip.ends_with(".0") || ip.ends_with(".255")) << ip;
    EXPECT_EQ(pod["status"]["podIPs"], json::array({{{"ip", ip}}}));
    bool ready = false;
    for (const json& c : pod["status"]["conditions"]) {
      if (c["type"] == "Ready") ready = c["status"] == "True";
    }
    EXPECT_TRUE(ready);
    ips.push_back(ip);
  }
  EXPECT_NE(ips[0], ips[1]);

  ASSERT_EQ(s.at(Resource::kEndpointSlices).size(), 1u);
  const json& slice = s.at(Resource::kEndpointSlices)[0];
  EXPECT_EQ(slice["kind"], "EndpointSlice");
  EXPECT_EQ(slice["apiVersion"], "discovery.k8s.io/v1");
  EXPECT_EQ(slice["metadata"]["name"], "nginx-petdns");
  EXPECT_EQ(slice["metadata"]["namespace"], "default");
  EXPECT_EQ(slice["metadata"]["labels"]["kubernetes.io/service-name"], "nginx");
  EXPECT_EQ(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
            "petdns.io/manifests");
  EXPECT_EQ(slice["metadata"]["labels"]["service.kubernetes.io/headless"], "");
  EXPECT_EQ(slice["addressType"], "IPv4");
  EXPECT_EQ(slice["ports"], json::parse(R"([{"name":"web","protocol":"TCP","port":80}])"));
  ASSERT_EQ(slice["endpoints"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const json& ep = slice["endpoints"][static_cast<size_t>(i)];
    std::string name = "web-" + std::to_string(i);
    EXPECT_EQ(ep["addresses"], json::array({ips[static_cast<size_t>(i)]}));
    EXPECT_EQ(ep["conditions"],
              json::parse(R"({"ready":true,"serving":true,"terminating":false})"));
    EXPECT_EQ(ep["hostname"], name);
    EXPECT_EQ(ep["targetRef"]["kind"], "Pod");
    EXPECT_EQ(ep["targetRef"]["namespace"], "default");
    EXPECT_EQ(ep["targetRef"]["name"], name);
    EXPECT_EQ(ep["nodeName"], "petdns-manifests");
  }
  const json& svc = *Find(s, Resource::kServices, "default", "nginx");
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["clusterIPs"], json::array({"None"}));
}

TEST_F(ManifestLoaderTest, KeepsPodIpsWhenScalingUp) {
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{}", 2));
  ManifestSnapshot two = Load();
  Write("web.yaml", WebWith("{}", 5));
  ManifestSnapshot five = Load();
  EXPECT_THAT(five.errors, IsEmpty());
  EXPECT_THAT(Names(five, Resource::kPods),
              ElementsAre("web-0", "web-1", "web-2", "web-3", "web-4"));
  EXPECT_EQ(PodIp(two, "web-0"), PodIp(five, "web-0"));
  EXPECT_EQ(PodIp(two, "web-1"), PodIp(five, "web-1"));
  std::set<std::string> distinct;
  for (const json& pod : five.at(Resource::kPods)) distinct.insert(pod["status"]["podIP"]);
  EXPECT_EQ(distinct.size(), 5u);
  EXPECT_EQ(five.at(Resource::kEndpointSlices)[0]["endpoints"].size(), 5u);
  // Same input, same output: uids, resourceVersions and addresses are deterministic.
  EXPECT_EQ(Load().objects, five.objects);
}

TEST_F(ManifestLoaderTest, ReadyReplicasAnnotationMarksLaterPodsNotReady) {
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{petdns.io/ready-replicas: \"1\"}"));
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  const json& eps = s.at(Resource::kEndpointSlices)[0]["endpoints"];
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0]["conditions"]["ready"], true);
  EXPECT_EQ(eps[1]["targetRef"]["name"], "web-1");
  EXPECT_EQ(eps[1]["conditions"],
            json::parse(R"({"ready":false,"serving":false,"terminating":false})"));

  // publishNotReadyAddresses publishes it anyway (serving still says it is not ready).
  Write("svc.yaml", Replace(kHeadlessNginx, "clusterIP: None",
                            "clusterIP: None\n  publishNotReadyAddresses: true"));
  s = Load();
  const json& published = s.at(Resource::kEndpointSlices)[0]["endpoints"];
  EXPECT_EQ(published[1]["conditions"],
            json::parse(R"({"ready":true,"serving":false,"terminating":false})"));
}

TEST_F(ManifestLoaderTest, NotReadyAnnotationListsPods) {
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{petdns.io/not-ready: \"web-1, web-3\"}", 4));
  ManifestSnapshot s = Load();
  std::vector<std::string> ready;
  for (const json& ep : s.at(Resource::kEndpointSlices)[0]["endpoints"]) {
    if (ep["conditions"]["ready"] == true) ready.push_back(ep["hostname"]);
  }
  EXPECT_THAT(ready, ElementsAre("web-0", "web-2"));
}

TEST_F(ManifestLoaderTest, SetsHostnameOnlyWhenSubdomainIsTheService) {
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{}"));
  Write("other.yaml", Replace(kHeadlessNginx, "name: nginx", "name: other"));
  ManifestSnapshot s = Load();
  const json* other = Find(s, Resource::kEndpointSlices, "default", "other-petdns");
  ASSERT_NE(other, nullptr);
  ASSERT_EQ((*other)["endpoints"].size(), 2u);
  for (const json& ep : (*other)["endpoints"]) EXPECT_FALSE(ep.contains("hostname")) << ep;
  const json* nginx = Find(s, Resource::kEndpointSlices, "default", "nginx-petdns");
  ASSERT_NE(nginx, nullptr);
  EXPECT_EQ((*nginx)["endpoints"][0]["hostname"], "web-0");
}

TEST_F(ManifestLoaderTest, ResolvesNamedTargetPortsPerPod) {
  Write("svc.yaml", R"(
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: metrics}
  - {name: admin, port: 81, targetPort: 8081}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: app}
spec:
  replicas: 1
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: main
        ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100, protocol: UDP}]
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  const json* slice = Find(s, Resource::kEndpointSlices, "default", "app-petdns");
  ASSERT_NE(slice, nullptr);
  // "metrics" names a UDP container port: no TCP match, so that port is left out.
  EXPECT_EQ((*slice)["ports"], json::parse(R"([{"name":"http","protocol":"TCP","port":8080},
                                               {"name":"admin","protocol":"TCP","port":8081}])"));
  EXPECT_EQ((*slice)["endpoints"].size(), 1u);
  EXPECT_FALSE((*slice)["endpoints"][0].contains("hostname"));  // no serviceName
}

TEST_F(ManifestLoaderTest, AllocatesClusterIps) {
  Write("svc.yaml", R"(
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: prod}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: fixed}
spec: {clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {type: ExternalName, externalName: db.example.com}
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  std::set<std::string> ips;
  for (auto [ns, name] :
       std::vector<std::pair<std::string, std::string>>{{"default", "api"}, {"prod", "lb"}}) {
    const json& spec = (*Find(s, Resource::kServices, ns, name))["spec"];
    std::string ip = spec["clusterIP"];
    EXPECT_TRUE(InCidr(ip, "10.96.0.0", 12)) << ip;
    EXPECT_EQ(spec["clusterIPs"], json::array({ip}));
    EXPECT_EQ(spec["ipFamilies"], json::array({"IPv4"}));
    ips.insert(ip);
  }
  EXPECT_EQ(ips.size(), 2u);
  EXPECT_EQ((*Find(s, Resource::kServices, "default", "fixed"))["spec"]["clusterIPs"],
            json::array({"10.96.0.10"}));
  EXPECT_EQ((*Find(s, Resource::kServices, "default", "headless"))["spec"]["clusterIP"], "None");
  const json& db = (*Find(s, Resource::kServices, "default", "db"))["spec"];
  EXPECT_FALSE(db.contains("clusterIP"));
  EXPECT_FALSE(db.contains("clusterIPs"));
  EXPECT_EQ(db["externalName"], "db.example.com");

  options_.service_cidr = "172.20.0.0/24";
  ManifestSnapshot other = Load();
  std::string ip = (*Find(other, Resource::kServices, "default", "api"))["spec"]["clusterIP"];
  EXPECT_TRUE(InCidr(ip, "172.20.0.0", 24)) << ip;
}

TEST_F(ManifestLoaderTest, ListsEveryReferencedNamespace) {
  Write("a.yaml", R"(
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {owner: me}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: prod}
spec: {clusterIP: None}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: w, namespace: batch}
spec: {replicas: 0, template: {metadata: {labels: {a: b}}}}
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kNamespaces),
              ElementsAre("batch", "default", "kube-public", "kube-system", "prod", "team"));
  for (const json& ns : s.at(Resource::kNamespaces)) {
    EXPECT_EQ(ns["status"]["phase"], "Active");
    EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], ns["metadata"]["name"]);
    EXPECT_FALSE(ns["metadata"].contains("namespace"));
    EXPECT_TRUE(ns["metadata"]["uid"].is_string());
  }
  EXPECT_EQ((*Find(s, Resource::kNamespaces, "", "team"))["metadata"]["labels"]["owner"], "me");
}

TEST_F(ManifestLoaderTest, ReportsEveryErrorWithFileAndKeepsTheRest) {
  std::string broken_yaml = Write("broken.yaml", "apiVersion: v1\nkind: Service\nspec: [1, 2\n");
  std::string broken_json =
      Write("broken.json", "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\n}}}\n");
  std::string objects = Write("objects.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: good}
spec: {clusterIP: None}
---
metadata: {name: nokind}
---
apiVersion: v1
kind: Service
metadata: {labels: {a: b}}
---
apiVersion: v1
kind: Service
metadata: {name: badport}
spec: {ports: [{name: web, port: eighty}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: badreplicas, namespace: prod}
spec: {replicas: "2", template: {metadata: {labels: {a: b}}}}
---
apiVersion: v1
kind: Service
metadata: {name: good}
spec: {clusterIP: 10.96.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: labelled, labels: {version: 1}}
)");
  ManifestSnapshot s = Load();
  EXPECT_THAT(
      s.errors,
      UnorderedElementsAre(
          broken_json + ":4: syntax error while parsing value - unexpected '}'; expected end of "
                        "input",
          broken_yaml + ":4: end of sequence flow not found",  // yaml-cpp marks the end of input
          objects + ": document 2: no kind",
          objects + ": document 3: Service without metadata.name",
          objects + ": Service default/badport: spec.ports[0].port: must be a number from 1 to "
                    "65535, got \"eighty\"",
          objects + ": StatefulSet prod/badreplicas: spec.replicas: must be an integer from 0 to "
                    "10000, got \"2\"",
          objects + ": Service default/good: defined again (first in " + objects +
              "); this one is ignored",
          objects + ": Pod default/labelled: metadata.labels[\"version\"]: must be a string, got 1 "
                    "(quote it)"));
  ASSERT_NE(Find(s, Resource::kServices, "default", "good"), nullptr);
  EXPECT_EQ((*Find(s, Resource::kServices, "default", "good"))["spec"]["clusterIP"], "None");
  EXPECT_THAT(Names(s, Resource::kServices), ElementsAre("good"));
}

TEST_F(ManifestLoaderTest, ReportsAnUnreadableDirectory) {
  options_.directory = (dir_ / "missing").string();
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, ElementsAre(options_.directory + ": No such file or directory"));
  EXPECT_THAT(Names(s, Resource::kNamespaces),
              ElementsAre("default", "kube-public", "kube-system"));
}

TEST_F(ManifestLoaderTest, KeepsStandalonePodsAndTheirReadiness) {
  Write("pods.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: plain, labels: {app: nginx}}
spec: {hostname: plain, subdomain: nginx}
---
apiVersion: v1
kind: Pod
metadata: {name: waiting, labels: {app: nginx}, annotations: {petdns.io/ready: "false"}}
---
apiVersion: v1
kind: Pod
metadata: {name: fixed, labels: {app: nginx}}
status:
  phase: Running
  podIP: 192.0.2.7
  conditions: [{type: Ready, status: "False"}]
---
apiVersion: v1
kind: Pod
metadata: {name: done, labels: {app: nginx}}
status: {phase: Succeeded}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: nginx}, annotations: {petdns.io/ready: "false"}}
)");
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{}"));
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kPods),
              ElementsAre("done", "fixed", "plain", "waiting", "web-0", "web-1"));
  EXPECT_EQ(PodIp(s, "fixed"), "192.0.2.7");
  EXPECT_TRUE(InCidr(PodIp(s, "plain"), "10.244.0.0", 16));
  EXPECT_EQ(PodIp(s, "done"), "");
  // The manifest's web-1 replaces the synthesised one (no ownerReferences, not ready).
  EXPECT_FALSE(
      (*Find(s, Resource::kPods, "default", "web-1"))["metadata"].contains("ownerReferences"));
  std::map<std::string, json> by_pod;
  for (const json& ep : s.at(Resource::kEndpointSlices)[0]["endpoints"]) {
    by_pod[ep["targetRef"]["name"]] = ep;
  }
  EXPECT_EQ(by_pod.size(), 5u);  // not the Succeeded pod
  EXPECT_EQ(by_pod["plain"]["conditions"]["ready"], true);
  EXPECT_EQ(by_pod["plain"]["hostname"], "plain");
  EXPECT_EQ(by_pod["waiting"]["conditions"]["ready"], false);
  EXPECT_EQ(by_pod["fixed"]["conditions"]["ready"], false);
  EXPECT_EQ(by_pod["web-1"]["conditions"]["ready"], false);
  EXPECT_EQ(by_pod["web-0"]["conditions"]["ready"], true);
}

TEST_F(ManifestLoaderTest, PassesExplicitEndpointSlicesThrough) {
  Write("svc.yaml", kHeadlessNginx);
  Write("web.yaml", WebWith("{}"));
  std::string slice = R"({"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
    "metadata":{"name":"nginx-abc","labels":{"kubernetes.io/service-name":"nginx"}},
    "addressType":"IPv4",
    "endpoints":[{"addresses":["10.1.2.3"],"conditions":{"ready":true},"hostname":"web-0"}],
    "ports":[{"name":"web","protocol":"TCP","port":8080}]})";
  Write("slice.json", slice);
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  ASSERT_EQ(s.at(Resource::kEndpointSlices).size(), 1u);  // none synthesised for nginx
  json got = s.at(Resource::kEndpointSlices)[0];
  json want = json::parse(slice);
  EXPECT_EQ(got["endpoints"], want["endpoints"]);
  EXPECT_EQ(got["ports"], want["ports"]);
  EXPECT_EQ(got["metadata"]["namespace"], "default");
  EXPECT_TRUE(got["metadata"]["uid"].is_string());
  EXPECT_TRUE(got["metadata"]["resourceVersion"].is_string());
  EXPECT_EQ(got["metadata"]["creationTimestamp"], "1970-01-01T00:00:00Z");
}

TEST_F(ManifestLoaderTest, ReadsThePetSetWalkthrough) {
  options_.directory = std::string(MANIFESTS_TESTDATA) + "/petset";
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kPods), ElementsAre("vm-0", "vm-1"));
  const json& slice = s.at(Resource::kEndpointSlices).at(0);
  EXPECT_EQ(slice["metadata"]["labels"]["kubernetes.io/service-name"], "ub");
  ASSERT_EQ(slice["endpoints"].size(), 2u);
  EXPECT_EQ(slice["endpoints"][1]["hostname"], "vm-1");
}

TEST_F(ManifestLoaderTest, WalksSubdirectoriesAndSkipsHiddenAndOtherFiles) {
  Write("apps/db/svc.yml", Replace(kHeadlessNginx, "name: nginx", "name: deep"));
  Write(".hidden/svc.yaml", Replace(kHeadlessNginx, "name: nginx", "name: hidden"));
  Write(".svc.yaml", Replace(kHeadlessNginx, "name: nginx", "name: dotfile"));
  Write("svc.yaml.bak", Replace(kHeadlessNginx, "name: nginx", "name: backup"));
  Write("README.md", "# not a manifest");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(Names(s, Resource::kServices), ElementsAre("deep"));
}

TEST_F(ManifestLoaderTest, GivesDualStackAddressesFromTwoCidrs) {
  options_.pod_cidr = "10.244.0.0/16,fd00:10:244::/64";
  options_.service_cidr = "10.96.0.0/12,fd00:10:96::/112";
  Write("svc.yaml", Replace(kHeadlessNginx, "clusterIP: None",
                            "clusterIP: None\n  ipFamilyPolicy: PreferDualStack"));
  Write("web.yaml", WebWith("{}"));
  Write("api.yaml", R"({"kind":"Service","apiVersion":"v1","metadata":{"name":"api"},
      "spec":{"ipFamilyPolicy":"RequireDualStack","ports":[{"port":443}]}})");
  ManifestSnapshot s = Load();
  EXPECT_THAT(s.errors, IsEmpty());
  const json& pod = *Find(s, Resource::kPods, "default", "web-0");
  ASSERT_EQ(pod["status"]["podIPs"].size(), 2u);
  EXPECT_THAT(pod["status"]["podIPs"][1]["ip"].get<std::string>(),
              ::testing::StartsWith("fd00:10:244:0:"));
  EXPECT_THAT(Names(s, Resource::kEndpointSlices),
              ElementsAre("nginx-petdns", "nginx-petdns-ipv6"));
  EXPECT_EQ((*Find(s, Resource::kEndpointSlices, "default", "nginx-petdns-ipv6"))["addressType"],
            "IPv6");
  const json& api = (*Find(s, Resource::kServices, "default", "api"))["spec"];
  EXPECT_EQ(api["clusterIPs"].size(), 2u);
  EXPECT_EQ(api["ipFamilies"], json::array({"IPv4", "IPv6"}));
}

TEST(ManifestLoader, RejectsBadCidrs) {
  for (std::string cidr :
       {"10.244.0.0", "10.244.0.1/16", "10.0.0.0/33", "nonsense/8", "10.0.0.0/8,10.1.0.0/16"}) {
    SCOPED_TRACE(cidr);
    ManifestOptions options;
    options.pod_cidr = cidr;
    auto loader = ManifestLoader::Create(options);
    ASSERT_FALSE(loader.has_value());
    EXPECT_THAT(loader.error().message, HasSubstr("pod CIDR"));
  }
}

TEST(IpPool, NeverHandsOutNetworkBroadcastOrDotZero) {
  auto pool = IpPool::Parse("10.1.0.0/22");
  ASSERT_TRUE(pool.has_value());
  std::set<std::string> seen;
  for (int i = 0; i < 1016; ++i) {  // 4 * 254 usable addresses
    auto ip = pool->Allocate("pod-" + std::to_string(i));
    ASSERT_TRUE(ip.has_value()) << i;
    EXPECT_TRUE(InCidr(*ip, "10.1.0.0", 22)) << *ip;
    EXPECT_FALSE(ip->ends_with(".0") || ip->ends_with(".255")) << *ip;
    EXPECT_TRUE(seen.insert(*ip).second) << *ip;
  }
  auto full = pool->Allocate("one-too-many");
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().message, "no free address left in 10.1.0.0/22");
}

TEST(IpPool, ProbesPastReservedAddresses) {
  auto pool = IpPool::Parse("10.0.0.0/16");
  ASSERT_TRUE(pool.has_value());
  auto first = IpPool::Parse("10.0.0.0/16")->Allocate("default/web-0");
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(pool->Reserve(*first));
  EXPECT_FALSE(pool->Reserve(*first));
  auto second = pool->Allocate("default/web-0");
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*second, *first);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
