// Google Benchmark micro-benchmarks of the query path: wire packet → Dispatcher (parse, route) →
// file or kubernetes plugin (lookup) → MessageWriter (build) → a sink that only counts bytes.
// One query per iteration, cycling through 65,536 pre-built packets of one kind or of the
// gen_cluster_zone.py mix. Counters: allocs_per_query (operator new calls after a warm-up pass
// over every packet; should be 0) and bytes_per_reply.
//
//   petdns_micro_bench [benchmark flags]        the benchmarks (BM_FileQuery/mix, ...)
//   petdns_micro_bench --instructions=file/mix --queries=N
//       builds and warms up, then answers N queries in RunMeasuredQueries and exits: for
//       callgrind.sh, which counts instructions inside that function only.
//   petdns_micro_bench --trace_allocations=file/mix
//       prints the stack of the first allocations made after warm-up (empty output: none).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchmarks/micro/allocation_counter.h"
#include "benchmarks/micro/cluster_workload.h"

namespace petdns::micro {

// Not static and not inlined, so callgrind's --toggle-collect can find it by name.
[[gnu::noinline]] void RunMeasuredQueries(QueryPath& path, const QuerySet& queries, size_t n) {
  size_t i = 0;
  for (size_t done = 0; done < n; ++done) {
    path.Handle(queries.packet(i));
    if (++i == queries.size()) i = 0;
  }
}

namespace {

using Backend = QueryPath::Backend;

constexpr size_t kQueriesPerSet = 65536;

// A benchmark case: the full mix (with or without EDNS) or a single kind.
struct Case {
  std::string name;
  QueryOptions options;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  QueryOptions mix;
  mix.count = kQueriesPerSet;
  cases.push_back({"mix", mix});
  QueryOptions edns = mix;
  edns.edns = true;
  cases.push_back({"mix_edns", edns});
  for (QueryKind kind : kAllKinds) {
    QueryOptions only = mix;
    only.only = kind;
    cases.push_back({std::string(KindName(kind)), only});
  }
  return cases;
}

// Built on first use and kept for the whole run: zone loading is control-plane work.
QueryPath* Path(Backend backend) {
  static std::map<Backend, std::unique_ptr<QueryPath>> paths;
  auto& slot = paths[backend];
  if (slot == nullptr) {
    auto made = QueryPath::Make(backend, ClusterShape{});
    if (!made) {
      std::fprintf(stderr, "%s: %s\n", std::string(BackendName(backend)).c_str(),
                   made.error().message.c_str());
      return nullptr;
    }
    slot = std::move(*made);
  }
  return slot.get();
}

const QuerySet& Queries(const Case& c) {
  static std::map<std::string, QuerySet> sets;
  auto it = sets.find(c.name);
  if (it == sets.end()) it = sets.emplace(c.name, MakeQueries(ClusterShape{}, c.options)).first;
  return it->second;
}

void WarmUp(QueryPath& path, const QuerySet& queries) {
  for (size_t i = 0; i < queries.size(); ++i) path.Handle(queries.packet(i));
}

void BM_Query(benchmark::State& state, Backend backend, const Case& c) {
  QueryPath* path = Path(backend);
  if (path == nullptr) {
    state.SkipWithError("could not build the query path");
    return;
  }
  const QuerySet& queries = Queries(c);
  WarmUp(*path, queries);
  CountingSink& sink = path->sink();
  uint64_t messages = sink.messages, bytes = sink.bytes;
  uint64_t allocations = AllocationCount();
  size_t i = 0;
  for (auto _ : state) {
    path->Handle(queries.packet(i));
    if (++i == queries.size()) i = 0;
  }
  allocations = AllocationCount() - allocations;
  messages = sink.messages - messages;
  bytes = sink.bytes - bytes;
  auto iterations = static_cast<double>(state.iterations());
  if (messages != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("a query got no reply or several");
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_query"] = static_cast<double>(allocations) / iterations;
  state.counters["bytes_per_reply"] =
      messages == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(messages);
}

// "file/mix" → the backend and case; false if unknown.
bool ParseTarget(std::string_view target, Backend& backend, Case& c) {
  size_t slash = target.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view b = target.substr(0, slash), name = target.substr(slash + 1);
  if (b == "file") {
    backend = Backend::kFile;
  } else if (b == "kubernetes") {
    backend = Backend::kKubernetes;
  } else {
    return false;
  }
  for (Case& candidate : Cases()) {
    if (candidate.name == name) {
      c = std::move(candidate);
      return true;
    }
  }
  return false;
}

// --instructions / --trace_allocations: no Google Benchmark involved.
int RunOnce(std::string_view target, size_t n, bool trace) {
  Backend backend;
  Case c;
  if (!ParseTarget(target, backend, c)) {
    std::fprintf(stderr, "unknown target '%.*s' (file|kubernetes)/(mix|mix_edns|pet_a|...)\n",
                 static_cast<int>(target.size()), target.data());
    return 2;
  }
  QueryPath* path = Path(backend);
  if (path == nullptr) return 1;
  const QuerySet& queries = Queries(c);
  WarmUp(*path, queries);
  uint64_t before = AllocationCount();
  if (trace) {
    ScopedAllocationTrace scope(10);
    RunMeasuredQueries(*path, queries, n);
  } else {
    RunMeasuredQueries(*path, queries, n);
  }
  std::printf("%s: %zu queries, %llu allocations\n", std::string(target).c_str(), n,
              static_cast<unsigned long long>(AllocationCount() - before));
  return 0;
}

}  // namespace
}  // namespace petdns::micro

int main(int argc, char** argv) {
  using namespace petdns::micro;  // NOLINT: main only
  std::string_view instructions, trace;
  size_t queries = 100000;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--instructions=")) {
      instructions = arg.substr(15);
    } else if (arg.starts_with("--trace_allocations=")) {
      trace = arg.substr(20);
    } else if (arg.starts_with("--queries=")) {
      queries = std::strtoull(argv[i] + 10, nullptr, 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!instructions.empty()) return RunOnce(instructions, queries, false);
  if (!trace.empty()) return RunOnce(trace, queries, true);

  static const std::vector<Case> cases = Cases();
  for (Backend backend : {Backend::kFile, Backend::kKubernetes}) {
    std::string prefix = backend == Backend::kFile ? "BM_FileQuery/" : "BM_KubernetesQuery/";
    for (const Case& c : cases) {
      benchmark::RegisterBenchmark(
          (prefix + c.name).c_str(),
          [backend, &c](benchmark::State& state) { BM_Query(state, backend, c); });
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
