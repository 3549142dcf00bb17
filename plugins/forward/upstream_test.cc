#include "plugins/forward/upstream.h"

#include <gtest/gtest.h>

#include <set>

namespace petdns::plugins::forward {
namespace {

UpstreamSet MakeSet(size_t n, Policy policy, uint32_t max_fails = 2) {
  std::vector<Upstream> upstreams;
  for (size_t i = 0; i < n; ++i) upstreams.emplace_back(sockaddr_storage{}, std::to_string(i));
  return UpstreamSet(std::move(upstreams), policy, max_fails, 42);
}

std::vector<int> Indices(const Order& order) {
  return std::vector<int>(order.index.begin(), order.index.begin() + order.size);
}

TEST(UpstreamSet, SequentialKeepsTheConfiguredOrder) {
  auto set = MakeSet(3, Policy::kSequential);
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 1, 2}));
}

TEST(UpstreamSet, RoundRobinRotatesByOnePerQuery) {
  auto set = MakeSet(3, Policy::kRoundRobin);
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 1, 2}));
}

TEST(UpstreamSet, RandomIsAPermutationAndVaries) {
  auto set = MakeSet(4, Policy::kRandom);
  std::set<int> firsts;
  for (int i = 0; i < 100; ++i) {
    auto order = Indices(set.Select());
    EXPECT_EQ(std::set<int>(order.begin(), order.end()), (std::set<int>{0, 1, 2, 3}));
    firsts.insert(order.front());
  }
  EXPECT_EQ(firsts.size(), 4u);
}

TEST(UpstreamSet, SkipsDownUpstreamsAndUsesAllWhenAllAreDown) {
  auto set = MakeSet(3, Policy::kSequential, 2);
  set[1].RecordFailure();
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 1, 2}));  // one failure: still up
  set[1].RecordFailure();
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{0, 2}));
  for (size_t i : {0u, 2u}) {
    set[i].RecordFailure();
    set[i].RecordFailure();
  }
  Order all = set.Select();
  EXPECT_TRUE(all.all_down);
  EXPECT_EQ(all.size, 3u);
  set[1].RecordSuccess();
  EXPECT_EQ(Indices(set.Select()), (std::vector<int>{1}));
}

TEST(UpstreamSet, MaxFailsZeroNeverMarksDown) {
  auto set = MakeSet(1, Policy::kSequential, 0);
  for (int i = 0; i < 10; ++i) set[0].RecordFailure();
  EXPECT_FALSE(set.Down(0));
}

}  // namespace
}  // namespace petdns::plugins::forward
