#include "server/uv/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "server/uv/loop.h"
#include "tests/testing/loop_runner.h"

namespace petdns::uv {
namespace {

// Sends `request` from a client thread and returns everything the server wrote back until close.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    http::HttpListen listen{"127.0.0.1", 0, false};
    HttpServerOptions options;
    options.max_request_bytes = 256;
    options.read_timeout = std::chrono::milliseconds(100);
    auto server = UvHttpServer::Create(
        loop_, listen,
        [this](std::string_view method, std::string_view path) {
          ++calls_;
          if (path == "/hello") return http::HttpResponse{200, "hi " + std::string(method)};
          return http::HttpResponse{404, "no\n"};
        },
        options);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  std::string Exchange(const std::string& request, bool half_close = true) {
    std::atomic<bool> done{false};
    std::string reply;
    std::thread client([&] {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(server_->port());
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
        (void)!write(fd, request.data(), request.size());
        if (half_close && request.size() < 256) shutdown(fd, SHUT_WR);
        char buf[1024];
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) reply.append(buf, n);
      }
      close(fd);
      done = true;
    });
    EXPECT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return done.load(); }));
    client.join();
    EXPECT_TRUE(
        testing::RunLoopUntil(loop_.get(), [&] { return server_->open_connections() == 0; }));
    return reply;
  }

  Loop loop_;  // first: destroyed last
  int calls_ = 0;
  std::unique_ptr<UvHttpServer> server_;
};

TEST_F(HttpServerTest, AnswersGetAndCloses) {
  std::string reply = Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_NE(reply.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(reply.ends_with("\r\n\r\nhi GET")) << reply;
  EXPECT_EQ(calls_, 1);
}

TEST_F(HttpServerTest, UnknownPathIsTheHandlersAnswer) {
  EXPECT_EQ(Exchange("GET /nope HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 404 Not Found", 0), 0u);
}

TEST_F(HttpServerTest, HeadHasNoBody) {
  std::string reply = Exchange("HEAD /hello HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST_F(HttpServerTest, RejectsOtherMethodsAndGarbage) {
  EXPECT_EQ(Exchange("POST /hello HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(Exchange("hello\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, BoundsTheRequestSize) {
  std::string big = "GET /hello HTTP/1.1\r\nX: " + std::string(1000, 'a') + "\r\n\r\n";
  EXPECT_EQ(Exchange(big, false).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, TimesOutAnIncompleteRequest) {
  EXPECT_EQ(Exchange("GET /hello HTTP/1.1\r\n", false).rfind("HTTP/1.1 408", 0), 0u);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, ClosesConnectionsWhenDestroyed) {
  server_.reset();  // with nothing open, just the listener
  SUCCEED();
}

}  // namespace
}  // namespace petdns::uv
