#include "server/listener/udp_listener.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/listener/socket_address.h"
#include "server/listener/test_sockets.h"
#include "server/uv/loop.h"

// Fault injection and call counting for the listener's socket calls. These definitions take the
// place of libc's in this test binary (the listener is linked in statically) and pass through to
// the real functions unless a test asks for EAGAIN: loopback sockets never fill their send buffer,
// so the queueing path could not be reached otherwise. The TCP tests and the test clients use
// neither call.
namespace {

struct SocketCalls {
  int sendmmsg_calls = 0;
  int sendmsg_calls = 0;
  int recvmmsg_calls = 0;
  int recvmmsg_would_block = 0;    // recvmmsg calls that found nothing to read
  unsigned cap_next_sendmmsg = 0;  // when non-zero, the next sendmmsg sends at most this many
  int fail_sendmmsg = 0;           // the next this many sendmmsg calls fail with EAGAIN
  bool fail_all_sends = false;     // every sendmsg and sendmmsg fails with EAGAIN
};
SocketCalls g_calls;

template <class Fn>
Fn Real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int sendmmsg(int fd, mmsghdr* msgs, unsigned vlen, int flags) {
  static const auto real = Real<int (*)(int, mmsghdr*, unsigned, int)>("sendmmsg");
  ++g_calls.sendmmsg_calls;
  if (g_calls.fail_all_sends) {
    errno = EAGAIN;
    return -1;
  }
  if (g_calls.cap_next_sendmmsg != 0) {
    vlen = std::min(vlen, std::exchange(g_calls.cap_next_sendmmsg, 0u));
  } else if (g_calls.fail_sendmmsg > 0) {
    --g_calls.fail_sendmmsg;
    errno = EAGAIN;
    return -1;
  }
  return real(fd, msgs, vlen, flags);
}

extern "C" ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  static const auto real = Real<ssize_t (*)(int, const msghdr*, int)>("sendmsg");
  ++g_calls.sendmsg_calls;
  if (g_calls.fail_all_sends) {
    errno = EAGAIN;
    return -1;
  }
  return real(fd, msg, flags);
}

extern "C" int recvmmsg(int fd, mmsghdr* msgs, unsigned vlen, int flags, timespec* timeout) {
  static const auto real = Real<int (*)(int, mmsghdr*, unsigned, int, timespec*)>("recvmmsg");
  ++g_calls.recvmmsg_calls;
  int n = real(fd, msgs, vlen, flags, timeout);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++g_calls.recvmmsg_would_block;
  return n;
}

namespace petdns::listener {
namespace {

using test::Bytes;
using test::Loopback;
using test::RecordingHandler;
using test::Reversed;
using test::UdpClient;

// Large enough that a burst of replies waits in a test client's socket until it reads them.
void GrowReceiveBuffer(const UdpClient& client) {
  int size = 4 << 20;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

// The listener's own socket, found by its port, so a test can let it hold a larger burst than
// the default receive buffer does. -1 if not found.
int ListenerSocket(const UdpListener& listener) {
  for (int fd = 3; fd < 1024; ++fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) continue;
    if (test::LocalPortOf(fd) == listener.LocalPort()) return fd;
  }
  return -1;
}

// Query `i` of a burst: distinct bytes, so every reply (the query reversed) names its query.
Bytes BurstQuery(int i) { return {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), 7}; }

// Sorted, so replies that arrive in any order compare equal to the expected set.
std::vector<Bytes> Sorted(std::vector<Bytes> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class UdpListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init());
    g_calls = {};
  }
  void TearDown() override { g_calls = {}; }

  // Starts `listener` on loopback port 0 and returns the address it listens on.
  sockaddr_storage StartOn(UdpListener& listener, int family = AF_INET) {
    sockaddr_storage addr = Loopback(family, 0);
    auto st = listener.Start(reinterpret_cast<const sockaddr*>(&addr));
    EXPECT_TRUE(st) << st.error().message;
    return Loopback(family, listener.LocalPort());
  }

  // Sends queries `first`..`first + count - 1` and returns the replies the handler will make.
  static std::vector<Bytes> SendBurst(UdpClient& client, const sockaddr_storage& to, int first,
                                      int count) {
    std::vector<Bytes> expected;
    for (int i = first; i < first + count; ++i) {
      EXPECT_TRUE(client.SendTo(to, BurstQuery(i)));
      expected.push_back(Reversed(BurstQuery(i)));
    }
    return expected;
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
  GrowReceiveBuffer(client);
  constexpr int kCount = 200;
  // All sent before the loop runs, so the listener reads them in recvmmsg batches.
  std::vector<Bytes> expected = SendBurst(client, addr, 0, kCount);
  auto replies = client.Receive(kCount);
  EXPECT_EQ(Sorted(replies), Sorted(expected));  // each reply answers its own query, none twice
  EXPECT_EQ(listener.received(), static_cast<uint64_t>(kCount));
  EXPECT_EQ(listener.sent(), static_cast<uint64_t>(kCount));
  ASSERT_EQ(handler_.packets.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(handler_.packets[i][0], static_cast<uint8_t>(i));  // delivered in order
  }
  // 64 datagrams per call: 200 queries take 4 recvmmsg and 4 sendmmsg calls, not 200 sends.
  EXPECT_EQ(g_calls.recvmmsg_calls, 4);
  EXPECT_EQ(g_calls.sendmmsg_calls, 4);
  EXPECT_EQ(g_calls.sendmsg_calls, 0);
  // A short batch ends the wakeup: no call is made only to learn that the socket is empty.
  EXPECT_EQ(g_calls.recvmmsg_would_block, 0);
}

TEST_F(UdpListenerTest, ReadsAtMostFourBatchesPerWakeup) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  int size = 4 << 20;
  ASSERT_EQ(setsockopt(ListenerSocket(listener), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
  UdpClient client(loop_.get(), AF_INET);
  GrowReceiveBuffer(client);
  constexpr int kCount = 300;  // more than 4 × 64
  std::vector<Bytes> expected = SendBurst(client, addr, 0, kCount);
  static_cast<void>(uv_run(loop_.get(), UV_RUN_NOWAIT));  // one wakeup
  EXPECT_EQ(listener.received(), 256u);
  EXPECT_EQ(Sorted(client.Receive(kCount)), Sorted(expected));  // the rest on the next wakeup
  EXPECT_EQ(listener.received(), static_cast<uint64_t>(kCount));
}

TEST_F(UdpListenerTest, RepliesGoToThePeerOfEachDatagram) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient a(loop_.get(), AF_INET);
  UdpClient b(loop_.get(), AF_INET);
  UdpClient c(loop_.get(), AF_INET);
  std::vector<Bytes> for_a, for_b, for_c;
  // Interleaved, so one batch holds datagrams of all three peers.
  for (int i = 0; i < 30; ++i) {
    for (auto [client, expected, base] :
         {std::tuple{&a, &for_a, 0}, std::tuple{&b, &for_b, 100}, std::tuple{&c, &for_c, 200}}) {
      auto more = SendBurst(*client, addr, base + i, 1);
      expected->insert(expected->end(), more.begin(), more.end());
    }
  }
  EXPECT_EQ(Sorted(a.Receive(30)), Sorted(for_a));
  EXPECT_EQ(Sorted(b.Receive(30)), Sorted(for_b));
  EXPECT_EQ(Sorted(c.Receive(30)), Sorted(for_c));
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

TEST_F(UdpListenerTest, SendsMoreRepliesThanSendSlots) {
  handler_.replies = 3;  // 60 queries in one batch make 180 replies for 64 send slots
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  GrowReceiveBuffer(client);
  std::vector<Bytes> expected;
  for (const Bytes& reply : SendBurst(client, addr, 0, 60)) {
    expected.push_back(reply);
    for (int i = 1; i < 3; ++i) {
      expected.push_back(expected.back());
      expected.back().push_back(static_cast<uint8_t>(i));
    }
  }
  EXPECT_EQ(Sorted(client.Receive(180)), Sorted(expected));
  EXPECT_EQ(listener.sent(), 180u);
  EXPECT_EQ(listener.dropped_send_errors(), 0u);
}

// Answers with `size` bytes taken from the query's first byte: 'B' means larger than a send slot.
class SizedReplyHandler final : public PacketHandler {
 public:
  void HandlePacket(std::span<const uint8_t> packet, const ClientInfo&,
                    ResponseSink& sink) noexcept override {
    const size_t size = packet[0] == 'B' ? 6000 : 100;
    Bytes reply(size, packet[1]);
    sink.Send(reply);
  }
};

TEST_F(UdpListenerTest, DeliversRepliesLargerThanASendSlot) {
  SizedReplyHandler handler;
  UdpListener listener(loop_.get(), handler);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  GrowReceiveBuffer(client);
  // Big and small replies within one batch.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.SendTo(
        addr, {static_cast<uint8_t>(i % 2 == 0 ? 'B' : 's'), static_cast<uint8_t>(i)}));
  }
  auto replies = client.Receive(20);
  ASSERT_EQ(replies.size(), 20u);
  std::vector<int> seen(20, 0);
  for (const Bytes& r : replies) {
    ASSERT_FALSE(r.empty());
    const int i = r[0];
    ASSERT_LT(i, 20);
    EXPECT_EQ(r.size(), i % 2 == 0 ? 6000u : 100u) << "reply " << i;
    EXPECT_EQ(std::count(r.begin(), r.end(), r[0]), static_cast<long>(r.size()));
    ++seen[i];
  }
  EXPECT_EQ(seen, std::vector<int>(20, 1));
  EXPECT_EQ(listener.sent(), 20u);
  EXPECT_EQ(g_calls.sendmsg_calls, 10);  // the big ones, on their own
}

TEST_F(UdpListenerTest, DropsAndCountsDatagramsLargerThanAReceiveSlot) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  ASSERT_TRUE(client.SendTo(addr, Bytes(5000, 0x42)));
  ASSERT_TRUE(client.SendTo(addr, {1, 2, 3}));
  auto replies = client.Receive(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], (Bytes{3, 2, 1}));
  EXPECT_TRUE(client.Receive(1, std::chrono::milliseconds(20)).empty());
  EXPECT_EQ(listener.dropped_truncated(), 1u);
  EXPECT_EQ(listener.received(), 1u);
  EXPECT_EQ(handler_.packets.size(), 1u);
}

TEST_F(UdpListenerTest, QueuesRepliesTheSocketWouldNotTake) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  GrowReceiveBuffer(client);
  g_calls.cap_next_sendmmsg = 5;  // a partial send…
  g_calls.fail_sendmmsg = 1;      // …then the socket buffer is full
  std::vector<Bytes> expected = SendBurst(client, addr, 0, 40);
  EXPECT_EQ(Sorted(client.Receive(40)), Sorted(expected));  // the rest once writable
  EXPECT_EQ(listener.sent(), 40u);
  EXPECT_EQ(listener.dropped_send_errors(), 0u);
  EXPECT_EQ(g_calls.sendmsg_calls, 35);

  // Replies made while others wait queue behind them; all go out once the socket takes them.
  g_calls.fail_all_sends = true;
  expected = SendBurst(client, addr, 100, 5);
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.received() == 45; }));
  auto more = SendBurst(client, addr, 200, 5);
  expected.insert(expected.end(), more.begin(), more.end());
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.received() == 50; }));
  EXPECT_EQ(listener.sent(), 40u);
  g_calls.fail_all_sends = false;
  EXPECT_EQ(Sorted(client.Receive(10)), Sorted(expected));
  EXPECT_EQ(listener.sent(), 50u);
  EXPECT_EQ(listener.dropped_send_errors(), 0u);
}

TEST_F(UdpListenerTest, DropsRepliesBeyondTheQueueLimit) {
  handler_.replies = 20;
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  g_calls.fail_all_sends = true;
  SendBurst(client, addr, 0, 60);  // 1200 replies for a queue of 1024
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.received() == 60; }));
  EXPECT_EQ(listener.dropped_send_errors(), 1200u - 1024u);
  EXPECT_EQ(listener.sent(), 0u);
  g_calls.fail_all_sends = false;
  EXPECT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.sent() == 1024; }));
  EXPECT_EQ(listener.dropped_send_errors(), 1200u - 1024u);
}

TEST_F(UdpListenerTest, StopCancelsQueuedReplies) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  g_calls.fail_all_sends = true;
  SendBurst(client, addr, 0, 5);
  ASSERT_TRUE(testing::RunLoopUntil(loop_.get(), [&] { return listener.received() == 5; }));
  listener.Stop();
  g_calls.fail_all_sends = false;
  EXPECT_EQ(loop_.Run(), 0);  // nothing left polling for writability
  EXPECT_EQ(listener.sent(), 0u);
}

TEST_F(UdpListenerTest, StartReportsAddressInUse) {
  UdpListener first(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(first);
  UdpListener second(loop_.get(), handler_);
  auto st = second.Start(reinterpret_cast<const sockaddr*>(&addr));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "listen udp 127.0.0.1:" + std::to_string(first.LocalPort()) +
                                    ": address already in use");
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(second.LocalPort(), 0);
}

TEST_F(UdpListenerTest, StartRejectsOtherAddressFamilies) {
  UdpListener listener(loop_.get(), handler_);
  sockaddr unspec{};
  unspec.sa_family = AF_UNIX;
  auto st = listener.Start(&unspec);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(listener.LocalPort(), 0);
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

TEST_F(UdpListenerTest, AnswersABurstFromIpv6Peers) {
  if (!test::Ipv6LoopbackWorks()) GTEST_SKIP() << "no IPv6 loopback here";
  UdpListener listener(loop_.get(), handler_);
  sockaddr_storage addr = StartOn(listener, AF_INET6);
  UdpClient a(loop_.get(), AF_INET6);
  UdpClient b(loop_.get(), AF_INET6);
  GrowReceiveBuffer(a);
  std::vector<Bytes> for_a = SendBurst(a, addr, 0, 100);
  std::vector<Bytes> for_b = SendBurst(b, addr, 1000, 20);
  EXPECT_EQ(Sorted(a.Receive(100)), Sorted(for_a));
  EXPECT_EQ(Sorted(b.Receive(20)), Sorted(for_b));
  EXPECT_EQ(g_calls.sendmsg_calls, 0);
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

TEST_F(UdpListenerTest, RestartsAfterStop) {
  UdpListener listener(loop_.get(), handler_);
  StartOn(listener);
  listener.Stop();
  sockaddr_storage addr = StartOn(listener);
  UdpClient client(loop_.get(), AF_INET);
  ASSERT_TRUE(client.SendTo(addr, {4, 5}));
  auto replies = client.Receive(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], (Bytes{5, 4}));
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
    packets.push_back(last_packet);
    all_retained.push_back(sink.Retain());
  }
  std::vector<uint8_t> last_packet;
  std::unique_ptr<ResponseSink> retained;
  std::vector<std::vector<uint8_t>> packets;
  std::vector<std::unique_ptr<ResponseSink>> all_retained;
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

TEST(UdpListenerRetain, RetainedSinksOfABatchAnswerTheirOwnPeersLater) {
  uv::Loop loop;
  ASSERT_TRUE(loop.Init());
  LateHandler handler;
  UdpListener listener(loop.get(), handler);
  sockaddr_storage addr = test::Loopback(AF_INET, 0);
  ASSERT_TRUE(listener.Start(reinterpret_cast<const sockaddr*>(&addr)));
  addr = test::Loopback(AF_INET, listener.LocalPort());
  test::UdpClient first(loop.get(), AF_INET);
  test::UdpClient second(loop.get(), AF_INET);
  for (uint8_t i = 0; i < 50; ++i) ASSERT_TRUE(first.SendTo(addr, {1, i}));
  ASSERT_TRUE(testing::RunLoopUntil(loop.get(), [&] { return handler.packets.size() == 50; }));
  // A second batch reuses the receive slots (and their peer addresses) of the first.
  for (uint8_t i = 0; i < 50; ++i) ASSERT_TRUE(second.SendTo(addr, {2, i}));
  ASSERT_TRUE(testing::RunLoopUntil(loop.get(), [&] { return handler.packets.size() == 100; }));
  for (size_t i = 0; i < 100; ++i) {
    ASSERT_NE(handler.all_retained[i], nullptr);
    handler.all_retained[i]->Send(handler.packets[i]);
  }
  auto to_first = first.Receive(50);
  auto to_second = second.Receive(50);
  ASSERT_EQ(to_first.size(), 50u);
  ASSERT_EQ(to_second.size(), 50u);
  for (const auto& r : to_first) EXPECT_EQ(r[0], 1);
  for (const auto& r : to_second) EXPECT_EQ(r[0], 2);
  EXPECT_EQ(listener.sent(), 100u);
}

}  // namespace
}  // namespace petdns::listener
