#include "plugins/kubernetes/api/reflector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
using petdns::testing::RunLoopUntil;

class ReflectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    runtime_ = std::make_unique<uv::LoopRuntime>(loop_);
    auto c = uv::CurlClient::Create(loop_);
    ASSERT_TRUE(c) << c.error().message;
    client_ = std::move(*c);
  }

  // Tiny backoff so retries take milliseconds; long inactivity so only chosen tests hit it.
  static ReflectorOptions Fast() {
    ReflectorOptions o;
    o.backoff.initial = milliseconds(2);
    o.backoff.cap = milliseconds(20);
    o.page_size = 2;
    o.watch_inactivity_timeout = milliseconds(5000);
    o.list_inactivity_timeout = milliseconds(5000);
    o.connect_timeout = milliseconds(2000);
    o.short_watch = milliseconds(0);
    o.seed = 7;
    return o;
  }

  Reflector& Make(Resource resource, const TestHttpServer& server,
                  ReflectorOptions options = Fast()) {
    endpoint_.server_url = server.url();
    reflector_ = std::make_unique<Reflector>(resource, *client_, *runtime_, sink_, endpoint_,
                                             *tokens_, std::move(options));
    return *reflector_;
  }

  bool RunUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(5000)) {
    return RunLoopUntil(loop_.get(), pred, timeout);
  }

  uv::Loop loop_;  // first: destroyed last
  std::unique_ptr<uv::LoopRuntime> runtime_;
  std::unique_ptr<uv::CurlClient> client_;
  ApiEndpoint endpoint_;
  std::unique_ptr<TokenSource> tokens_ = std::make_unique<TokenSource>("t0", "");
  RecordingSink sink_;
  std::unique_ptr<Reflector> reflector_;  // last: destroyed first
};

TEST_F(ReflectorTest, ListsAllPagesThenWatchesAndRewatchesAfterCleanEof) {
  FakeApi api;
  api.on_list = [](int, const TestRequest& req, TestConnection& c) {
    if (!req.Has("continue")) {
      c.Respond(200, ListBody("ServiceList", "100", {Svc("a", "90"), Svc("b", "91")}, "tok1"));
    } else {
      c.Respond(200, ListBody("ServiceList", "100", {Svc("c", "92")}));
    }
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    if (n > 1) {
      c.StartChunked();
      c.WaitForClientClose(seconds(5));
      return;
    }
    c.StartChunked();
    const std::string added = Event("ADDED", Svc("d", "101", true));
    c.Chunk(added.substr(0, 25));  // one event over two chunks
    c.Chunk(added.substr(25));
    c.Chunk(Event("MODIFIED", Svc("a", "102", true)) + Event("BOOKMARK", Bookmark("105")));
    c.Chunk(Event("DELETED", Svc("b", "106", true)));
    c.EndChunked();  // timeoutSeconds reached: clean EOF
  };
  TestHttpServer server(api.Handler());
  ReflectorOptions options = Fast();
  options.label_selector = "app in (web,db)";
  options.backoff.initial = milliseconds(20'000);  // any backoff would time the test out
  Reflector& r = Make(Resource::kServices, server, options);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2 && r.stats().events == 3; }));

  ASSERT_EQ(sink_.replace_alls, 1);  // once, with every page
  EXPECT_EQ(sink_.last_replace, (std::vector<std::string>{"a@90", "b@91", "c@92"}));
  EXPECT_EQ(sink_.applied,
            (std::vector<std::string>{"ADDED d@101", "MODIFIED a@102", "DELETED b@106"}));
  EXPECT_EQ(sink_.State(),
            (std::map<std::string, std::string>{{"a", "102"}, {"c", "92"}, {"d", "101"}}));
  EXPECT_TRUE(r.synced());
  EXPECT_TRUE(r.last_sync_time().has_value());
  EXPECT_EQ(r.last_resource_version(), "106");
  EXPECT_EQ(r.state(), Reflector::State::kWatching);

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].path, "/api/v1/services");
  EXPECT_EQ(reqs[0].query,
            (std::map<std::string, std::string>{
                {"labelSelector", "app in (web,db)"}, {"limit", "2"}, {"resourceVersion", "0"}}));
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer t0");
  EXPECT_EQ(reqs[0].Header("accept"), "application/json");
  EXPECT_EQ(reqs[1].query,
            (std::map<std::string, std::string>{
                {"continue", "tok1"}, {"labelSelector", "app in (web,db)"}, {"limit", "2"}}));
  EXPECT_EQ(reqs[2].Query("watch"), "true");
  EXPECT_EQ(reqs[2].Query("allowWatchBookmarks"), "true");
  EXPECT_EQ(reqs[2].Query("resourceVersion"), "100");
  EXPECT_EQ(reqs[2].Query("labelSelector"), "app in (web,db)");
  EXPECT_FALSE(reqs[2].Has("limit"));
  const int timeout = std::stoi(reqs[2].Query("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LT(timeout, 600);
  EXPECT_EQ(reqs[3].Query("resourceVersion"), "106");  // from the last event, no relist

  const ReflectorStats& s = r.stats();
  EXPECT_EQ(s.lists, 1u);
  EXPECT_EQ(s.list_requests, 2u);
  EXPECT_EQ(s.relists, 0u);
  EXPECT_EQ(s.watches, 2u);
  EXPECT_EQ(s.watch_restarts, 1u);
  EXPECT_EQ(s.bookmarks, 1u);
  for (uint64_t e : s.errors) EXPECT_EQ(e, 0u);
}

TEST_F(ReflectorTest, BookmarksAndEventsKeepTheLastSyncTimeCurrent) {
  // last_sync feeds petdns_kubernetes_last_sync_age_seconds: a healthy watch must keep it low,
  // not only a list.
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", "100", {Svc("a", "90")}));
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    if (n == 1) {
      std::this_thread::sleep_for(milliseconds(150));
      c.Chunk(Event("BOOKMARK", Bookmark("105")));
    }
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server, Fast());
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return r.synced(); }));
  const auto listed = r.last_sync_time();
  ASSERT_TRUE(listed.has_value());
  ASSERT_TRUE(RunUntil([&] { return r.stats().bookmarks == 1; }));
  EXPECT_GE(*r.last_sync_time() - *listed, milliseconds(100));
}

TEST_F(ReflectorTest, Expired410RelistsAtLastRvThenFromScratch) {
  FakeApi api;
  api.on_list = [](int n, const TestRequest&, TestConnection& c) {
    if (n == 1) {
      c.Respond(200, ListBody("ServiceList", "100", {Svc("a", "90")}));
    } else if (n == 2) {
      c.Respond(
          410, StatusBody(410, "Expired", "The resourceVersion for the provided list is too old."));
    } else {
      c.Respond(200, ListBody("ServiceList", "200", {Svc("a", "150"), Svc("c", "190")}));
    }
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    if (n == 1) {
      c.Chunk(Event("ADDED", Svc("b", "101", true)));
      c.Chunk(Event("ERROR", nlohmann::json::parse(StatusBody(
                                 410, "Expired", "too old resource version: 101 (150)"))));
      c.EndChunked();
      return;
    }
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2; }));

  EXPECT_EQ(sink_.replace_alls, 2);
  EXPECT_EQ(sink_.last_replace, (std::vector<std::string>{"a@150", "c@190"}));
  EXPECT_EQ(sink_.State(), (std::map<std::string, std::string>{{"a", "150"}, {"c", "190"}}));
  auto lists = api.list_requests();
  ASSERT_EQ(lists.size(), 3u);
  // Relist at the last RV first, unpaged (served from the watch cache)…
  EXPECT_EQ(lists[1].query, (std::map<std::string, std::string>{{"resourceVersion", "101"}}));
  // …then, since that is gone too, a consistent paged list.
  EXPECT_EQ(lists[2].query, (std::map<std::string, std::string>{{"limit", "2"}}));
  EXPECT_EQ(api.watch_requests()[1].Query("resourceVersion"), "200");
  EXPECT_EQ(r.stats().relists, 1u);
  EXPECT_EQ(r.stats().error(ReflectorError::kExpired), 2u);
  EXPECT_EQ(r.last_resource_version(), "200");
}

TEST_F(ReflectorTest, DroppedConnectionRewatchesFromLastRvWithoutRelist) {
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", "100", {Svc("a", "90")}));
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    if (n == 1) {
      c.Chunk(Event("ADDED", Svc("b", "101", true)));
      // The connection drops in the middle of the next event (a FIN, so the bytes before it are
      // surely delivered; a reset may discard them, which a re-watch covers the same way).
      c.Write("80\r\n{\"type\":\"ADDED\",\"object\":{\"kind\":\"Ser");
      return;
    }
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2; }));
  EXPECT_EQ(api.lists(), 1);
  EXPECT_EQ(sink_.replace_alls, 1);
  EXPECT_EQ(sink_.applied, (std::vector<std::string>{"ADDED b@101"}));
  EXPECT_EQ(api.watch_requests()[1].Query("resourceVersion"), "101");
  EXPECT_EQ(r.stats().error(ReflectorError::kTransport), 1u);
  EXPECT_EQ(r.stats().relists, 0u);
}

TEST_F(ReflectorTest, UnauthorizedRereadsTheTokenFile) {
  const std::string token_file =
      (std::filesystem::path(::testing::TempDir()) / "reflector_token").string();
  std::ofstream(token_file) << "old\n";
  tokens_ = std::make_unique<TokenSource>("", token_file, std::chrono::hours(1));
  std::atomic<int> unauthorized{0};
  FakeApi api;
  api.on_list = [&](int, const TestRequest& req, TestConnection& c) {
    if (req.Header("authorization") != "Bearer new") {
      ++unauthorized;
      c.Respond(401, StatusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    c.Respond(200, ListBody("ServiceList", "100", {Svc("a", "90")}));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return unauthorized > 0; }));
  EXPECT_FALSE(r.synced());
  std::ofstream(token_file) << "new\n";  // the kubelet rotated the token
  ASSERT_TRUE(RunUntil([&] { return r.synced(); }));
  EXPECT_GE(r.stats().error(ReflectorError::kUnauthorized), 1u);
  EXPECT_EQ(api.list_requests().back().Header("authorization"), "Bearer new");
  std::filesystem::remove(token_file);
}

TEST_F(ReflectorTest, TooManyRequestsHonoursRetryAfter) {
  FakeApi api;
  api.on_list = [](int n, const TestRequest&, TestConnection& c) {
    if (n == 1) {
      c.Respond(429,
                StatusBody(429, "TooManyRequests", "Too many requests, please try again later."),
                {"Retry-After: 1"});
      return;
    }
    c.Respond(200, ListBody("ServiceList", "100", {}));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return r.synced(); }, milliseconds(4000)));
  auto lists = api.list_requests();
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_GE(lists[1].received - lists[0].received, milliseconds(950));
  EXPECT_EQ(r.stats().error(ReflectorError::kThrottled), 1u);
}

TEST_F(ReflectorTest, ForbiddenIsLoggedWithTheRbacHintAndRetried) {
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(403, StatusBody(403, "Forbidden",
                              "endpointslices.discovery.k8s.io is forbidden: User "
                              "\"system:serviceaccount:kube-system:petdns\" cannot list resource "
                              "\"endpointslices\" in API group \"discovery.k8s.io\" at the "
                              "cluster scope"));
  };
  TestHttpServer server(api.Handler());
  ::testing::internal::CaptureStderr();
  Reflector& r = Make(Resource::kEndpointSlices, server);
  r.Start();
  bool retried = RunUntil([&] { return r.stats().error(ReflectorError::kForbidden) >= 3; });
  r.Stop();
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(retried);
  EXPECT_FALSE(r.synced());
  EXPECT_NE(log.find("[ERROR] plugin/kubernetes: endpointslices: list at resourceVersion 0: HTTP "
                     "403: endpointslices.discovery.k8s.io is forbidden"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("RBAC: the service account needs \"list\" and \"watch\" on \"endpointslices\" "
                     "in API group \"discovery.k8s.io\""),
            std::string::npos)
      << log;
  EXPECT_EQ(api.list_requests()[0].path, "/apis/discovery.k8s.io/v1/endpointslices");
}

TEST_F(ReflectorTest, GarbageInTheWatchStreamRelists) {
  FakeApi api;
  api.on_list = [](int n, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", n == 1 ? "100" : "120", {Svc("a", "90")}));
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    if (n == 1) {
      c.Chunk(Event("ADDED", Svc("b", "101", true)) + "<html>502 Bad Gateway</html>\n");
    }
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2; }));
  EXPECT_EQ(sink_.replace_alls, 2);
  EXPECT_EQ(r.stats().error(ReflectorError::kDecode), 1u);
  EXPECT_EQ(api.list_requests()[1].query,
            (std::map<std::string, std::string>{{"resourceVersion", "101"}}));
  EXPECT_EQ(api.watch_requests()[1].Query("resourceVersion"), "120");
}

TEST_F(ReflectorTest, BrokenListPageDropsTheWholeListAndRetries) {
  FakeApi api;
  api.on_list = [](int n, const TestRequest&, TestConnection& c) {
    if (n == 2) {  // the second page breaks off mid-item: nothing of the list may be applied
      c.Respond(200, R"({"kind":"ServiceList","metadata":{"resourceVersion":"100"},"items":[{"m)");
      return;
    }
    bool first_page = n == 1 || n == 3;
    c.Respond(200, ListBody("ServiceList", "100", {first_page ? Svc("a", "90") : Svc("c", "92")},
                            first_page ? "tok1" : ""));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 1; }));
  EXPECT_EQ(sink_.replace_alls, 1);
  EXPECT_EQ(sink_.last_replace, (std::vector<std::string>{"a@90", "c@92"}));
  EXPECT_EQ(r.stats().error(ReflectorError::kDecode), 1u);
  EXPECT_EQ(api.list_requests().size(), 4u);
}

TEST_F(ReflectorTest, SilentWatchIsDroppedAfterTheInactivityTimeout) {
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", "100", {}));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));  // headers, then nothing at all
  };
  TestHttpServer server(api.Handler());
  ReflectorOptions options = Fast();
  options.watch_inactivity_timeout = milliseconds(100);
  Reflector& r = Make(Resource::kServices, server, options);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2; }));
  EXPECT_EQ(api.lists(), 1);
  EXPECT_EQ(r.stats().error(ReflectorError::kTransport), 1u);
  EXPECT_EQ(api.watch_requests()[1].Query("resourceVersion"), "100");
}

TEST_F(ReflectorTest, ServerErrorOnWatchRewatchesWithoutRelist) {
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", "100", {}));
  };
  api.on_watch = [](int n, const TestRequest&, TestConnection& c) {
    if (n == 1) {
      c.Respond(500, StatusBody(500, "InternalError", "etcdserver: leader changed"));
      return;
    }
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 2; }));
  EXPECT_EQ(api.lists(), 1);
  EXPECT_EQ(r.stats().error(ReflectorError::kServer), 1u);
}

TEST_F(ReflectorTest, PodsAreListedWithThePhaseFieldSelector) {
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("PodList", "7", {}));
  };
  api.on_watch = [](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kPods, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return api.watches() == 1; }));
  const std::string phases = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";
  EXPECT_EQ(api.list_requests()[0].path, "/api/v1/pods");
  EXPECT_EQ(api.list_requests()[0].Query("fieldSelector"), phases);
  EXPECT_EQ(api.watch_requests()[0].Query("fieldSelector"), phases);
}

TEST_F(ReflectorTest, StopCancelsTheWatchAndPendingRetries) {
  std::atomic<bool> closed{false};
  FakeApi api;
  api.on_list = [](int, const TestRequest&, TestConnection& c) {
    c.Respond(200, ListBody("ServiceList", "100", {}));
  };
  api.on_watch = [&](int, const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk(Event("ADDED", Svc("a", "101", true)));
    closed = c.WaitForClientClose(seconds(5));
  };
  TestHttpServer server(api.Handler());
  Reflector& r = Make(Resource::kServices, server);
  r.Start();
  ASSERT_TRUE(RunUntil([&] { return r.stats().events == 1; }));
  r.Stop();
  EXPECT_EQ(r.state(), Reflector::State::kStopped);
  ASSERT_TRUE(RunUntil([&] { return closed.load(); }));
  RunUntil([] { return false; }, milliseconds(50));
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(client_->active_calls(), 0u);
}

}  // namespace
}  // namespace petdns::plugins::kubernetes::api
