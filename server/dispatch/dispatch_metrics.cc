#include "server/dispatch/dispatch_metrics.h"

namespace petdns::dispatch {

std::string_view InputReasonName(InputReason reason) noexcept {
  switch (reason) {
    case InputReason::kShortHeader:
      return "short_header";
    case InputReason::kResponse:
      return "response";
    case InputReason::kQuestionCount:
      return "question_count";
    case InputReason::kBadQuestion:
      return "bad_question";
    case InputReason::kBadRecord:
      return "bad_record";
    case InputReason::kBadOpt:
      return "bad_opt";
    case InputReason::kEmptyDatagram:
      return "empty_datagram";
    case InputReason::kUdpOversize:
      return "udp_oversize";
    case InputReason::kTcpZeroLength:
      return "tcp_zero_length";
    case InputReason::kTcpReadTimeout:
      return "tcp_read_timeout";
    case InputReason::kTcpStalled:
      return "tcp_stalled";
    case InputReason::kCount:
      break;
  }
  return "other";
}

InputReason ReasonOf(wire::Malformed malformed) noexcept {
  switch (malformed) {
    case wire::Malformed::kShortHeader:
      return InputReason::kShortHeader;
    case wire::Malformed::kResponse:
      return InputReason::kResponse;
    case wire::Malformed::kQuestionCount:
      return InputReason::kQuestionCount;
    case wire::Malformed::kBadRecord:
      return InputReason::kBadRecord;
    case wire::Malformed::kBadOpt:
      return InputReason::kBadOpt;
    case wire::Malformed::kBadQuestion:
    case wire::Malformed::kNone:
      break;
  }
  return InputReason::kBadQuestion;
}

InputReason ReasonOf(listener::DroppedInput dropped) noexcept {
  switch (dropped) {
    case listener::DroppedInput::kEmptyDatagram:
      return InputReason::kEmptyDatagram;
    case listener::DroppedInput::kUdpOversize:
      return InputReason::kUdpOversize;
    case listener::DroppedInput::kTcpZeroLength:
      return InputReason::kTcpZeroLength;
    case listener::DroppedInput::kTcpReadTimeout:
      return InputReason::kTcpReadTimeout;
    case listener::DroppedInput::kTcpStalled:
      break;
  }
  return InputReason::kTcpStalled;
}

DispatchMetrics::DispatchMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("petdns_malformed_queries_total")
                     .Help("Input answered with FORMERR or dropped, by reason.")
                     .Register(registry);
  // Every series exists from the start, so a rate() over a quiet reason reads 0, not nothing.
  for (size_t i = 0; i < counters_.size(); ++i) {
    const auto reason = static_cast<InputReason>(i);
    counters_[i] = &family.Add({{"reason", std::string(InputReasonName(reason))}});
  }
  rrl_dropped_ = &prometheus::BuildCounter()
                      .Name("petdns_rrl_dropped_total")
                      .Help("UDP answers dropped by response rate limiting.")
                      .Register(registry)
                      .Add({});
  rrl_slipped_ = &prometheus::BuildCounter()
                      .Name("petdns_rrl_slipped_total")
                      .Help("UDP answers rate limited and sent truncated (TC=1) instead.")
                      .Register(registry)
                      .Add({});
}

}  // namespace petdns::dispatch
