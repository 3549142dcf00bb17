#include "plugins/kubernetes/api/api_source.h"

#include <gtest/gtest.h>

#include <set>

#include "plugins/kubernetes/api/fake_api.h"
#include "server/http/testing/test_http_server.h"
#include "server/uv/curl_client.h"
#include "server/uv/loop.h"
#include "server/uv/loop_runtime.h"
#include "tests/testing/loop_runner.h"

namespace petdns::plugins::kubernetes::api {
namespace {

using http::testing::TestConnection;
using http::testing::TestHttpServer;
using http::testing::TestRequest;
using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace petdns::plugins::kubernetes::api::fakes;  // NOLINT: test helpers

class ApiSourceTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    runtime_ = std::make_unique<uv::LoopRuntime>(loop_);
  }

  std::unique_ptr<ApiSource> Make(const TestHttpServer& server, bool watch_pods) {
    auto client = uv::CurlClient::Create(loop_);
    EXPECT_TRUE(client);
    ApiEndpoint ep;
    ep.server_url = server.url();
    ep.token = "static";
    ep.source = "test";
    ApiSourceOptions options;
    options.watch_pods = watch_pods;
    options.label_selector = "team=dns";
    options.namespace_label_selector = "env=prod";
    options.reflector.backoff.initial = milliseconds(2);
    options.reflector.backoff.cap = milliseconds(20);
    return std::make_unique<ApiSource>(ep, std::move(*client), *runtime_, sink_, options);
  }

  uv::Loop loop_;
  std::unique_ptr<uv::LoopRuntime> runtime_;
  RecordingSink sink_;
};

TEST_P(ApiSourceTest, SyncsEveryResourceItWatches) {
  const bool watch_pods = GetParam();
  FakeApi api;
  api.on_list = [](int, const TestRequest& req, TestConnection& c) {
    c.Respond(200, ListBody("List", "10", {Svc("x" + std::to_string(req.path.size()), "9")}));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  auto source = Make(server, watch_pods);
  EXPECT_EQ(source->reflectors().size(), watch_pods ? 4u : 3u);
  EXPECT_EQ(source->reflector(Resource::kPods) != nullptr, watch_pods);
  EXPECT_FALSE(source->synced());
  source->Start();
  ASSERT_TRUE(petdns::testing::RunLoopUntil(
      loop_.get(), [&] { return source->synced() && api.watches() == (watch_pods ? 4 : 3); }));
  std::map<std::string, std::string> selectors;
  for (const auto& req : api.list_requests()) selectors[req.path] = req.Query("labelSelector");
  std::map<std::string, std::string> expected = {
      {"/api/v1/services", "team=dns"},
      {"/apis/discovery.k8s.io/v1/endpointslices", "team=dns"},
      {"/api/v1/namespaces", "env=prod"}};
  if (watch_pods) expected["/api/v1/pods"] = "team=dns";
  EXPECT_EQ(selectors, expected);
  EXPECT_EQ(sink_.replace_alls, watch_pods ? 4 : 3);
  EXPECT_EQ(sink_.replace_alls_by.count(Resource::kPods), watch_pods ? 1u : 0u);

  source->Stop();
  petdns::testing::RunLoopUntil(
      loop_.get(), [] { return false; }, milliseconds(20));
  source.reset();  // destroys the reflectors, then the client
}

INSTANTIATE_TEST_SUITE_P(Pods, ApiSourceTest, ::testing::Bool());

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
