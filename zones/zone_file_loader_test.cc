#include "zones/zone_file_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/wire/name.h"

namespace petdns::zones {
namespace {

class ZoneFileLoaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_);
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  Result<std::shared_ptr<const CompiledZone>> Load(const std::string& path,
                                                   std::string_view origin = "example.test.") {
    ZoneFileOptions options;
    options.path = path;
    options.origin = *wire::NameFromText(origin);
    return LoadZoneFile(options);
  }
  std::string dir_ = ::testing::TempDir() + "/loader_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

constexpr const char* kHead =
    "$TTL 300\n"
    "@ IN SOA ns hostmaster 1 60 60 60 60\n"
    "  IN NS ns\n"
    "ns IN A 192.0.2.1\n";

TEST_F(ZoneFileLoaderTest, LoadsRecordsWithOriginAndTtl) {
  auto zone = Load(Write("z.zone", std::string(kHead) + "www IN AAAA 2001:db8::1\n"
                                                        "$ORIGIN sub.example.test.\n"
                                                        "x 42 IN TXT \"hi there\"\n"));
  ASSERT_TRUE(zone) << zone.error().message;
  const Node* x = (*zone)->Find(*wire::NameFromText("x.sub.example.test."));
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->Find(wire::RrType::kTxt)->ttl, 42u);
  EXPECT_EQ((*zone)->Find(*wire::NameFromText("www.example.test."))->Find(wire::RrType::kAaaa)->ttl,
            300u);
}

TEST_F(ZoneFileLoaderTest, FollowsIncludeWithOriginAndRevertsAfterIt) {
  Write("hosts.inc", "a IN A 192.0.2.7\n");
  auto zone = Load(Write("z.zone", std::string(kHead) + "$INCLUDE hosts.inc lab.example.test.\n"
                                                        "b IN A 192.0.2.8\n"));
  ASSERT_TRUE(zone) << zone.error().message;
  EXPECT_NE((*zone)->Find(*wire::NameFromText("a.lab.example.test.")), nullptr);
  EXPECT_NE((*zone)->Find(*wire::NameFromText("b.example.test.")), nullptr);
}

TEST_F(ZoneFileLoaderTest, ReportsEveryBadLineWithFileAndLine) {
  std::string path = Write("bad.zone", std::string(kHead) +
                                           "ok IN A 192.0.2.9\n"                  // line 5
                                           "bad IN A 999.1.1.1\n"                 // line 6
                                           "worse IN BOGUS xyz\n"                 // line 7
                                           "out.example.com. IN A 192.0.2.1\n");  // line 8
  auto zone = Load(path);
  ASSERT_FALSE(zone);
  const std::string& m = zone.error().message;
  EXPECT_NE(m.find(path + ":6: "), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":7: "), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":8: "), std::string::npos) << m;
  EXPECT_NE(m.find("outside the zone"), std::string::npos) << m;
}

TEST_F(ZoneFileLoaderTest, NamesTheIncludedFileInErrors) {
  std::string inc = Write("broken.inc", "\n\nx IN A not-an-address\n");
  auto zone = Load(Write("z.zone", std::string(kHead) + "$INCLUDE broken.inc\n"));
  ASSERT_FALSE(zone);
  EXPECT_NE(zone.error().message.find(inc + ":3: "), std::string::npos) << zone.error().message;
}

TEST_F(ZoneFileLoaderTest, ReportsMissingFileAndMissingSoa) {
  auto missing = Load(dir_ + "/nope.zone");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
  auto no_soa = Load(Write("nosoa.zone", "www 60 IN A 192.0.2.1\n"));
  ASSERT_FALSE(no_soa);
  EXPECT_NE(no_soa.error().message.find("no SOA"), std::string::npos);
}

}  // namespace
}  // namespace petdns::zones
