// The dispatcher's process-wide counters: petdns_malformed_queries_total{reason} (input answered
// with FORMERR or dropped) and petdns_rrl_{dropped,slipped}_total (response rate limiting). One
// object per process, shared by every listen address's Dispatcher. The counting methods run on
// worker loops and only add to prometheus counters (atomics, no lock); the series are registered
// once at construction, on the main thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/listener/packet_handler.h"
#include "server/wire/request.h"

namespace petdns::dispatch {

enum class InputReason : uint8_t {
  kShortHeader,
  kResponse,
  kQuestionCount,
  kBadQuestion,
  kBadRecord,
  kBadOpt,
  kEmptyDatagram,
  kUdpOversize,
  kTcpZeroLength,
  kTcpReadTimeout,
  kTcpStalled,
  kCount,  // not a reason: the number of them
};

// The `reason` label value.
std::string_view InputReasonName(InputReason reason) noexcept;
InputReason ReasonOf(wire::Malformed malformed) noexcept;
InputReason ReasonOf(listener::DroppedInput dropped) noexcept;

class DispatchMetrics {
 public:
  explicit DispatchMetrics(prometheus::Registry& registry);
  DispatchMetrics(const DispatchMetrics&) = delete;
  DispatchMetrics& operator=(const DispatchMetrics&) = delete;

  void Count(InputReason reason) noexcept { counters_[static_cast<size_t>(reason)]->Increment(); }
  double Value(InputReason reason) const noexcept {
    return counters_[static_cast<size_t>(reason)]->Value();
  }
  void CountRrlDropped() noexcept { rrl_dropped_->Increment(); }
  void CountRrlSlipped() noexcept { rrl_slipped_->Increment(); }

 private:
  std::array<prometheus::Counter*, static_cast<size_t>(InputReason::kCount)> counters_{};
  prometheus::Counter* rrl_dropped_ = nullptr;
  prometheus::Counter* rrl_slipped_ = nullptr;
};

}  // namespace petdns::dispatch
