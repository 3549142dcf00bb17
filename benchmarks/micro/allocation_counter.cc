#include "benchmarks/micro/allocation_counter.h"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace petdns::micro {
namespace {

std::atomic<uint64_t> allocations{0};
std::atomic<int> traces_left{0};

void* Allocate(std::size_t size, std::size_t alignment) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (traces_left.load(std::memory_order_relaxed) > 0 &&
      traces_left.fetch_sub(1, std::memory_order_relaxed) > 0) {
    // backtrace and backtrace_symbols_fd do not allocate once libgcc is loaded (done when the
    // trace is armed), so this does not recurse.
    void* frames[32];
    int n = ::backtrace(frames, 32);
    char header[64];
    int len = std::snprintf(header, sizeof(header), "allocation of %zu bytes:\n", size);
    (void)!::write(STDERR_FILENO, header, static_cast<size_t>(len));
    ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  }
  if (size == 0) size = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  void* p = nullptr;
  return ::posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
}

void* AllocateOrThrow(std::size_t size, std::size_t alignment) {
  void* p = Allocate(size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

uint64_t AllocationCount() noexcept { return allocations.load(std::memory_order_relaxed); }

ScopedAllocationTrace::ScopedAllocationTrace(int max_traces) {
  void* frame[1];
  (void)::backtrace(frame, 1);  // loads libgcc's unwinder now, not inside operator new
  traces_left.store(max_traces, std::memory_order_relaxed);
}

ScopedAllocationTrace::~ScopedAllocationTrace() { traces_left.store(0, std::memory_order_relaxed); }

}  // namespace petdns::micro

// The replaceable global allocation functions ([new.delete]); all deallocation goes to free().
using petdns::micro::Allocate;
using petdns::micro::AllocateOrThrow;
namespace {
constexpr std::size_t kDefault = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
}  // namespace

void* operator new(std::size_t size) { return AllocateOrThrow(size, kDefault); }
void* operator new[](std::size_t size) { return AllocateOrThrow(size, kDefault); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return Allocate(size, kDefault);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return Allocate(size, kDefault);
}
void* operator new(std::size_t size, std::align_val_t align) {
  return AllocateOrThrow(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return AllocateOrThrow(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return Allocate(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return Allocate(size, static_cast<std::size_t>(align));
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
