// The query path allocates nothing in steady state (CONVENTIONS.md §3): the gen_cluster_zone.py
// mix goes through the Dispatcher and the file or kubernetes plugin after a warm-up pass, and
// operator new is not called once. Not timed; the numbers live in query_path_benchmark.cc.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <ostream>

#include "benchmarks/micro/allocation_counter.h"
#include "benchmarks/micro/cluster_workload.h"

namespace petdns::micro {

// Names the parameter in test listings (ctest shows "GetParam() = file", not a byte dump).
void PrintTo(QueryPath::Backend backend, std::ostream* os) { *os << BackendName(backend); }

namespace {

using Backend = QueryPath::Backend;

// Zone building is the slow part (more so under ASan): once per backend for the whole binary.
// Null (and a failure recorded) when it cannot be built.
QueryPath* Path(Backend backend) {
  static std::map<Backend, std::unique_ptr<QueryPath>> paths;
  auto& slot = paths[backend];
  if (slot == nullptr) {
    auto made = QueryPath::Make(backend, ClusterShape{});
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    if (made) slot = std::move(*made);
  }
  return slot.get();
}

class QueryPathTest : public ::testing::TestWithParam<Backend> {
 protected:
  // Steady-state allocations over `queries`, run once to warm up and once counted. When there
  // are some, a third pass prints where they happen.
  uint64_t AllocationsAfterWarmUp(QueryPath& path, const QuerySet& queries) {
    uint64_t probe = AllocationCount();
    ::operator delete(::operator new(16));  // a call, not a new-expression: cannot be elided
    EXPECT_EQ(AllocationCount(), probe + 1) << "operator new is not the counting one";
    for (size_t i = 0; i < queries.size(); ++i) path.Handle(queries.packet(i));
    uint64_t before = AllocationCount();
    for (size_t i = 0; i < queries.size(); ++i) path.Handle(queries.packet(i));
    uint64_t allocations = AllocationCount() - before;
    if (allocations != 0) {
      ScopedAllocationTrace trace(5);
      for (size_t i = 0; i < queries.size(); ++i) path.Handle(queries.packet(i));
    }
    return allocations;
  }
};

TEST_P(QueryPathTest, AnswersEveryKindOfTheMix) {
  QueryPath* path = Path(GetParam());
  ASSERT_NE(path, nullptr);
  struct Expected {
    QueryKind kind;
    uint8_t rcode;
    uint16_t ancount;
    uint16_t arcount;  // SRV: the targets' addresses
  };
  const std::vector<Expected> cases = {{QueryKind::kPetA, 0, 1, 0},
                                       {QueryKind::kHeadlessA, 0, 3, 0},
                                       {QueryKind::kSrv, 0, 3, 3},
                                       {QueryKind::kClusterIpA, 0, 1, 0},
                                       {QueryKind::kNxDomain, 3, 0, 0}};
  for (const Expected& e : cases) {
    SCOPED_TRACE(std::string(KindName(e.kind)));
    QueryOptions options;
    options.count = 64;
    options.only = e.kind;
    QuerySet queries = MakeQueries(ClusterShape{}, options);
    for (size_t i = 0; i < queries.size(); ++i) {
      uint64_t sent = path->sink().messages;
      path->Handle(queries.packet(i));
      ASSERT_EQ(path->sink().messages, sent + 1);
      EXPECT_EQ(path->sink().last_rcode, e.rcode);
      EXPECT_EQ(path->sink().last_ancount, e.ancount);
      EXPECT_EQ(path->sink().last_arcount, e.arcount);
    }
  }
}

TEST_P(QueryPathTest, MixAllocatesNothingAfterWarmUp) {
  QueryOptions options;
  options.count = 8192;
  QuerySet queries = MakeQueries(ClusterShape{}, options);
  QueryPath* path = Path(GetParam());
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(AllocationsAfterWarmUp(*path, queries), 0u)
      << "stacks of the first allocations are on stderr";
}

TEST_P(QueryPathTest, EdnsMixAllocatesNothingAfterWarmUp) {
  QueryOptions options;
  options.count = 8192;
  options.edns = true;
  QuerySet queries = MakeQueries(ClusterShape{}, options);
  QueryPath* path = Path(GetParam());
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(AllocationsAfterWarmUp(*path, queries), 0u)
      << "stacks of the first allocations are on stderr";
}

// Lower-case prefix so that `ctest -R allocation` selects this binary's tests.
INSTANTIATE_TEST_SUITE_P(allocation, QueryPathTest,
                         ::testing::Values(Backend::kFile, Backend::kKubernetes),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param == Backend::kFile ? "File" : "Kubernetes";
                         });

}  // namespace
}  // namespace petdns::micro
