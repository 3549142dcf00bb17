// Counts heap allocations made through operator new (every form: plain, array, nothrow, aligned)
// by replacing the global allocation functions. Linking allocation_counter.cc into an executable
// replaces them for the whole process; the count is process-wide (an atomic), so measure on a
// quiet thread. malloc() called directly (C libraries) is not counted.
#pragma once

#include <cstdint>

namespace petdns::micro {

// Allocations through operator new since the process started.
uint64_t AllocationCount() noexcept;

// While alive, every allocation prints its stack (backtrace_symbols_fd, to stderr), at most
// `max_traces` of them: which function allocates in a loop that should not. Not nestable.
class ScopedAllocationTrace {
 public:
  explicit ScopedAllocationTrace(int max_traces);
  ~ScopedAllocationTrace();
  ScopedAllocationTrace(const ScopedAllocationTrace&) = delete;
  ScopedAllocationTrace& operator=(const ScopedAllocationTrace&) = delete;
};

}  // namespace petdns::micro
