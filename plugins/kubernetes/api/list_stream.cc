#include "plugins/kubernetes/api/list_stream.h"

#include <utility>

#include "plugins/kubernetes/api/stream_text.h"

namespace petdns::plugins::kubernetes::api {
Status ListStreamParser::Fail(std::string message) {
  failed_ = true;
  return MakeError(ErrorCode::kParse, std::move(message));
}

Status ListStreamParser::Emit(const ItemFn& on_item) {
  nlohmann::json item = nlohmann::json::parse(item_, nullptr, /*allow_exceptions=*/false);
  if (item.is_discarded()) {
    return Fail("invalid JSON in list item " + std::to_string(items_) + ": " + Excerpt(item_));
  }
  item_.clear();
  ++items_;
  on_item(std::move(item));
  return {};
}

Status ListStreamParser::Feed(std::string_view chunk, const ItemFn& on_item) {
  if (failed_) return MakeError(ErrorCode::kParse, "the list response was already rejected");
  size_t item_from = 0;  // where the element being received starts in `chunk` (kItem)
  for (size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    switch (phase_) {
      case Phase::kBefore:
        if (IsJsonSpace(c)) continue;
        if (c != '{') return Fail("not a JSON object: " + Excerpt(chunk.substr(i)));
        envelope_.push_back(c);
        depth_ = 1;
        phase_ = Phase::kEnvelope;
        continue;

      case Phase::kAfter:
        if (IsJsonSpace(c)) continue;
        return Fail("data after the JSON object: " + Excerpt(chunk.substr(i)));

      case Phase::kItems:  // depth_ == 2, between elements
        if (IsJsonSpace(c) || c == ',') continue;
        if (c == ']') {
          depth_ = 1;
          envelope_.push_back(']');
          phase_ = Phase::kEnvelope;
          continue;
        }
        phase_ = Phase::kItem;
        item_from = i;
        if (c == '{' || c == '[') {
          ++depth_;
        } else if (c == '"') {
          string_.Open();
        }
        continue;

      case Phase::kItem: {
        bool done = false;
        bool delimiter = false;  // c ends a bare scalar and belongs to the list
        if (string_.inside) {
          done = string_.Step(c) && depth_ == 2;  // a string element
        } else if (c == '"') {
          string_.Open();
        } else if (c == '{' || c == '[') {
          ++depth_;
        } else if (c == '}' || c == ']') {
          if (depth_ == 2) {
            done = delimiter = true;
          } else {
            done = --depth_ == 2;
          }
        } else if (depth_ == 2 && (c == ',' || IsJsonSpace(c))) {
          done = delimiter = true;
        }
        if (!done) continue;
        const size_t end = delimiter ? i : i + 1;
        item_.append(chunk.substr(item_from, end - item_from));
        if (Status st = Emit(on_item); !st) return st;
        phase_ = Phase::kItems;
        if (delimiter) --i;
        continue;
      }

      case Phase::kEnvelope:
        envelope_.push_back(c);
        if (string_.inside) {
          if (string_.Step(c)) {
            items_key_ = depth_ == 1 && std::string_view(envelope_).substr(string_start_) ==
                                            std::string_view("\"items\"");
          }
          continue;
        }
        if (IsJsonSpace(c)) continue;
        if (c == '"') {
          string_.Open();
          string_start_ = envelope_.size() - 1;
          continue;
        }
        if (depth_ == 1 && c == ':') {
          items_value_ = std::exchange(items_key_, false);
          continue;
        }
        if (depth_ == 1 && c == '[' && items_value_) {
          items_value_ = false;
          depth_ = 2;
          phase_ = Phase::kItems;
          continue;
        }
        items_key_ = items_value_ = false;
        if (c == '{' || c == '[') {
          ++depth_;
        } else if ((c == '}' || c == ']') && --depth_ == 0) {
          phase_ = Phase::kAfter;
        }
        continue;
    }
  }
  if (phase_ == Phase::kItem) item_.append(chunk.substr(item_from));
  if (item_.size() > max_item_ || envelope_.size() > max_item_) {
    return Fail("list item larger than " + std::to_string(max_item_) + " bytes");
  }
  return {};
}

Result<nlohmann::json> ListStreamParser::Finish() const {
  if (failed_) return MakeError(ErrorCode::kParse, "the list response was rejected");
  if (phase_ != Phase::kAfter || depth_ != 0) {
    return MakeError(ErrorCode::kParse, phase_ == Phase::kBefore
                                            ? std::string("empty response")
                                            : "the response ended inside the JSON object");
  }
  nlohmann::json envelope = nlohmann::json::parse(envelope_, nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    return MakeError(ErrorCode::kParse, "invalid JSON: " + Excerpt(envelope_));
  }
  return envelope;
}

}  // namespace petdns::plugins::kubernetes::api
