#include "server/http/http_server.h"

#include <gtest/gtest.h>

namespace petdns::http {
namespace {

TEST(ParseHttpListen, AcceptsHostPortForms) {
  auto a = ParseHttpListen("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto any = ParseHttpListen(":9153");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "0.0.0.0");
  auto v6 = ParseHttpListen("[::1]:8181");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->host, "::1");
}

TEST(ParseHttpListen, RejectsBadInput) {
  for (const char* text :
       {"8080", "localhost:80", "127.0.0.1:0", "127.0.0.1:70000", "::1:80", "[::1]", "1.2.3.4:x"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseHttpListen(text));
  }
}

TEST(ParseRequestLine, SplitsMethodAndPath) {
  auto line = ParseRequestLine("GET /ready?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->method, "GET");
  EXPECT_EQ(line->path, "/ready");
  EXPECT_FALSE(ParseRequestLine("GET /x\r\n\r\n"));
  EXPECT_FALSE(ParseRequestLine("GET x HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(ParseRequestLine("GET /x SPDY/3\r\n\r\n"));
}

}  // namespace
}  // namespace petdns::http
