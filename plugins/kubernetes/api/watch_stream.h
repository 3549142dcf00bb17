// Incremental decoder for a JSON watch response body: a stream of {"type":…,"object":…} values,
// normally one per line, split across reads in any way (one event over several chunks, several
// events in one chunk). Any thread, one instance per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "plugins/kubernetes/api/stream_text.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes::api {

enum class WatchEventKind : uint8_t { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view WatchEventKindName(WatchEventKind kind) noexcept;  // "ADDED", …

struct WatchEvent {
  WatchEventKind kind = WatchEventKind::kAdded;
  nlohmann::json object;  // the object; a metav1.Status for kError
};

class WatchStreamParser {
 public:
  // Returns false to stop: the rest of the chunk is dropped and the parser must not be fed again.
  using EventFn = std::function<bool(WatchEvent&& event)>;

  explicit WatchStreamParser(size_t max_event_bytes = 64u << 20) : max_event_(max_event_bytes) {}

  // Decodes every event completed by `chunk`, in order. Returns an error (kParse) for bytes that
  // are not a JSON object, an object without a known "type" or an object "object", or an event
  // over the size limit; events before the bad one were already delivered.
  [[nodiscard]] Status Feed(std::string_view chunk, const EventFn& on_event);
  // At end of stream: an error if an event was cut short.
  [[nodiscard]] Status Finish() const;
  // Bytes held for an incomplete event.
  size_t buffered() const noexcept { return buffer_.size(); }

 private:
  std::string buffer_;  // from the start of the incomplete value (or empty)
  size_t scan_ = 0;     // next byte of buffer_ to scan
  size_t max_event_;
  int depth_ = 0;      // 0: between values
  JsonString string_;  // inside a string literal of the input
};

// Decodes one complete event value.
[[nodiscard]] Result<WatchEvent> DecodeWatchEvent(std::string_view text);

}  // namespace petdns::plugins::kubernetes::api
