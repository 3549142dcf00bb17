#include "plugins/kubernetes/api/kube_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace petdns::plugins::kubernetes::api {
namespace {

namespace fs = std::filesystem;

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("kube_config_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  fs::path dir_;
};

// base64 of "CA PEM", "CERT PEM", "KEY PEM".
constexpr char kDataConfig[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: other
  cluster: {server: "https://198.51.100.1"}
- name: dev
  cluster:
    server: https://203.0.113.10:6443/
    certificate-authority-data: Q0EgUEVN
    tls-server-name: kubernetes
users:
- name: dns-sa
  user:
    token: abc.def
    client-certificate-data: Q0VSVCBQRU0=
    client-key-data: S0VZIFBFTQ==
contexts:
- name: dev
  context: {cluster: dev, user: dns-sa, namespace: kube-system}
)";

TEST_F(KubeConfigTest, ReadsDataFields) {
  auto ep = LoadKubeconfig(Write("config", kDataConfig));
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->server_url, "https://203.0.113.10:6443");
  EXPECT_EQ(ep->tls.ca_pem, "CA PEM");
  EXPECT_EQ(ep->tls.client_cert_pem, "CERT PEM");
  EXPECT_EQ(ep->tls.client_key_pem, "KEY PEM");
  EXPECT_EQ(ep->tls.server_name, "kubernetes");
  EXPECT_FALSE(ep->tls.insecure_skip_verify);
  EXPECT_EQ(ep->token, "abc.def");
  EXPECT_TRUE(ep->token_file.empty());
  EXPECT_NE(ep->source.find("context dev"), std::string::npos);
}

TEST_F(KubeConfigTest, ResolvesRelativePathsAgainstTheFilesFolder) {
  std::string path = Write("sub/config", R"(current-context: c
clusters:
- name: k
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority: certs/ca.crt
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    tokenFile: token
    client-certificate: /abs/client.crt
    client-key: ../client.key
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  auto ep = LoadKubeconfig(path);
  ASSERT_TRUE(ep) << ep.error().message;
  const std::string sub = (dir_ / "sub").string();
  EXPECT_EQ(ep->tls.ca_file, sub + "/certs/ca.crt");
  EXPECT_TRUE(ep->tls.ca_pem.empty());
  EXPECT_TRUE(ep->tls.insecure_skip_verify);
  EXPECT_EQ(ep->token_file, sub + "/token");
  EXPECT_EQ(ep->tls.client_cert_file, "/abs/client.crt");
  EXPECT_EQ(ep->tls.client_key_file, (dir_ / "client.key").string());
}

TEST_F(KubeConfigTest, DataWinsOverPath) {
  auto ep = LoadKubeconfig(Write("config", R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k:6443", certificate-authority: ca.crt, certificate-authority-data: Q0EgUEVN}
contexts:
- name: c
  context: {cluster: k}
)"));
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->tls.ca_pem, "CA PEM");
  EXPECT_TRUE(ep->tls.ca_file.empty());
}

TEST_F(KubeConfigTest, ErrorsNameFileAndField) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"clusters: []\n", "current-context: not set"},
      {"current-context: x\ncontexts: []\n", "contexts: no entry named \"x\""},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n"
       "  cluster: {}\n",
       "clusters[k].cluster.server: missing"},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n"
       "  cluster: {server: ftp://x}\n",
       "clusters[k].cluster.server: \"ftp://x\" is not an http(s) URL"},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n"
       "  cluster: {server: 'https://k', certificate-authority-data: '***'}\n",
       "clusters[k].cluster.certificate-authority-data: invalid base64"},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n"
       "  cluster: {server: 'https://k', insecure-skip-tls-verify: maybe}\n",
       "clusters[k].cluster.insecure-skip-tls-verify: must be true or false"},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n"
       "- name: k\n  cluster: {server: 'https://k'}\nusers:\n- name: u\n  user:\n    exec: "
       "{command: "
       "aws}\n",
       "users[u].user.exec: credential plugins are not supported"},
      {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n"
       "- name: k\n  cluster: {server: 'https://k'}\nusers:\n- name: u\n  user: {client-key: "
       "k.pem}\n",
       "client-certificate and client-key must be given together"},
      {"current-context: [\n", "kubeconfig "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    std::string path = Write("bad", c.yaml);
    auto ep = LoadKubeconfig(path);
    ASSERT_FALSE(ep);
    EXPECT_NE(ep.error().message.find("kubeconfig " + path), std::string::npos)
        << ep.error().message;
    EXPECT_NE(ep.error().message.find(c.expected), std::string::npos) << ep.error().message;
  }
}

TEST_F(KubeConfigTest, MissingFileIsAnError) {
  auto ep = LoadKubeconfig((dir_ / "nope").string());
  ASSERT_FALSE(ep);
  EXPECT_NE(ep.error().message.find("nope: cannot open file"), std::string::npos);
}

TEST_F(KubeConfigTest, ExplicitPathWinsOverEnvironment) {
  ApiConfigInputs in;
  in.kubeconfig = Write("explicit", kDataConfig);
  in.kubeconfig_env = "/does/not/exist";
  in.service_host = "10.96.0.1";
  in.service_port = "443";
  auto ep = ResolveApiEndpoint(in);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->server_url, "https://203.0.113.10:6443");
}

TEST_F(KubeConfigTest, KubeconfigEnvUsesFirstEntry) {
  ApiConfigInputs in;
  in.kubeconfig_env = "::" + Write("first", kDataConfig) + ":/does/not/exist";
  in.service_host = "10.96.0.1";
  in.service_port = "443";
  auto ep = ResolveApiEndpoint(in);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->token, "abc.def");
}

TEST_F(KubeConfigTest, InClusterUsesServiceAccountFiles) {
  Write("sa/token", "jwt-token\n");
  Write("sa/ca.crt", "PEM");
  ApiConfigInputs in;
  in.service_host = "10.96.0.1";
  in.service_port = "443";
  in.service_account_dir = (dir_ / "sa").string();
  auto ep = ResolveApiEndpoint(in);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->server_url, "https://10.96.0.1:443");
  EXPECT_EQ(ep->token_file, (dir_ / "sa" / "token").string());
  EXPECT_EQ(ep->tls.ca_file, (dir_ / "sa" / "ca.crt").string());
  EXPECT_TRUE(ep->token.empty());
  EXPECT_EQ(ep->source, "in-cluster");
}

TEST_F(KubeConfigTest, InClusterBracketsIpv6Host) {
  Write("sa/token", "t");
  auto ep = InClusterEndpoint("fd00:10:96::1", "6443", (dir_ / "sa").string());
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->server_url, "https://[fd00:10:96::1]:6443");
  EXPECT_TRUE(ep->tls.ca_file.empty());  // no ca.crt: system CAs
}

TEST_F(KubeConfigTest, InClusterErrors) {
  auto no_port = InClusterEndpoint("10.96.0.1", "", (dir_ / "sa").string());
  ASSERT_FALSE(no_port);
  EXPECT_NE(no_port.error().message.find("KUBERNETES_SERVICE_PORT"), std::string::npos);
  auto no_token = InClusterEndpoint("10.96.0.1", "443", (dir_ / "sa").string());
  ASSERT_FALSE(no_token);
  EXPECT_NE(
      no_token.error().message.find("cannot read token file " + (dir_ / "sa").string() + "/token"),
      std::string::npos)
      << no_token.error().message;
}

TEST_F(KubeConfigTest, NothingConfigured) {
  auto ep = ResolveApiEndpoint(ApiConfigInputs{});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().message,
            "no Kubernetes API configured: set kubeconfig, KUBECONFIG or run in a pod");
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVsbG8"), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("a$bc"));
  EXPECT_FALSE(DecodeBase64("a"));
  EXPECT_FALSE(DecodeBase64("aa=a"));
}

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
