#include "server/uv/dns_transport.h"

#include <gtest/gtest.h>

#include <optional>

#include "server/listener/socket_address.h"
#include "server/listener/tcp_listener.h"
#include "server/listener/udp_listener.h"
#include "server/uv/loop.h"
#include "tests/testing/loop_runner.h"

namespace petdns::uv {
namespace {

using Bytes = std::vector<uint8_t>;

// A tiny DNS responder on the test's loop (the real UDP/TCP listeners): answers each query with
// the query itself, QR set, as `mode` says.
class Responder final : public listener::PacketHandler {
 public:
  enum class Mode { kAnswer, kSilent, kStrayThenAnswer, kBadFrame };

  void HandlePacket(std::span<const uint8_t> packet, const listener::ClientInfo&,
                    listener::ResponseSink& sink) noexcept override {
    ++queries;
    if (mode == Mode::kSilent) return;
    Bytes reply(packet.begin(), packet.end());
    reply[2] |= 0x80;
    if (mode == Mode::kStrayThenAnswer) {
      Bytes stray = reply;
      stray[0] ^= 0xff;  // another ID: must be ignored
      sink.Send(stray);
    }
    if (mode == Mode::kBadFrame) reply.resize(5);
    sink.Send(reply);
  }
  Mode mode = Mode::kAnswer;
  int queries = 0;
};

class DnsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    udp_ = std::make_unique<listener::UdpListener>(loop_.get(), responder_);
    tcp_ = std::make_unique<listener::TcpListener>(loop_.get(), responder_,
                                                   listener::TcpListenerOptions{});
    auto any = *listener::ParseSocketAddress("127.0.0.1", 0);
    ASSERT_TRUE(udp_->Start(reinterpret_cast<const sockaddr*>(&any)));
    ASSERT_TRUE(tcp_->Start(reinterpret_cast<const sockaddr*>(&any)));
    udp_address_ = *listener::ParseSocketAddress("127.0.0.1", udp_->LocalPort());
    tcp_address_ = *listener::ParseSocketAddress("127.0.0.1", tcp_->LocalPort());
    transport_ = NewLoopDnsTransport(loop_);
  }
  void TearDown() override {
    exchange_.reset();
    transport_.reset();
    udp_->Stop();
    tcp_->Stop();
    udp_.reset();
    tcp_.reset();
  }

  // Sends the query and drives the loop until the callback ran (or 3 s passed).
  std::optional<Result<Bytes>> Exchange(bool tcp, std::chrono::milliseconds timeout) {
    std::optional<Result<Bytes>> result;
    auto exchange = transport_->Send(tcp ? tcp_address_ : udp_address_, tcp, query_, timeout,
                                     [&result](Result<Bytes> r) { result.emplace(std::move(r)); });
    EXPECT_TRUE(exchange) << exchange.error().message;
    if (!exchange) return result;
    exchange_ = std::move(*exchange);
    petdns::testing::RunLoopUntil(
        loop_.get(), [&] { return result.has_value(); }, std::chrono::seconds(3));
    exchange_.reset();
    return result;
  }

  Loop loop_;  // first: destroyed last
  Responder responder_;
  std::unique_ptr<listener::UdpListener> udp_;
  std::unique_ptr<listener::TcpListener> tcp_;
  sockaddr_storage udp_address_{};
  sockaddr_storage tcp_address_{};
  std::unique_ptr<DnsTransport> transport_;
  std::unique_ptr<DnsExchange> exchange_;
  // "example.test. IN A", ID 0xbeef.
  Bytes query_ = {0xbe, 0xef, 0x01, 0x00, 0,   1, 0,   0,   0,   0,   0, 0, 7, 'e', 'x',
                  'a',  'm',  'p',  'l',  'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0,   1};
};

TEST_F(DnsTransportTest, ExchangesOverUdp) {
  auto r = Exchange(false, std::chrono::seconds(2));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->error().message;
  EXPECT_EQ((**r).size(), query_.size());
  EXPECT_EQ((**r)[0], 0xbe);
  EXPECT_EQ(responder_.queries, 1);
}

TEST_F(DnsTransportTest, ExchangesOverTcpWithFraming) {
  auto r = Exchange(true, std::chrono::seconds(2));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->error().message;
  EXPECT_EQ((**r).size(), query_.size());
  EXPECT_EQ((**r)[2] & 0x80, 0x80);
}

TEST_F(DnsTransportTest, IgnoresUdpDatagramsWithAnotherId) {
  responder_.mode = Responder::Mode::kStrayThenAnswer;
  auto r = Exchange(false, std::chrono::seconds(2));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->error().message;
  EXPECT_EQ((**r)[0], 0xbe);
  EXPECT_EQ((**r)[1], 0xef);
}

TEST_F(DnsTransportTest, TimesOutWhenTheUpstreamIsSilent) {
  responder_.mode = Responder::Mode::kSilent;
  for (bool tcp : {false, true}) {
    auto start = std::chrono::steady_clock::now();
    auto r = Exchange(tcp, std::chrono::milliseconds(100));
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code, ErrorCode::kUnavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
}

TEST_F(DnsTransportTest, RejectsAShortTcpFrame) {
  responder_.mode = Responder::Mode::kBadFrame;
  auto r = Exchange(true, std::chrono::seconds(2));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().code, ErrorCode::kParse);
}

TEST_F(DnsTransportTest, FailsFastWhenNothingListens) {
  auto closed = *listener::ParseSocketAddress("127.0.0.1", udp_->LocalPort());
  udp_->Stop();
  tcp_->Stop();
  petdns::testing::RunLoopUntil(
      loop_.get(), [] { return false; }, std::chrono::milliseconds(20));
  udp_address_ = closed;
  for (bool tcp : {false, true}) {
    auto r = Exchange(tcp, std::chrono::seconds(2));
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code, ErrorCode::kIo) << r->error().message;
  }
}

TEST_F(DnsTransportTest, DestroyingTheExchangeCancelsIt) {
  responder_.mode = Responder::Mode::kSilent;
  bool called = false;
  auto exchange = transport_->Send(udp_address_, false, query_, std::chrono::milliseconds(10),
                                   [&called](Result<Bytes>) { called = true; });
  ASSERT_TRUE(exchange);
  exchange->reset();
  petdns::testing::RunLoopUntil(
      loop_.get(), [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_FALSE(called);
}

TEST_F(DnsTransportTest, TheCallbackMayDestroyItsExchange) {
  std::optional<Result<Bytes>> result;
  auto exchange =
      transport_->Send(udp_address_, false, query_, std::chrono::seconds(2), [&](Result<Bytes> r) {
        exchange_.reset();
        result.emplace(std::move(r));
      });
  ASSERT_TRUE(exchange);
  exchange_ = std::move(*exchange);
  petdns::testing::RunLoopUntil(loop_.get(), [&] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result);
  EXPECT_EQ(exchange_, nullptr);
}

}  // namespace
}  // namespace petdns::uv
