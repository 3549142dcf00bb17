#include "plugins/cache/cache.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>

#include "plugins/cache/setup.h"
#include "server/config/config.h"
#include "server/wire/message_writer.h"
#include "server/wire/name.h"
#include "server/wire/request.h"
#include "tests/testing/dns_testing.h"
#include "tests/testing/fake_runtime.h"

// Counts allocations so a test can show that a cache hit makes none. GCC flags the malloc/free
// pairing of a replaced operator new as mismatched; it is the replacement itself.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
size_t g_allocations = 0;
}  // namespace

void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace petdns::plugins::cache {
namespace {

using chain::Outcome;
using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using petdns::testing::QueryOptions;
using wire::Rcode;
using wire::RrType;
using wire::Section;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The rest of the chain: counts queries and answers as configured (A 192.0.2.<n> with `ttl`, or
// a denial with an SOA, or a bare rcode), with the question as asked and OPT when asked with EDNS.
class StubPlugin final : public chain::Plugin {
 public:
  std::string_view Name() const noexcept override { return "stub"; }
  Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    ++calls;
    wire::MessageWriter w(buffer_);
    w.BeginResponse(q.request());
    w.SetLimit(buffer_.size());
    w.SetRcode(rcode);
    w.SetFlags(wire::flags::kAa);
    if (rcode == Rcode::kNoError && !nodata) {
      std::string a{'\xc0', '\x00', '\x02', static_cast<char>(address)};
      (void)w.AppendRecord(Section::kAnswer, q.request().qname.view(), RrType::kA, 1, ttl,
                           Bytes(a));
    }
    if (rcode == Rcode::kNxDomain || nodata) {
      std::string soa = *wire::NameFromText("ns.example.org.") +
                        *wire::NameFromText("h.example.org.") + std::string(16, '\0') +
                        std::string("\0\0\x0e\x10", 4);  // MINIMUM 3600
      (void)w.AppendRecord(Section::kAuthority, *wire::NameFromText("example.org."), RrType::kSoa,
                           1, 3600, Bytes(soa));
    }
    if (truncated) w.SetFlags(wire::flags::kTc);
    if (q.request().edns.present) (void)w.AppendOpt(1232, q.request().edns.dnssec_ok);
    std::vector<uint8_t> copy(w.Message().begin(), w.Message().end());
    return q.ReplyWire(copy);
  }

  int calls = 0;
  Rcode rcode = Rcode::kNoError;
  bool nodata = false;
  bool truncated = false;
  uint32_t ttl = 300;
  int address = 1;

 private:
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65535);
};

class CachePluginTest : public ::testing::Test {
 protected:
  void Make(CacheOptions options) {
    registry_ = std::make_shared<prometheus::Registry>();
    cache_ = std::make_unique<CachePlugin>(options, CacheMetrics::Create(registry_, "dns://test"),
                                           [this] { return now_; });
  }
  void SetUp() override { Make(CacheOptions{}); }

  ParsedResponse Ask(std::string_view name, RrType type = RrType::kA, QueryOptions options = {}) {
    packet_ = MakeQuery(name, type, options);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    sink_.messages.clear();
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr),
                                listener::Transport::kUdp};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* plugins[] = {cache_.get(), &stub_};
    (void)chain::Next(std::span<chain::Plugin* const>(plugins))(q);
    EXPECT_EQ(sink_.messages.size(), 1u);
    return sink_.messages.empty() ? ParsedResponse{} : Parse(sink_.messages.back());
  }
  void Advance(int seconds) { now_ += std::chrono::seconds(seconds); }

  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<CachePlugin> cache_;
  StubPlugin stub_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  petdns::testing::RecordingSink sink_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
};

TEST_F(CachePluginTest, ServesSecondQueryFromCache) {
  auto first = Ask("www.example.org.");
  auto second = Ask("www.example.org.");
  EXPECT_EQ(stub_.calls, 1);
  EXPECT_EQ(second.answer, std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  EXPECT_TRUE(second.aa);
  EXPECT_EQ(cache_->metrics().hits[0]->Value(), 1.0);
  EXPECT_EQ(cache_->metrics().misses->Value(), 1.0);
  EXPECT_EQ(cache_->metrics().entries[0]->Value(), 1.0);
}

TEST_F(CachePluginTest, HitsDoNotAllocate) {
  Ask("www.example.org.");
  struct CountingSink final : listener::ResponseSink {
    void Send(std::span<const uint8_t> message) noexcept override { bytes += message.size(); }
    size_t bytes = 0;
  } sink;
  listener::ClientInfo client{nullptr, listener::Transport::kUdp};
  chain::Plugin* plugins[] = {cache_.get(), &stub_};
  chain::Next next{std::span<chain::Plugin* const>(plugins)};
  size_t before = g_allocations;
  for (int i = 0; i < 100; ++i) {
    chain::Query q(request_, packet_, client, sink, *scratch_, 1232);
    (void)next(q);
  }
  EXPECT_EQ(g_allocations, before);
  EXPECT_GT(sink.bytes, 0u);
  EXPECT_EQ(stub_.calls, 1);
}

TEST_F(CachePluginTest, DecrementsTtlsWithAgeAndExpires) {
  Ask("www.example.org.");
  Advance(100);
  EXPECT_EQ(Ask("www.example.org.").answer,
            std::vector<std::string>{"www.example.org. 200 IN A 192.0.2.1"});
  Advance(200);  // expired: asks again and stores the new answer
  stub_.address = 2;
  EXPECT_EQ(Ask("www.example.org.").answer,
            std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.2"});
  EXPECT_EQ(stub_.calls, 2);
}

TEST_F(CachePluginTest, PatchesIdCaseAndRd) {
  Ask("www.example.org.");
  QueryOptions options;
  options.id = 0xBEEF;
  options.recursion_desired = false;
  auto r = Ask("WwW.ExAmple.ORG.", RrType::kA, options);
  EXPECT_EQ(stub_.calls, 1);
  EXPECT_EQ(r.id, 0xBEEF);
  EXPECT_FALSE(r.rd);
  EXPECT_EQ(r.question, "WwW.ExAmple.ORG. IN A");
  ASSERT_EQ(r.answer.size(), 1u);
}

TEST_F(CachePluginTest, KeepsDoAndCdApartAndEchoesEdns) {
  Ask("www.example.org.");
  QueryOptions with_do;
  with_do.edns = true;
  with_do.dnssec_ok = true;
  auto r = Ask("www.example.org.", RrType::kA, with_do);
  EXPECT_EQ(stub_.calls, 2);
  Ask("www.example.org.", RrType::kA, with_do);
  EXPECT_EQ(stub_.calls, 2);
  // EDNS without DO shares the plain entry, but still gets its OPT record.
  QueryOptions edns;
  edns.edns = true;
  auto plain_edns = Ask("www.example.org.", RrType::kA, edns);
  EXPECT_EQ(stub_.calls, 2);
  EXPECT_TRUE(plain_edns.has_opt);
  EXPECT_FALSE(plain_edns.dnssec_ok);
  auto plain = Ask("www.example.org.");
  EXPECT_FALSE(plain.has_opt);
  EXPECT_EQ(stub_.calls, 2);
  // CD is part of the key: a raw flag flip on the query.
  packet_ = MakeQuery("www.example.org.", RrType::kA);
  std::vector<uint8_t> cd = packet_;
  cd[3] |= 0x10;
  wire::Request req;
  ASSERT_EQ(wire::ParseRequest(cd, req), wire::Verdict::kAnswer);
  ASSERT_TRUE(req.checking_disabled());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr), listener::Transport::kUdp};
  for (int i = 0; i < 2; ++i) {
    chain::Query q(req, cd, client, sink_, *scratch_, 1232);
    chain::Plugin* plugins[] = {cache_.get(), &stub_};
    (void)chain::Next(std::span<chain::Plugin* const>(plugins))(q);
  }
  EXPECT_EQ(stub_.calls, 3);
}

TEST_F(CachePluginTest, CapsDenialsAtDenialTtl) {
  stub_.rcode = Rcode::kNxDomain;
  auto r = Ask("new-pet.example.org.");
  EXPECT_EQ(r.rcode, 3);
  auto cached = Ask("new-pet.example.org.");
  EXPECT_EQ(stub_.calls, 1);
  ASSERT_EQ(cached.authority.size(), 1u);
  EXPECT_EQ(cached.authority[0].substr(0, 22), "example.org. 5 IN SOA ");
  EXPECT_EQ(cache_->metrics().hits[1]->Value(), 1.0);
  EXPECT_EQ(cache_->metrics().entries[1]->Value(), 1.0);
  Advance(5);  // the pet appeared: after denial_ttl (5 s) it is seen
  stub_.rcode = Rcode::kNoError;
  EXPECT_EQ(Ask("new-pet.example.org.").answer.size(), 1u);
  EXPECT_EQ(stub_.calls, 2);

  stub_.nodata = true;  // NODATA is a denial too
  Ask("new-pet.example.org.", RrType::kAaaa);
  Ask("new-pet.example.org.", RrType::kAaaa);
  EXPECT_EQ(stub_.calls, 3);
  EXPECT_EQ(cache_->store().count(EntryType::kDenial), 1u);
}

TEST_F(CachePluginTest, DoesNotCacheServfailOrTruncated) {
  CacheOptions options;
  options.serve_stale = std::chrono::seconds(0);
  Make(options);
  stub_.rcode = Rcode::kServFail;
  Ask("www.example.org.");
  Ask("www.example.org.");
  EXPECT_EQ(stub_.calls, 2);
  stub_.rcode = Rcode::kNoError;
  stub_.truncated = true;
  Ask("www.example.org.");
  Ask("www.example.org.");
  EXPECT_EQ(stub_.calls, 4);
  EXPECT_EQ(cache_->store().size(), 0u);
}

TEST_F(CachePluginTest, EvictsAtCapacity) {
  CacheOptions options;
  options.capacity = 2;
  Make(options);
  Ask("a.example.org.");
  Ask("b.example.org.");
  Ask("c.example.org.");
  EXPECT_EQ(cache_->store().size(), 2u);
  EXPECT_EQ(cache_->metrics().evictions->Value(), 1.0);
  Ask("a.example.org.");  // evicted: asked again
  EXPECT_EQ(stub_.calls, 4);
}

TEST_F(CachePluginTest, ServesStaleWhenTheChainFails) {
  Ask("www.example.org.");
  Advance(400);  // expired 100 s ago, inside serve_stale (1h)
  stub_.rcode = Rcode::kServFail;
  auto r = Ask("www.example.org.");
  EXPECT_EQ(stub_.calls, 2);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.answer, std::vector<std::string>{"www.example.org. 30 IN A 192.0.2.1"});
  EXPECT_EQ(cache_->metrics().served_stale->Value(), 1.0);

  stub_.rcode = Rcode::kNoError;  // the chain recovers: its answer replaces the stale entry
  stub_.address = 3;
  EXPECT_EQ(Ask("www.example.org.").answer,
            std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.3"});
  EXPECT_EQ(Ask("www.example.org.").answer.size(), 1u);
  EXPECT_EQ(stub_.calls, 3);

  Advance(300 + 3600 + 1);  // beyond the stale window: SERVFAIL goes through
  stub_.rcode = Rcode::kServFail;
  EXPECT_EQ(Ask("www.example.org.").rcode, 2);
  EXPECT_EQ(cache_->metrics().served_stale->Value(), 1.0);
}

// A plugin that holds every query (as forward does while it waits for an upstream).
class HoldingPlugin final : public chain::Plugin {
 public:
  std::string_view Name() const noexcept override { return "hold"; }
  Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    held.push_back(q.Detach(Name()));
    return Outcome::kDeferred;
  }
  std::vector<chain::Deferred> held;
};

TEST_F(CachePluginTest, ServesStaleWhenADeferredQueryFails) {
  Ask("www.example.org.");
  Advance(400);
  HoldingPlugin hold;
  chain::Plugin* plugins[] = {cache_.get(), &hold};
  auto ask = [&] {
    packet_ = MakeQuery("www.example.org.", RrType::kA);
    EXPECT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    listener::ClientInfo client{nullptr, listener::Transport::kUdp};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    return chain::Next(std::span<chain::Plugin* const>(plugins))(q);
  };
  sink_.messages.clear();
  EXPECT_EQ(ask(), Outcome::kDeferred);
  EXPECT_TRUE(sink_.messages.empty());
  hold.held.clear();  // abandoned: SERVFAIL inside, the stale answer outside
  ASSERT_EQ(sink_.messages.size(), 1u);
  auto r = Parse(sink_.messages[0]);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.answer, std::vector<std::string>{"www.example.org. 30 IN A 192.0.2.1"});
  EXPECT_EQ(cache_->metrics().served_stale->Value(), 1.0);

  sink_.messages.clear();
  EXPECT_EQ(ask(), Outcome::kDeferred);
  ASSERT_EQ(hold.held.size(), 1u);
  (void)hold.held[0].query().ReplyRcode(Rcode::kNxDomain);  // a real answer is passed on
  ASSERT_EQ(sink_.messages.size(), 1u);
  EXPECT_EQ(Parse(sink_.messages[0]).rcode, 3);
  EXPECT_EQ(cache_->metrics().served_stale->Value(), 1.0);
  hold.held.clear();
}

TEST_F(CachePluginTest, PrefetchesPopularEntriesNearExpiry) {
  CacheOptions options;
  options.prefetch = 2;
  Make(options);
  Ask("www.example.org.");
  Advance(271);  // 29 s of 300 left: the last 10%
  Ask("www.example.org.");
  EXPECT_EQ(stub_.calls, 1);
  stub_.address = 9;
  auto r = Ask("www.example.org.");  // second late hit: answered from cache, then refreshed
  EXPECT_EQ(r.answer, std::vector<std::string>{"www.example.org. 29 IN A 192.0.2.1"});
  EXPECT_EQ(stub_.calls, 2);
  EXPECT_EQ(cache_->metrics().prefetch->Value(), 1.0);
  EXPECT_EQ(Ask("www.example.org.").answer,
            std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.9"});
  EXPECT_EQ(stub_.calls, 2);
}

TEST_F(CachePluginTest, PassesZoneTransfersThrough) {
  Ask("example.org.", RrType::kAxfr);
  Ask("example.org.", RrType::kAxfr);
  EXPECT_EQ(stub_.calls, 2);
}

TEST(CacheSetup, ReadsOptionsAndRejectsUnknownKeys) {
  std::string dir = ::testing::TempDir() + "/cache_setup";
  std::filesystem::create_directories(dir);
  auto build = [&](const std::string& table) {
    std::ofstream(dir + "/petdns.toml")
        << "[[server]]\nlisten = [\"127.0.0.1:53\"]\nzones = [\"example.org.\"]\n[server.cache]\n"
        << table;
    auto config = config::LoadConfig(dir + "/petdns.toml");
    EXPECT_TRUE(config) << (config ? "" : config.error().message);
    petdns::testing::FakeRuntime runtime;
    chain::SetupContext ctx{
        *config, config->servers[0], &runtime, false, std::make_shared<prometheus::Registry>(),
        nullptr};
    return cache::Setup(ctx, *config->servers[0].plugins.at("cache"));
  };
  auto ok = build(
      "capacity = 100\nsuccess_ttl = \"1h\"\ndenial_ttl = \"5s\"\nmin_ttl = \"0s\"\n"
      "prefetch = 10\nserve_stale = \"1h\"\nstale_ttl = \"30s\"\n");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(static_cast<CachePlugin&>(**ok).store().capacity(), 100u);
  EXPECT_EQ(static_cast<CachePlugin&>(**ok).store().policy().denial_max, 5u);
  auto bad = build("capacity = 0\nttl = 30\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("capacity"), std::string::npos);
  EXPECT_NE(bad.error().message.find("ttl"), std::string::npos);
}

}  // namespace
}  // namespace petdns::plugins::cache
