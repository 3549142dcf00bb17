// Incremental decoder for the body of a list response ({"kind":…,"metadata":{…},"items":[…]}):
// each element of the top-level "items" array is parsed and handed out as soon as its last byte
// arrives, so a list of 10,000 objects is never held whole, neither as text nor as a JSON DOM;
// memory is one item plus the envelope (kind, metadata). Any thread, one instance per response.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "plugins/kubernetes/api/stream_text.h"
#include "server/common/error.h"

namespace petdns::plugins::kubernetes::api {

class ListStreamParser {
 public:
  using ItemFn = std::function<void(nlohmann::json&& item)>;

  explicit ListStreamParser(size_t max_item_bytes = 64u << 20) : max_item_(max_item_bytes) {}

  // Hands `on_item` every item completed by `chunk`, in order. An error (kParse) for a body that
  // is not one JSON object, an item that is not valid JSON, or an item (or envelope) over the
  // size limit; items before the bad one were already handed out. Do not feed it again after an
  // error. The bytes between items are checked only loosely: the items are what matters.
  [[nodiscard]] Status Feed(std::string_view chunk, const ItemFn& on_item);
  // At the end of the body: the envelope, with "items" emptied to [], or an error when the body
  // was cut short or was not JSON.
  [[nodiscard]] Result<nlohmann::json> Finish() const;
  // Items handed out so far.
  size_t items() const noexcept { return items_; }

 private:
  enum class Phase : uint8_t {
    kBefore,    // nothing but whitespace yet
    kEnvelope,  // in the top-level object, outside "items"
    kItems,     // in the "items" array, between elements
    kItem,      // in an element
    kAfter,     // the top-level object is complete
  };

  [[nodiscard]] Status Emit(const ItemFn& on_item);
  [[nodiscard]] Status Fail(std::string message);

  size_t max_item_;
  Phase phase_ = Phase::kBefore;
  bool failed_ = false;
  std::string envelope_;  // the top-level object without the items
  std::string item_;      // the element being received
  size_t items_ = 0;
  int depth_ = 0;             // brackets open around the current byte, outside strings
  JsonString string_;         // inside a string literal of the input
  size_t string_start_ = 0;   // where the current envelope string began (its quote)
  bool items_key_ = false;    // the last envelope token was the key "items"
  bool items_value_ = false;  // ... followed by ':': a '[' now opens the items
};

}  // namespace petdns::plugins::kubernetes::api
