#include "server/listener/tcp_listener.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/listener/socket_address.h"
#include "server/listener/test_sockets.h"
#include "server/uv/loop.h"

namespace petdns::listener {
namespace {

using std::chrono::milliseconds;
using test::Bytes;
using test::Frame;
using test::Loopback;
using test::RecordingHandler;
using test::Reversed;
using test::TcpClient;

class TcpListenerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init()); }

  // Creates and starts a listener on loopback port 0.
  TcpListener& Listen(TcpListenerOptions options = {}, int family = AF_INET) {
    listener_ = std::make_unique<TcpListener>(loop_.get(), handler_, options);
    sockaddr_storage addr = Loopback(family, 0);
    auto st = listener_->Start(reinterpret_cast<const sockaddr*>(&addr));
    EXPECT_TRUE(st) << st.error().message;
    address_ = Loopback(family, listener_->LocalPort());
    return *listener_;
  }

  std::unique_ptr<TcpClient> Connect(int rcvbuf = 0) {
    auto client = std::make_unique<TcpClient>(loop_.get());
    EXPECT_TRUE(client->Connect(address_, rcvbuf));
    return client;
  }

  uv::Loop loop_;  // first: destroyed last
  RecordingHandler handler_;
  std::unique_ptr<TcpListener> listener_;
  sockaddr_storage address_{};
};

TEST_F(TcpListenerTest, AnswersSingleFrame) {
  TcpListener& listener = Listen();
  auto client = Connect();
  const Bytes query = {1, 2, 3};
  ASSERT_TRUE(client->Write(Frame(query)));
  auto frames = client->ReadFrames(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], Reversed(query));
  ASSERT_EQ(handler_.packets.size(), 1u);
  EXPECT_EQ(handler_.packets[0], query);
  EXPECT_EQ(handler_.transports[0], Transport::kTcp);
  EXPECT_EQ(handler_.peer_ports[0], client->port());
  EXPECT_EQ(listener.accepted(), 1u);
  EXPECT_EQ(listener.frames(), 1u);
  EXPECT_EQ(listener.connections(), 1u);
}

TEST_F(TcpListenerTest, AnswersPipelinedFramesInOrder) {
  Listen();
  auto client = Connect();
  Bytes both = Frame({1, 2});
  Bytes second = Frame({3, 4, 5});
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_TRUE(client->Write(both));  // one write, two frames
  auto frames = client->ReadFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], (Bytes{2, 1}));
  EXPECT_EQ(frames[1], (Bytes{5, 4, 3}));
}

TEST_F(TcpListenerTest, ReassemblesFrameSplitByteByByte) {
  Listen();
  auto client = Connect();
  Bytes query(300);
  for (size_t i = 0; i < query.size(); ++i) query[i] = static_cast<uint8_t>(i);
  for (uint8_t byte : Frame(query)) {
    ASSERT_TRUE(client->Write({byte}));
    uv_run(loop_.get(), UV_RUN_NOWAIT);  // let the listener read each byte on its own
  }
  auto frames = client->ReadFrames(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], Reversed(query));
  ASSERT_EQ(handler_.packets.size(), 1u);
  EXPECT_EQ(handler_.packets[0], query);
}

TEST_F(TcpListenerTest, AnswersClientThatHalfCloses) {
  TcpListener& listener = Listen();
  auto client = Connect();
  Bytes both = Frame({1, 2});
  Bytes second = Frame({3});
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_TRUE(client->Write(both));
  ASSERT_TRUE(client->ShutdownWrite());
  auto frames = client->ReadFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], (Bytes{3}));
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.connections() == 0; }));
}

TEST_F(TcpListenerTest, ZeroLengthFrameClosesConnection) {
  TcpListener& listener = Listen();
  auto client = Connect();
  ASSERT_TRUE(client->Write({0, 0}));
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_TRUE(handler_.packets.empty());
  EXPECT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.connections() == 0; }));
}

TEST_F(TcpListenerTest, IdleTimeoutClosesConnection) {
  TcpListener& listener = Listen({.idle_timeout = milliseconds(100)});
  auto client = Connect();
  ASSERT_TRUE(client->Write(Frame({1})));
  ASSERT_EQ(client->ReadFrames(1).size(), 1u);
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_EQ(listener.closed_idle(), 1u);
  EXPECT_EQ(listener.connections(), 0u);
}

TEST_F(TcpListenerTest, PartialFrameReadTimeoutClosesConnection) {
  TcpListener& listener =
      Listen({.idle_timeout = milliseconds(60'000), .read_timeout = milliseconds(100)});
  auto client = Connect();
  ASSERT_TRUE(client->Write({0, 10, 1}));  // a frame of 10 that never completes
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_EQ(listener.closed_idle(), 1u);
  EXPECT_TRUE(handler_.packets.empty());
  EXPECT_EQ(handler_.dropped, std::vector<DroppedInput>{DroppedInput::kTcpReadTimeout});
}

TEST_F(TcpListenerTest, ReadTimeoutIsNotResetByTrickledBytes) {
  TcpListener& listener =
      Listen({.idle_timeout = milliseconds(60'000), .read_timeout = milliseconds(200)});
  auto client = Connect();
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.connections() == 1; }));
  ASSERT_TRUE(client->Write({0, 50}));
  const auto start = std::chrono::steady_clock::now();
  // A byte every 50 ms: the connection is busy, but the frame never completes in time.
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!client->Write({1})) break;
    closed = testing::RunLoopUntil(
        loop_.get(), [&] { return listener.connections() == 0; }, milliseconds(50));
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(handler_.dropped, std::vector<DroppedInput>{DroppedInput::kTcpReadTimeout});
}

TEST_F(TcpListenerTest, ZeroLengthFrameClosesAndIsReported) {
  Listen();
  auto client = Connect();
  ASSERT_TRUE(client->Write({0, 0, 0, 3, 1, 2, 3}));
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_TRUE(handler_.packets.empty());
  EXPECT_EQ(handler_.dropped, std::vector<DroppedInput>{DroppedInput::kTcpZeroLength});
}

TEST_F(TcpListenerTest, ClientThatNeverReadsIsClosedAsStalled) {
  handler_.reply_size = 60'000;
  Listen({.idle_timeout = milliseconds(300), .max_pending_output_bytes = 1024});
  auto client = Connect(/*rcvbuf=*/4096);
  Bytes queries;
  for (int i = 0; i < 200; ++i) {
    Bytes f = Frame({static_cast<uint8_t>(i)});
    queries.insert(queries.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(client->Write(queries));
  EXPECT_TRUE(testing::RunLoopUntil(
      loop_.get(), [&] { return !handler_.dropped.empty(); }, milliseconds(5000)));
  EXPECT_EQ(handler_.dropped, std::vector<DroppedInput>{DroppedInput::kTcpStalled});
}

TEST_F(TcpListenerTest, ClosesConnectionsOverTheLimit) {
  TcpListener& listener = Listen({.max_connections = 2});
  auto first = Connect();
  auto second = Connect();
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.accepted() == 2; }));
  auto third = Connect();
  EXPECT_TRUE(third->WaitClosed());
  EXPECT_EQ(listener.rejected_over_limit(), 1u);
  EXPECT_EQ(listener.connections(), 2u);
  // The accepted ones still work.
  ASSERT_TRUE(first->Write(Frame({1, 2})));
  EXPECT_EQ(first->ReadFrames(1).size(), 1u);
  EXPECT_FALSE(first->eof());
}

TEST_F(TcpListenerTest, SendsEveryResponseOfOneFrameInOrder) {
  handler_.replies = 2;  // AXFR-style: several messages for one query
  Listen();
  auto client = Connect();
  ASSERT_TRUE(client->Write(Frame({1, 2, 3})));
  auto frames = client->ReadFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], (Bytes{3, 2, 1}));
  EXPECT_EQ(frames[1], (Bytes{3, 2, 1, 1}));
}

TEST_F(TcpListenerTest, StopsReadingWhileClientDoesNotDrain) {
  handler_.reply_size = 60'000;
  TcpListener& listener = Listen({.max_pending_output_bytes = 1024});
  auto client = Connect(/*rcvbuf=*/4096);
  constexpr size_t kQueries = 400;  // 24 MB of answers: far more than the socket buffers hold
  Bytes queries;
  for (size_t i = 0; i < kQueries; ++i) {
    Bytes f = Frame({static_cast<uint8_t>(i)});
    queries.insert(queries.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(client->Write(queries));
  // Without reading answers, the listener must stall well before handling every query.
  uint64_t last = 0;
  testing::RunLoopUntil(
      loop_.get(),
      [&] {
        bool stalled = listener.frames() == last && last > 0;
        last = listener.frames();
        return stalled;
      },
      milliseconds(300));
  EXPECT_LT(listener.frames(), kQueries);
  // Once the client drains, every query gets its answer.
  auto frames = client->ReadFrames(kQueries, std::chrono::seconds(20));
  EXPECT_EQ(frames.size(), kQueries);
  EXPECT_EQ(listener.frames(), kQueries);
}

TEST_F(TcpListenerTest, StartReportsAddressInUse) {
  TcpListener& first = Listen();
  TcpListener second(loop_.get(), handler_);
  auto st = second.Start(reinterpret_cast<const sockaddr*>(&address_));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "listen tcp 127.0.0.1:" + std::to_string(first.LocalPort()) +
                                    ": address already in use");
}

TEST_F(TcpListenerTest, ServesIpv6Loopback) {
  if (!test::Ipv6LoopbackWorks()) GTEST_SKIP() << "no IPv6 loopback here";
  Listen({}, AF_INET6);
  auto client = Connect();
  ASSERT_TRUE(client->Write(Frame({1, 2})));
  auto frames = client->ReadFrames(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (Bytes{2, 1}));
}

TEST_F(TcpListenerTest, StopClosesEverythingAndTheLoopEnds) {
  TcpListener& listener = Listen();
  auto first = Connect();
  auto second = Connect();
  ASSERT_TRUE(first->Write(Frame({1})));
  ASSERT_EQ(first->ReadFrames(1).size(), 1u);
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.connections() == 2; }));
  listener.Stop();
  EXPECT_EQ(listener.connections(), 0u);
  EXPECT_EQ(listener.LocalPort(), 0);
  EXPECT_EQ(loop_.Run(), 0);  // no handle left
  EXPECT_TRUE(first->WaitClosed(milliseconds(1000)));
  EXPECT_TRUE(second->WaitClosed(milliseconds(1000)));
}

}  // namespace
}  // namespace petdns::listener
