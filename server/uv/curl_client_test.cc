#include "server/uv/curl_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/http/testing/test_http_server.h"
#include "server/uv/loop.h"
#include "tests/testing/loop_runner.h"

namespace petdns::uv {
namespace {

using http::testing::TestConnection;
using http::testing::TestHttpServer;
using http::testing::TestRequest;
using std::chrono::milliseconds;
using testing::RunLoopUntil;

// What one call reported.
struct Recorder {
  int status = 0;
  http::HeaderList headers;
  std::string body;
  std::vector<std::string> chunks;
  bool done = false;
  Status result;
  int done_calls = 0;

  http::HttpCallbacks Callbacks() {
    return {[this](int s, const http::HeaderList& h) {
              status = s;
              headers = h;
            },
            [this](std::string_view c) {
              body.append(c);
              chunks.emplace_back(c);
            },
            [this](Status st) {
              done = true;
              ++done_calls;
              result = std::move(st);
            }};
  }
};

class CurlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    auto c = CurlClient::Create(loop_);
    ASSERT_TRUE(c) << c.error().message;
    client_ = std::move(*c);
  }

  http::HttpRequest Get(const TestHttpServer& server, const std::string& target) {
    http::HttpRequest req;
    req.url = server.url() + target;
    req.headers = {"Accept: application/json", "Authorization: Bearer secret"};
    req.connect_timeout = milliseconds(2000);
    return req;
  }

  std::unique_ptr<http::HttpCall> MustStart(http::HttpRequest req, http::HttpCallbacks cb) {
    auto call = client_->Start(std::move(req), std::move(cb));
    EXPECT_TRUE(call) << call.error().message;
    return call ? std::move(*call) : nullptr;
  }

  Loop loop_;  // first: destroyed last
  std::unique_ptr<CurlClient> client_;
};

TEST_F(CurlClientTest, GetsStatusHeadersAndBody) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.Respond(200, R"({"kind":"ServiceList"})", {"X-Test: Yes "});
  });
  Recorder r;
  auto call = MustStart(Get(server, "/api/v1/services?limit=500"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_TRUE(r.result) << r.result.error().message;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"kind":"ServiceList"})");
  ASSERT_NE(http::FindHeader(r.headers, "x-test"), nullptr);
  EXPECT_EQ(*http::FindHeader(r.headers, "x-test"), "Yes");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/api/v1/services?limit=500");
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer secret");
  EXPECT_EQ(client_->active_calls(), 1u);  // finished but not yet destroyed
  call.reset();
  EXPECT_EQ(client_->active_calls(), 0u);
}

TEST_F(CurlClientTest, StreamsChunkedBodyAsItArrives) {
  std::atomic<bool> release{false};
  TestHttpServer server([&](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{\"type\":\"ADDED\"}\n");
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    c.Chunk("{\"type\":\"DELETED\"}\n");
    c.EndChunked();
  });
  Recorder r;
  auto call = MustStart(Get(server, "/watch"), r.Callbacks());
  // The first chunk is delivered while the response is still open.
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.body.size() >= 17; }));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.done);
  release = true;
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_TRUE(r.result);
  EXPECT_EQ(r.body, "{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n");
}

TEST_F(CurlClientTest, ReportsErrorStatusWithBody) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.Respond(429, R"({"kind":"Status","code":429})", {"Retry-After: 3"});
  });
  Recorder r;
  auto call = MustStart(Get(server, "/x"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_TRUE(r.result);  // an HTTP error status is not a transport error
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(*http::FindHeader(r.headers, "retry-after"), "3");
  EXPECT_EQ(r.body, R"({"kind":"Status","code":429})");
}

TEST_F(CurlClientTest, ConnectionRefusedIsATransportError) {
  int port = 0;
  {
    TestHttpServer gone([](const TestRequest&, TestConnection&) {});
    port = gone.port();
  }
  Recorder r;
  http::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto call = MustStart(req, r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  ASSERT_FALSE(r.result);
  EXPECT_NE(r.result.error().message.find("GET http://127.0.0.1"), std::string::npos)
      << r.result.error().message;
  EXPECT_EQ(r.status, 0);
}

TEST_F(CurlClientTest, TruncatedChunkedBodyIsATransportError) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{\"type\":\"ADDED\"}\n");
    c.Write("40\r\n{\"type\":");  // a chunk cut short, then the connection closes
  });
  Recorder r;
  auto call = MustStart(Get(server, "/watch"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_FALSE(r.result);
  EXPECT_EQ(r.status, 200);
}

TEST_F(CurlClientTest, ConnectionResetIsATransportError) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{\"type\":\"ADDED\"}\n");
    c.Reset();
  });
  Recorder r;
  auto call = MustStart(Get(server, "/watch"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_FALSE(r.result);
}

TEST_F(CurlClientTest, LowSpeedTimeoutFailsAStalledStream) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{}\n");
    c.WaitForClientClose(milliseconds(5000));
  });
  Recorder r;
  auto req = Get(server, "/watch");
  req.low_speed_timeout = milliseconds(150);
  auto start = std::chrono::steady_clock::now();
  auto call = MustStart(req, r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return r.done; }));
  EXPECT_FALSE(r.result);
  EXPECT_NE(r.result.error().message.find("no data received for 150 ms"), std::string::npos)
      << r.result.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(140));
  EXPECT_EQ(r.body, "{}\n");
}

TEST_F(CurlClientTest, DestroyingTheCallCancelsWithoutCallbacks) {
  std::atomic<bool> client_closed{false};
  TestHttpServer server([&](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{}\n");
    client_closed = c.WaitForClientClose(milliseconds(5000));
  });
  Recorder r;
  auto call = MustStart(Get(server, "/watch"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return !r.body.empty(); }));
  call.reset();
  EXPECT_EQ(client_->active_calls(), 0u);
  // The server sees the connection go away; no callback runs any more.
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return client_closed.load(); }));
  RunLoopUntil(
      loop_.get(), [] { return false; }, milliseconds(30));
  EXPECT_FALSE(r.done);
}

TEST_F(CurlClientTest, CallMayDestroyItselfFromOnBody) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("first\n");
    c.WaitForClientClose(milliseconds(100));
    c.Chunk("second\n");
    c.EndChunked();
  });
  std::unique_ptr<http::HttpCall> call;
  int bodies = 0;
  bool done = false;
  call = MustStart(Get(server, "/watch"), {nullptr,
                                           [&](std::string_view) {
                                             ++bodies;
                                             call.reset();
                                           },
                                           [&](Status) { done = true; }});
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return bodies > 0; }));
  RunLoopUntil(
      loop_.get(), [] { return false; }, milliseconds(50));
  EXPECT_EQ(bodies, 1);
  EXPECT_FALSE(done);
  EXPECT_EQ(client_->active_calls(), 0u);
}

TEST_F(CurlClientTest, OnDoneMayStartTheNextCallAndDestroyItsOwn) {
  TestHttpServer server(
      [](const TestRequest& req, TestConnection& c) { c.Respond(200, req.path); });
  std::unique_ptr<http::HttpCall> call;
  std::vector<std::string> bodies;
  std::string body;
  std::function<void(int)> start = [&](int n) {
    auto next = client_->Start(Get(server, "/" + std::to_string(n)),
                               {nullptr, [&](std::string_view c) { body.append(c); },
                                [&, n](Status st) {
                                  EXPECT_TRUE(st);
                                  bodies.push_back(std::exchange(body, {}));
                                  call.reset();  // destroys the call running this callback
                                  if (n < 3) start(n + 1);
                                }});
    ASSERT_TRUE(next);
    call = std::move(*next);
  };
  start(1);
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return bodies.size() == 3; }));
  EXPECT_EQ(bodies, (std::vector<std::string>{"/1", "/2", "/3"}));
}

TEST_F(CurlClientTest, ManyConcurrentCalls) {
  TestHttpServer server([](const TestRequest& req, TestConnection& c) {
    c.StartChunked();
    c.Chunk(req.path);
    c.Chunk("|end");
    c.EndChunked();
  });
  constexpr int kCalls = 20;
  std::vector<Recorder> recorders(kCalls);
  std::vector<std::unique_ptr<http::HttpCall>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(MustStart(Get(server, "/c" + std::to_string(i)), recorders[i].Callbacks()));
  }
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] {
    for (auto& r : recorders) {
      if (!r.done) return false;
    }
    return true;
  }));
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(recorders[i].result);
    EXPECT_EQ(recorders[i].body, "/c" + std::to_string(i) + "|end");
    EXPECT_EQ(recorders[i].done_calls, 1);
  }
}

TEST_F(CurlClientTest, ClientDestroyedBeforeItsCallsIsSafe) {
  TestHttpServer server([](const TestRequest&, TestConnection& c) {
    c.StartChunked();
    c.Chunk("{}\n");
    c.WaitForClientClose(milliseconds(5000));
  });
  Recorder r;
  auto call = MustStart(Get(server, "/watch"), r.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return !r.body.empty(); }));
  client_.reset();
  RunLoopUntil(
      loop_.get(), [] { return false; }, milliseconds(20));
  call.reset();  // inert: only frees the easy handle
  EXPECT_FALSE(r.done);
}

TEST_F(CurlClientTest, TlsOptionsReachCurl) {
  // The plain-HTTP test server cannot complete a TLS handshake, so both calls fail, but how they
  // fail shows the options took effect.
  TestHttpServer server(
      [](const TestRequest&, TestConnection& c) { c.WaitForClientClose(milliseconds(500)); });
  Recorder bad_ca;
  http::HttpRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/api";
  req.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n";
  auto call1 = MustStart(req, bad_ca.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return bad_ca.done; }));
  ASSERT_FALSE(bad_ca.result);
  EXPECT_NE(bad_ca.result.error().message.find("CA certificate"), std::string::npos)
      << bad_ca.result.error().message;

  // server_name: the URL host becomes the name to verify, the connection still goes to
  // 127.0.0.1 (no DNS lookup of the name): the handshake stalls instead of failing to resolve.
  Recorder pinned;
  req.tls = {};
  req.tls.server_name = "kubernetes.default.svc";
  req.low_speed_timeout = milliseconds(200);  // the server never answers the ClientHello
  auto call2 = MustStart(req, pinned.Callbacks());
  ASSERT_TRUE(RunLoopUntil(loop_.get(), [&] { return pinned.done; }));
  ASSERT_FALSE(pinned.result);
  EXPECT_NE(pinned.result.error().message.find("no data received"), std::string::npos)
      << pinned.result.error().message;
}

}  // namespace
}  // namespace petdns::uv
