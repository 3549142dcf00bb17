#include "plugins/cache/response_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/wire/message_writer.h"
#include "server/wire/name.h"
#include "server/wire/request.h"
#include "tests/testing/dns_testing.h"

namespace petdns::plugins::cache {
namespace {

using wire::RrType;
using wire::Section;

struct Built {
  std::vector<uint8_t> query;
  wire::Request request;
  std::vector<uint8_t> response;
};

std::string Soa(uint32_t minimum) {
  std::string rdata =
      *wire::NameFromText("ns.example.org.") + *wire::NameFromText("h.example.org.");
  uint8_t nums[20] = {};
  wire::WriteU32(nums, 1);
  wire::WriteU32(nums + 16, minimum);
  rdata.append(reinterpret_cast<const char*>(nums), sizeof(nums));
  return rdata;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A response for `name`/A with answers of the given TTLs and, if soa_ttl > 0, an SOA.
Built Response(std::string_view name, wire::Rcode rcode, std::vector<uint32_t> ttls,
               uint32_t soa_ttl = 0, uint32_t soa_min = 0, bool edns = false) {
  Built b;
  petdns::testing::QueryOptions opts;
  opts.edns = edns;
  b.query = petdns::testing::MakeQuery(name, RrType::kA, opts);
  EXPECT_EQ(wire::ParseRequest(b.query, b.request), wire::Verdict::kAnswer);
  b.response.resize(4096);
  wire::MessageWriter w(b.response);
  w.BeginResponse(b.request);
  w.SetLimit(4096);
  w.SetRcode(rcode);
  const std::string a("\xc0\x00\x02\x01", 4);
  for (uint32_t ttl : ttls) {
    EXPECT_TRUE(
        w.AppendRecord(Section::kAnswer, b.request.qname.view(), RrType::kA, 1, ttl, Bytes(a)));
  }
  if (soa_ttl > 0) {
    EXPECT_TRUE(w.AppendRecord(Section::kAuthority, *wire::NameFromText("example.org."),
                               RrType::kSoa, 1, soa_ttl, Bytes(Soa(soa_min))));
  }
  if (edns) {
    EXPECT_TRUE(w.AppendOpt(1232, false));
  }
  b.response.resize(w.size());
  return b;
}

CacheKey KeyFor(const Built& b) {
  return CacheKey{b.request.qname_lower.view(), 1, 1, false, false};
}

TimePoint T(int seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

TEST(Examine, ClassifiesResponses) {
  TtlPolicy policy{3600, 5, 0};
  auto ok = Examine(Response("a.example.org.", wire::Rcode::kNoError, {300, 60}).response, policy);
  EXPECT_TRUE(ok.cacheable);
  EXPECT_EQ(ok.type, EntryType::kSuccess);
  EXPECT_EQ(ok.ttl, 60u);  // the smallest record TTL

  auto nx =
      Examine(Response("a.example.org.", wire::Rcode::kNxDomain, {}, 3600, 300).response, policy);
  EXPECT_TRUE(nx.cacheable);
  EXPECT_EQ(nx.type, EntryType::kDenial);
  EXPECT_EQ(nx.ttl, 5u);  // min(SOA TTL, MINIMUM) = 300, capped by denial_max

  TtlPolicy loose{3600, 600, 0};
  EXPECT_EQ(
      Examine(Response("a.example.org.", wire::Rcode::kNoError, {}, 3600, 120).response, loose).ttl,
      120u);  // NODATA: RFC 2308 MINIMUM
  EXPECT_FALSE(Examine(Response("a.example.org.", wire::Rcode::kNoError, {}).response, policy)
                   .cacheable);  // no answer, no SOA
  EXPECT_FALSE(Examine(Response("a.example.org.", wire::Rcode::kNxDomain, {}).response, policy)
                   .cacheable);  // NXDOMAIN without SOA
  EXPECT_FALSE(
      Examine(Response("a.example.org.", wire::Rcode::kServFail, {}).response, policy).cacheable);
  EXPECT_FALSE(
      Examine(Response("a.example.org.", wire::Rcode::kRefused, {}).response, policy).cacheable);
  Built tc = Response("a.example.org.", wire::Rcode::kNoError, {300});
  tc.response[2] |= 0x02;
  EXPECT_FALSE(Examine(tc.response, policy).cacheable);
  Built cut = Response("a.example.org.", wire::Rcode::kNoError, {300});
  cut.response.pop_back();
  EXPECT_FALSE(Examine(cut.response, policy).cacheable);
  EXPECT_EQ(Examine(Response("a.example.org.", wire::Rcode::kNoError, {1}).response,
                    TtlPolicy{3600, 5, 30})
                .ttl,
            30u);  // min_ttl floor
}

TEST(ResponseCache, StoresAndRendersWithDecrementedTtls) {
  ResponseCache cache(10, TtlPolicy{100, 5, 0});
  Built b = Response("a.example.org.", wire::Rcode::kNoError, {300, 60}, 0, 0, /*edns=*/true);
  ASSERT_NE(cache.Insert(KeyFor(b), b.response, T(0)), nullptr);
  ResponseCache::Entry* e = cache.Find(KeyFor(b));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->ttl, 60u);
  EXPECT_EQ(e->ttl_offsets.size(), 2u);  // the OPT record is not stored
  EXPECT_EQ(wire::ReadU16(&e->wire[10]), 0u);
  std::vector<uint8_t> out(4096);
  size_t n = ResponseCache::Render(*e, T(10), out, nullptr);
  ASSERT_GT(n, 0u);
  auto parsed = petdns::testing::Parse(std::span<const uint8_t>(out.data(), n));
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.answer, (std::vector<std::string>{"a.example.org. 50 IN A 192.0.2.1",
                                                     "a.example.org. 50 IN A 192.0.2.1"}));
  EXPECT_FALSE(e->Expired(T(59)));
  EXPECT_TRUE(e->Expired(T(60)));
  EXPECT_EQ(e->Remaining(T(30)), 30u);
}

TEST(ResponseCache, KeysSeparateDoCdTypeAndName) {
  ResponseCache cache(10, TtlPolicy{});
  Built b = Response("a.example.org.", wire::Rcode::kNoError, {300});
  CacheKey key = KeyFor(b);
  ASSERT_NE(cache.Insert(key, b.response, T(0)), nullptr);
  CacheKey with_do = key;
  with_do.dnssec_ok = true;
  CacheKey with_cd = key;
  with_cd.checking_disabled = true;
  CacheKey aaaa = key;
  aaaa.qtype = 28;
  EXPECT_NE(cache.Find(key), nullptr);
  EXPECT_EQ(cache.Find(with_do), nullptr);
  EXPECT_EQ(cache.Find(with_cd), nullptr);
  EXPECT_EQ(cache.Find(aaaa), nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ResponseCache, EvictsLeastRecentlyUsedAtCapacity) {
  ResponseCache cache(2, TtlPolicy{});
  Built a = Response("a.example.org.", wire::Rcode::kNoError, {300});
  Built b = Response("b.example.org.", wire::Rcode::kNoError, {300});
  Built c = Response("c.example.org.", wire::Rcode::kNxDomain, {}, 60, 60);
  ASSERT_NE(cache.Insert(KeyFor(a), a.response, T(0)), nullptr);
  ASSERT_NE(cache.Insert(KeyFor(b), b.response, T(0)), nullptr);
  ASSERT_NE(cache.Find(KeyFor(a)), nullptr);  // a is now the most recent
  ASSERT_NE(cache.Insert(KeyFor(c), c.response, T(0)), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_NE(cache.Find(KeyFor(a)), nullptr);
  EXPECT_EQ(cache.Find(KeyFor(b)), nullptr);
  EXPECT_NE(cache.Find(KeyFor(c)), nullptr);
  EXPECT_EQ(cache.count(EntryType::kSuccess), 1u);
  EXPECT_EQ(cache.count(EntryType::kDenial), 1u);

  // Replacing an entry under the same key is not an eviction.
  ASSERT_NE(cache.Insert(KeyFor(a), a.response, T(1)), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  cache.Erase(cache.Find(KeyFor(a)));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find(KeyFor(a)), nullptr);
}

}  // namespace
}  // namespace petdns::plugins::cache
