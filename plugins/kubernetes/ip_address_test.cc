#include "plugins/kubernetes/ip_address.h"

#include <gtest/gtest.h>

namespace petdns::plugins::kubernetes {
namespace {

TEST(IpAddress, ParsesBothFamiliesIntoRdata) {
  auto v4 = IpAddress::Parse("10.244.1.5");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->rdata(), std::string_view("\x0a\xf4\x01\x05", 4));
  auto v6 = IpAddress::Parse("FD00:0::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->rdata().size(), 16u);
  EXPECT_EQ(v6->ToString(), "fd00::1");  // canonical
}

TEST(IpAddress, RejectsWhatInetPtonRejects) {
  for (const char* text : {"", "None", "10.0.0", "010.0.0.1", "10.0.0.1 ", "fd00:::1",
                           "a-very-long-string-that-is-certainly-not-an-address-at-all"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(IpAddress::Parse(text));
  }
}

}  // namespace
}  // namespace petdns::plugins::kubernetes
