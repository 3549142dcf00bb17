#include "server/common/cidr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace petdns {
namespace {

sockaddr_storage Addr(const char* text) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
    v6->sin6_family = AF_INET6;
  }
  return ss;
}

bool In(const CidrSet& set, const char* text) {
  sockaddr_storage ss = Addr(text);
  return set.Contains(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(CidrSet, MatchesPrefixesOfBothFamilies) {
  auto set = CidrSet::Parse({"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "172.16.0.0/12"});
  ASSERT_TRUE(set);
  EXPECT_TRUE(In(*set, "10.1.2.3"));
  EXPECT_TRUE(In(*set, "192.0.2.1"));
  EXPECT_FALSE(In(*set, "192.0.2.2"));
  EXPECT_TRUE(In(*set, "172.31.255.255"));
  EXPECT_FALSE(In(*set, "172.32.0.0"));
  EXPECT_TRUE(In(*set, "2001:db8:1::5"));
  EXPECT_FALSE(In(*set, "2001:db9::1"));
  EXPECT_TRUE(In(*set, "::ffff:10.9.9.9"));  // v4-mapped
}

TEST(CidrSet, RejectsBadPrefixes) {
  EXPECT_FALSE(CidrSet::Parse({"10.0.0.0/33"}));
  EXPECT_FALSE(CidrSet::Parse({"::/129"}));
  EXPECT_FALSE(CidrSet::Parse({"example.org"}));
  EXPECT_FALSE(CidrSet::Parse({"10.0.0.0/"}));
  EXPECT_FALSE(CidrSet::Parse({"10.0.0.0/x"}));
}

TEST(CidrSet, EmptySetMatchesNothing) {
  auto set = CidrSet::Parse({});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->empty());
  EXPECT_FALSE(In(*set, "127.0.0.1"));
}

}  // namespace
}  // namespace petdns
