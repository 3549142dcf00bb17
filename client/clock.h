// Time for the peer-finder client: wall time for log timestamps, a monotonic clock for deadlines
// and the sleep between polls. Injected so unit tests drive the poll loop without sleeping.
// Single-threaded (peer-finder runs on the main thread only).
#pragma once

#include <chrono>
#include <thread>

namespace petdns::client {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point WallNow() = 0;
  virtual std::chrono::steady_clock::time_point MonotonicNow() = 0;
  virtual void Sleep(std::chrono::nanoseconds duration) = 0;
};

// The real clocks; Sleep blocks the calling thread.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point MonotonicNow() override {
    return std::chrono::steady_clock::now();
  }
  void Sleep(std::chrono::nanoseconds duration) override {
    if (duration > std::chrono::nanoseconds::zero()) std::this_thread::sleep_for(duration);
  }
};

}  // namespace petdns::client
