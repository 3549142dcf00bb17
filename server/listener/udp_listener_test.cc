#include "server/listener/udp_listener.h"

#include <gtest/gtest.h>

#include <string>

#include "server/listener/socket_address.h"
#include "server/listener/test_sockets.h"
#include "server/uv/loop.h"

namespace petdns::listener {
namespace {

using test::Bytes;
using test::Loopback;
using test::RecordingHandler;
using test::Reversed;
using test::UdpClient;

class UdpListenerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init()); }

  // Starts `listener` on loopback port 0 and returns the address it listens on.
  sockaddr_storage StartOn(UdpListener& listener, int family = AF_INET) {
    sockaddr_storage addr = Loopback(family, 0);
    auto st = listener.Start(reinterpret_cast<const sockaddr*>(&addr));
    EXPECT_TRUE(st) << st.error().message;
    return Loopback(family, listener.LocalPort());
  }

  uv::Loop loop_;  // first: destroyed last
  RecordingHandler handler_;
};

TEST_F(UdpListenerTest, EchoesDatagramToSender) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  ASSERT_NE(listener.LocalPort(), 0);
  UdpClient client(loop_.get(), AF_INET);
  const Bytes query = {1, 2, 3, 4, 5};
  ASSERT_TRUE(client.SendTo(addr, query));
  auto replies = client.Receive(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], Reversed(query));
  ASSERT_EQ(handler_.packets.size(), 1u);
  EXPECT_EQ(handler_.packets[0], query);
  EXPECT_EQ(handler_.transports[0], Transport::kUdp);
  EXPECT_EQ(handler_.peer_ports[0], client.port());
  EXPECT_EQ(listener.received(), 1u);
  EXPECT_EQ(listener.sent(), 1u);
  EXPECT_EQ(listener.dropped_send_errors(), 0u);
}

TEST_F(UdpListenerTest, AnswersEveryDatagramOfABurst) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  constexpr int kCount = 200;
  // All sent before the loop runs, so the listener reads them in recvmmsg batches.
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(client.SendTo(addr, {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), 7}));
  }
  auto replies = client.Receive(kCount);
  EXPECT_EQ(replies.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(listener.received(), static_cast<uint64_t>(kCount));
  EXPECT_EQ(listener.sent(), static_cast<uint64_t>(kCount));
  ASSERT_EQ(handler_.packets.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(handler_.packets[i][0], static_cast<uint8_t>(i));  // delivered in order
  }
}

TEST_F(UdpListenerTest, SendsEveryReplyOfOnePacket) {
  handler_.replies = 3;
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  ASSERT_TRUE(client.SendTo(addr, {9, 8}));
  EXPECT_EQ(client.Receive(3).size(), 3u);
  EXPECT_EQ(listener.sent(), 3u);
}

TEST_F(UdpListenerTest, StartReportsAddressInUse) {
  UdpListener first(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(first);
  UdpListener second(loop_.get(), handler_);
  auto st = second.Start(reinterpret_cast<const sockaddr*>(&addr));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "listen udp 127.0.0.1:" + std::to_string(first.LocalPort()) +
                                    ": address already in use");
  EXPECT_EQ(second.LocalPort(), 0);
}

TEST_F(UdpListenerTest, ReusePortLetsTwoListenersShareAnAddress) {
  UdpListener first(loop_.get(), handler_, {.reuse_port = true});
  sockaddr_storage addr = StartOn(first);
  UdpListener second(loop_.get(), handler_, {.reuse_port = true});
  auto st = second.Start(reinterpret_cast<const sockaddr*>(&addr));
  EXPECT_TRUE(st) << st.error().message;
  EXPECT_EQ(second.LocalPort(), first.LocalPort());
}

TEST_F(UdpListenerTest, ServesIpv6Loopback) {
  if (!test::Ipv6LoopbackWorks()) GTEST_SKIP() << "no IPv6 loopback here";
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener, AF_INET6);
  UdpClient client(loop_.get(), AF_INET6);
  ASSERT_TRUE(client.SendTo(addr, {1, 2}));
  auto replies = client.Receive(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], (Bytes{2, 1}));
}

TEST_F(UdpListenerTest, StopClosesTheSocketAndTheLoopEnds) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  ASSERT_TRUE(client.SendTo(addr, {1}));
  ASSERT_EQ(client.Receive(1).size(), 1u);
  listener.Stop();
  EXPECT_EQ(listener.LocalPort(), 0);
  EXPECT_EQ(loop_.Run(), 0);
}

}  // namespace
}  // namespace petdns::listener

namespace petdns::listener {
namespace {

// Keeps a retained sink from each packet and answers later, as forward does.
class LateHandler final : public PacketHandler {
 public:
  void HandlePacket(std::span<const uint8_t> packet, const ClientInfo&,
                    ResponseSink& sink) noexcept override {
    last_packet.assign(packet.begin(), packet.end());
    retained = sink.Retain();
  }
  std::vector<uint8_t> last_packet;
  std::unique_ptr<ResponseSink> retained;
};

TEST(UdpListenerRetain, RetainedSinkAnswersAfterHandlingAndNothingOnceStopped) {
  uv::Loop loop;
  ASSERT_TRUE(loop.Init());
  LateHandler handler;
  auto listener = std::make_unique<UdpListener>(loop.get(), handler);
  sockaddr_storage addr = test::Loopback(AF_INET, 0);
  ASSERT_TRUE(listener->Start(reinterpret_cast<const sockaddr*>(&addr)));
  addr = test::Loopback(AF_INET, listener->LocalPort());
  test::UdpClient client(loop.get(), AF_INET);
  ASSERT_TRUE(client.SendTo(addr, {9, 8, 7}));
  ASSERT_TRUE(testing::RunLoopUntil(loop.get(), [&] { return handler.retained != nullptr; }));
  handler.retained->Send(handler.last_packet);  // the late answer
  auto replies = client.Receive(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], (test::Bytes{9, 8, 7}));
  listener.reset();
  handler.retained->Send(handler.last_packet);  // the listener is gone: nothing happens
  EXPECT_TRUE(client.Receive(1, std::chrono::milliseconds(50)).empty());
}

}  // namespace
}  // namespace petdns::listener
