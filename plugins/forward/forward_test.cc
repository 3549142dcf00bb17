#include "plugins/forward/forward.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <filesystem>
#include <fstream>

#include "plugins/forward/setup.h"
#include "server/config/config.h"
#include "server/listener/socket_address.h"
#include "server/wire/dns.h"
#include "tests/testing/dns_testing.h"

namespace petdns::plugins::forward {
namespace {

using petdns::testing::MakeQuery;
using petdns::testing::Parse;
using petdns::testing::ParsedResponse;
using wire::RrType;

// One exchange the plugin started; the test answers it by hand.
struct Sent {
  std::string to;
  bool tcp = false;
  std::vector<uint8_t> query;
  uv::DnsTransport::Done done;
  std::shared_ptr<bool> alive;  // false once the plugin destroyed the exchange
};

class FakeExchange final : public uv::DnsExchange {
 public:
  explicit FakeExchange(std::shared_ptr<bool> alive) : alive_(std::move(alive)) {}
  ~FakeExchange() override { *alive_ = false; }

 private:
  std::shared_ptr<bool> alive_;
};

class FakeTransport final : public uv::DnsTransport {
 public:
  explicit FakeTransport(std::vector<Sent>& sent) : sent_(sent) {}
  Result<std::unique_ptr<uv::DnsExchange>> Send(const sockaddr_storage& upstream, bool tcp,
                                                std::span<const uint8_t> query,
                                                std::chrono::milliseconds, Done done) override {
    auto alive = std::make_shared<bool>(true);
    sent_.push_back({listener::FormatSocketAddress(reinterpret_cast<const sockaddr*>(&upstream)),
                     tcp, std::vector<uint8_t>(query.begin(), query.end()), std::move(done),
                     alive});
    return std::unique_ptr<uv::DnsExchange>(std::make_unique<FakeExchange>(alive));
  }

 private:
  std::vector<Sent>& sent_;
};

class TestRuntime final : public chain::Runtime {
 public:
  explicit TestRuntime(std::vector<Sent>& sent) : sent_(sent) {}
  void Every(std::chrono::milliseconds, std::function<void()> fn) override {
    timers.push_back(std::move(fn));
  }
  void Background(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
  void OnReloadSignal(std::function<void()>) override {}
  std::unique_ptr<uv::DnsTransport> NewDnsTransport() override {
    return std::make_unique<FakeTransport>(sent_);
  }
  void FireTimers() {
    for (auto& fn : timers) fn();
  }
  std::vector<std::function<void()>> timers;

 private:
  std::vector<Sent>& sent_;
};

// Answers every query with NXDOMAIN: marks "went to next".
class NxPlugin final : public chain::Plugin {
 public:
  std::string_view Name() const noexcept override { return "nx"; }
  chain::Outcome Serve(chain::Query& q, chain::Next) noexcept override {
    return q.ReplyRcode(wire::Rcode::kNxDomain);
  }
};

enum ResponseFlags : uint16_t { kPlain = 0, kTc = wire::flags::kTc };

// A response to `query`: same ID and question, QR|RA, one A record 192.0.2.<last>.
std::vector<uint8_t> Answer(const std::vector<uint8_t>& query, uint8_t last = 7,
                            uint16_t extra_flags = kPlain, uint8_t rcode = 0) {
  std::vector<uint8_t> r(query);
  uint16_t flags = wire::ReadU16(r.data() + 2) | wire::flags::kQr | wire::flags::kRa | extra_flags;
  flags = static_cast<uint16_t>((flags & ~wire::flags::kRcodeMask) | rcode);
  wire::WriteU16(r.data() + 2, flags);
  if (rcode == 0) {
    wire::WriteU16(r.data() + 6, 1);  // ANCOUNT
    const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, last};
    r.insert(r.end(), std::begin(rr), std::end(rr));
  }
  return r;
}

class ForwardPluginTest : public ::testing::Test {
 protected:
  // Builds the plugin from a config file with `forward` as the table body, as the server does.
  Result<chain::PluginPtr> Build(const std::string& forward) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/petdns.toml") << "[[server]]\nlisten = [\"127.0.0.1:53\"]\n"
                                            "zones = [\"example.test.\"]\n[server.forward]\n"
                                         << forward;
    auto config = config::LoadConfig(dir_ + "/petdns.toml");
    EXPECT_TRUE(config) << (config ? "" : config.error().message);
    config_ = std::make_unique<config::Config>(std::move(*config));
    chain::SetupContext ctx{*config_, config_->servers[0], &runtime_, false, registry_, nullptr};
    auto plugin = forward::Setup(ctx, *config_->servers[0].plugins.at("forward"));
    if (plugin) (*plugin)->OnStartup();
    return plugin;
  }
  ForwardPlugin& BuildOk(const std::string& forward) {
    auto plugin = Build(forward);
    EXPECT_TRUE(plugin) << (plugin ? "" : plugin.error().message);
    plugin_ = std::move(*plugin);
    return static_cast<ForwardPlugin&>(*plugin_);
  }

  // Runs the query through [forward, nx]; returns what the client got so far.
  void Ask(std::string_view name, listener::Transport transport = listener::Transport::kUdp) {
    packet_ = MakeQuery(name, RrType::kA);
    ASSERT_EQ(wire::ParseRequest(packet_, request_), wire::Verdict::kAnswer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    listener::ClientInfo client{reinterpret_cast<const sockaddr*>(&addr), transport};
    chain::Query q(request_, packet_, client, sink_, *scratch_, 1232);
    chain::Plugin* chain[] = {plugin_.get(), &nx_};
    chain::Next next{std::span<chain::Plugin* const>(chain)};
    (void)next(q);
  }
  std::vector<ParsedResponse> Replies() {
    std::vector<ParsedResponse> out;
    for (const auto& m : sink_.messages) out.push_back(Parse(m));
    return out;
  }
  // Completes exchange `i` with `response` (an Error or bytes).
  void Complete(size_t i, Result<std::vector<uint8_t>> response) {
    ASSERT_LT(i, sent_.size());
    ASSERT_TRUE(*sent_[i].alive) << "exchange " << i << " was cancelled";
    auto done = sent_[i].done;
    done(std::move(response));
  }
  static Error Timeout() { return Error{ErrorCode::kUnavailable, "upstream timeout"}; }
  double Metric(const std::string& name, const std::string& label_value = "") {
    double total = 0;
    for (const auto& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        bool match = label_value.empty();
        for (const auto& l : m.label) match = match || l.value == label_value;
        if (match) total += m.counter.value;
      }
    }
    return total;
  }

  std::string dir_ = ::testing::TempDir() + "/forward_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::vector<Sent> sent_;
  TestRuntime runtime_{sent_};
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<config::Config> config_;
  std::unique_ptr<chain::QueryScratch> scratch_ = std::make_unique<chain::QueryScratch>();
  petdns::testing::RecordingSink sink_;
  NxPlugin nx_;
  std::vector<uint8_t> packet_;
  wire::Request request_;
  chain::PluginPtr plugin_;  // last: destroyed first (pending queries answer into sink_)
};

constexpr const char* kThree =
    "to = [\"192.0.2.1\", \"192.0.2.2:5353\", \"[2001:db8::3]:53\"]\npolicy = \"sequential\"\n";

TEST_F(ForwardPluginTest, ForwardsOverUdpAndRestoresTheClientId) {
  auto& plugin = BuildOk(kThree);
  Ask("www.example.test.");
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].to, "192.0.2.1:53");
  EXPECT_FALSE(sent_[0].tcp);
  EXPECT_TRUE(sink_.messages.empty());
  EXPECT_EQ(plugin.in_flight(), 1u);
  // The upstream saw the client's question under another ID (fresh per exchange).
  std::vector<uint8_t> as_sent = sent_[0].query;
  wire::WriteU16(as_sent.data(), 0x1234);
  EXPECT_EQ(as_sent, packet_);
  Complete(0, Answer(sent_[0].query, 9));
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 0x1234);
  EXPECT_EQ(r[0].rcode, 0);
  EXPECT_EQ(r[0].answer, std::vector<std::string>{"www.example.test. 60 IN A 192.0.2.9"});
  EXPECT_EQ(plugin.in_flight(), 0u);
  EXPECT_EQ(Metric("petdns_forward_requests_total", "192.0.2.1:53"), 1);
  EXPECT_EQ(Metric("petdns_forward_responses_total", "NOERROR"), 1);
}

TEST_F(ForwardPluginTest, SequentialFailsOverOnTimeoutAndError) {
  BuildOk(kThree);
  Ask("www.example.test.");
  Complete(0, Timeout());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].to, "192.0.2.2:5353");
  Complete(1, Error{ErrorCode::kIo, "connection refused"});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].to, "[2001:db8::3]:53");
  EXPECT_TRUE(sink_.messages.empty());
  Complete(2, Answer(sent_[2].query));
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 0);
  EXPECT_EQ(r[0].id, 0x1234);
}

TEST_F(ForwardPluginTest, AllUpstreamsFailingGivesServfail) {
  auto& plugin = BuildOk(kThree);
  Ask("www.example.test.");
  for (size_t i = 0; i < 3; ++i) Complete(i, Timeout());
  EXPECT_EQ(sent_.size(), 3u);
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 2);
  EXPECT_EQ(r[0].id, 0x1234);
  EXPECT_EQ(plugin.in_flight(), 0u);
  EXPECT_EQ(plugin.stats().servfail, 1u);
}

TEST_F(ForwardPluginTest, RejectsGarbageResponses) {
  BuildOk(kThree);
  Ask("www.example.test.");
  std::vector<uint8_t> wrong_id = Answer(sent_[0].query);
  wrong_id[1] ^= 0xff;
  Complete(0, wrong_id);
  ASSERT_EQ(sent_.size(), 2u);  // treated as a failure: next upstream
  std::vector<uint8_t> other_question = Answer(MakeQuery("other.example.test.", RrType::kA));
  wire::WriteU16(other_question.data(), wire::ReadU16(sent_[1].query.data()));
  Complete(1, other_question);
  ASSERT_EQ(sent_.size(), 3u);
  std::vector<uint8_t> not_a_response = sent_[2].query;  // QR clear: our own query echoed
  Complete(2, not_a_response);
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 2);
}

TEST(ValidResponse, RejectsAnAnswerCutInsideARecord) {
  const std::vector<uint8_t> query = MakeQuery("www.example.test.", RrType::kA);
  const std::vector<uint8_t> whole = Answer(query);
  EXPECT_TRUE(ValidResponse(query, whole));
  // Cut inside the RDATA, inside the fixed fields, and right after the question.
  for (size_t cut : {size_t{2}, size_t{8}, size_t{16}}) {
    SCOPED_TRACE(cut);
    std::vector<uint8_t> cut_short(whole.begin(), whole.end() - static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(ValidResponse(query, cut_short));
  }
  // ARCOUNT claiming a record that is not there.
  std::vector<uint8_t> lying = whole;
  wire::WriteU16(lying.data() + 10, 1);
  EXPECT_FALSE(ValidResponse(query, lying));
}

TEST_F(ForwardPluginTest, RelaysNoAnswerCutInsideARecord) {
  BuildOk(kThree);
  Ask("www.example.test.");
  std::vector<uint8_t> cut = Answer(sent_[0].query);
  cut.resize(cut.size() - 2);
  Complete(0, cut);
  ASSERT_EQ(sent_.size(), 2u);  // a failure: the next upstream is asked
  Complete(1, Answer(sent_[1].query));
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 0);
}

TEST_F(ForwardPluginTest, AcceptsTheQuestionInAnotherCase) {
  BuildOk(kThree);
  Ask("www.example.test.");
  std::vector<uint8_t> upper = Answer(sent_[0].query);
  for (size_t i = 12; i < 12 + 17; ++i) {
    if (upper[i] >= 'a' && upper[i] <= 'z') upper[i] = static_cast<uint8_t>(upper[i] - 32);
  }
  Complete(0, upper);
  ASSERT_EQ(Replies().size(), 1u);
  EXPECT_EQ(Replies()[0].rcode, 0);
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(ForwardPluginTest, RetriesOverTcpWhenTruncated) {
  auto& plugin = BuildOk(kThree);
  Ask("www.example.test.");
  Complete(0, Answer(sent_[0].query, 7, kTc));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].to, "192.0.2.1:53");  // the same upstream
  EXPECT_TRUE(sent_[1].tcp);
  EXPECT_TRUE(sink_.messages.empty());
  Complete(1, Answer(sent_[1].query, 8));
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].tc);
  EXPECT_EQ(r[0].answer, std::vector<std::string>{"www.example.test. 60 IN A 192.0.2.8"});
  EXPECT_EQ(plugin.stats().tcp_retries, 1u);
}

TEST_F(ForwardPluginTest, UsesTcpForTcpClientsAndWithForceTcp) {
  BuildOk(kThree);
  Ask("www.example.test.", listener::Transport::kTcp);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(sent_[0].tcp);
  plugin_.reset();
  sent_.clear();
  BuildOk(std::string(kThree) + "force_tcp = true\n");
  Ask("www.example.test.");
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(sent_[0].tcp);
}

TEST_F(ForwardPluginTest, MarksDownAfterMaxFailsAndHealthProbeBringsItBack) {
  auto& plugin = BuildOk(
      "to = [\"192.0.2.1\", \"192.0.2.2\"]\npolicy = \"sequential\"\n"
      "max_fails = 2\nhealth_check = \"1s\"\n");
  for (int query = 0; query < 2; ++query) {
    size_t base = sent_.size();
    Ask("www.example.test.");
    EXPECT_EQ(sent_[base].to, "192.0.2.1:53");
    Complete(base, Timeout());
    Complete(base + 1, Answer(sent_[base + 1].query));
  }
  EXPECT_TRUE(plugin.upstreams().Down(0));
  size_t base = sent_.size();
  Ask("www.example.test.");  // straight to the healthy one
  EXPECT_EQ(sent_[base].to, "192.0.2.2:53");
  Complete(base, Answer(sent_[base].query));

  ASSERT_EQ(runtime_.timers.size(), 1u);
  base = sent_.size();
  runtime_.FireTimers();
  ASSERT_EQ(sent_.size(), base + 1);  // one probe, to the down upstream only
  EXPECT_EQ(sent_[base].to, "192.0.2.1:53");
  auto probe = Parse(sent_[base].query);
  EXPECT_EQ(probe.question, ". IN NS");
  Complete(base, Timeout());  // still broken
  EXPECT_TRUE(plugin.upstreams().Down(0));
  EXPECT_EQ(Metric("petdns_forward_healthcheck_failures_total", "192.0.2.1:53"), 1);

  base = sent_.size();
  runtime_.FireTimers();
  ASSERT_EQ(sent_.size(), base + 1);
  Complete(base, Answer(sent_[base].query, 1, kPlain, 5));  // any valid answer counts, REFUSED too
  EXPECT_FALSE(plugin.upstreams().Down(0));
  base = sent_.size();
  Ask("www.example.test.");
  EXPECT_EQ(sent_[base].to, "192.0.2.1:53");
}

TEST_F(ForwardPluginTest, TriesDownUpstreamsWhenAllAreDown) {
  auto& plugin = BuildOk("to = [\"192.0.2.1\"]\nmax_fails = 1\n");
  Ask("www.example.test.");
  Complete(0, Timeout());
  EXPECT_TRUE(plugin.upstreams().Down(0));
  Ask("www.example.test.");
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(Metric("petdns_forward_healthcheck_broken_total"), 1);
  Complete(1, Answer(sent_[1].query));
  EXPECT_FALSE(plugin.upstreams().Down(0));
}

TEST_F(ForwardPluginTest, RefusesBeyondMaxConcurrent) {
  auto& plugin = BuildOk("to = [\"192.0.2.1\"]\nmax_concurrent = 2\n");
  Ask("a.example.test.");
  Ask("b.example.test.");
  EXPECT_TRUE(sink_.messages.empty());
  Ask("c.example.test.");
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 5);
  EXPECT_EQ(sent_.size(), 2u);
  EXPECT_EQ(plugin.stats().rejected, 1u);
  EXPECT_EQ(Metric("petdns_forward_max_concurrent_rejects_total"), 1);
}

TEST_F(ForwardPluginTest, ExceptedNamesGoToTheNextPlugin) {
  BuildOk("to = [\"192.0.2.1\"]\nexcept = [\"internal.example.test\"]\n");
  Ask("www.internal.example.test.");
  EXPECT_TRUE(sent_.empty());
  ASSERT_EQ(Replies().size(), 1u);
  EXPECT_EQ(Replies()[0].rcode, 3);  // from NxPlugin
  Ask("other.test.");                // outside the block's zones
  EXPECT_TRUE(sent_.empty());
  Ask("www.example.test.");
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(ForwardPluginTest, ShutdownCancelsExchangesAndAnswersServfail) {
  auto& plugin = BuildOk(kThree);
  Ask("www.example.test.");
  plugin.OnShutdown();
  EXPECT_FALSE(*sent_[0].alive);
  auto r = Replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rcode, 2);
}

TEST_F(ForwardPluginTest, SetupReportsBadOptions) {
  std::string many = "to = [";
  for (int i = 1; i <= 16; ++i) many += "\"192.0.2." + std::to_string(i) + "\",";
  many += "]\n";
  for (const std::string& bad : {std::string("to = []\n"), std::string("to = [\"nonsense\"]\n"),
                                 many, std::string("to = [\"192.0.2.1\"]\npolicy = \"fastest\"\n"),
                                 std::string("to = [\"192.0.2.1:99999\"]\n"),
                                 std::string("to = [\"192.0.2.1\"]\ncolour = 1\n"),
                                 std::string("to = [\"192.0.2.1\"]\ntimeout = \"0s\"\n")}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Build(bad));
  }
}

TEST_F(ForwardPluginTest, ReadsNameserversFromAResolvConf) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/resolv.conf") << "# comment\nsearch example.test\nnameserver 192.0.2.53\n"
                                          "nameserver fe80::1%eth0\noptions ndots:5\n";
  auto upstreams = ParseTo("./resolv.conf", dir_ + "/resolv.conf");
  ASSERT_TRUE(upstreams) << upstreams.error().message;
  ASSERT_EQ(upstreams->size(), 2u);
  EXPECT_EQ((*upstreams)[0].text(), "192.0.2.53:53");
  EXPECT_EQ((*upstreams)[1].text(), "[fe80::1]:53");
  EXPECT_FALSE(ParseTo("/nonexistent/resolv.conf", "/nonexistent/resolv.conf"));
}

}  // namespace
}  // namespace petdns::plugins::forward
