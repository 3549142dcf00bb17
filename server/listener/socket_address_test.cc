#include "server/listener/socket_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace petdns::listener {
namespace {

const sockaddr* AsSockaddr(const sockaddr_storage& ss) {
  return reinterpret_cast<const sockaddr*>(&ss);
}

TEST(SocketAddress, ParsesAndFormatsIpv4) {
  auto addr = ParseSocketAddress("127.0.0.1", 53);
  ASSERT_TRUE(addr) << addr.error().message;
  EXPECT_EQ(addr->ss_family, AF_INET);
  EXPECT_EQ(FormatSocketAddress(AsSockaddr(*addr)), "127.0.0.1:53");
  EXPECT_EQ(PortOf(AsSockaddr(*addr)), 53);
}

TEST(SocketAddress, ParsesAndFormatsIpv6WithBrackets) {
  auto addr = ParseSocketAddress("::1", 5353);
  ASSERT_TRUE(addr) << addr.error().message;
  EXPECT_EQ(addr->ss_family, AF_INET6);
  EXPECT_EQ(FormatSocketAddress(AsSockaddr(*addr)), "[::1]:5353");
  EXPECT_EQ(PortOf(AsSockaddr(*addr)), 5353);
}

TEST(SocketAddress, EmptyHostMeansAnyIpv4) {
  auto addr = ParseSocketAddress("", 0);
  ASSERT_TRUE(addr);
  EXPECT_EQ(FormatSocketAddress(AsSockaddr(*addr)), "0.0.0.0:0");
}

TEST(SocketAddress, RejectsNonNumericHosts) {
  const std::vector<std::string> cases = {"localhost",  "[::1]", "1.2.3",
                                          "1.2.3.4:53", "::1%",  "256.0.0.1"};
  for (const auto& host : cases) {
    SCOPED_TRACE(host);
    auto addr = ParseSocketAddress(host, 53);
    ASSERT_FALSE(addr);
    EXPECT_EQ(addr.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(addr.error().message.find(host), std::string::npos);
  }
}

TEST(SocketAddress, FormatsUnknownFamilyAndNull) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_EQ(FormatSocketAddress(AsSockaddr(ss)), "<unknown address>");
  EXPECT_EQ(FormatSocketAddress(nullptr), "<unknown address>");
  EXPECT_EQ(PortOf(nullptr), 0);
}

}  // namespace
}  // namespace petdns::listener
