#include "plugins/kubernetes/api/watch_stream.h"

#include <utility>

#include "plugins/kubernetes/api/stream_text.h"

namespace petdns::plugins::kubernetes::api {
std::string_view WatchEventKindName(WatchEventKind kind) noexcept {
  switch (kind) {
    case WatchEventKind::kAdded:
      return "ADDED";
    case WatchEventKind::kModified:
      return "MODIFIED";
    case WatchEventKind::kDeleted:
      return "DELETED";
    case WatchEventKind::kBookmark:
      return "BOOKMARK";
    case WatchEventKind::kError:
      return "ERROR";
  }
  return "?";
}

Result<WatchEvent> DecodeWatchEvent(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return MakeError(ErrorCode::kParse, "invalid JSON in watch event: " + Excerpt(text));
  }
  if (!j.is_object()) return MakeError(ErrorCode::kParse, "watch event is not an object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return MakeError(ErrorCode::kParse, "watch event without a \"type\": " + Excerpt(text));
  }
  WatchEvent ev;
  const auto& t = type->get_ref<const std::string&>();
  if (t == "ADDED") {
    ev.kind = WatchEventKind::kAdded;
  } else if (t == "MODIFIED") {
    ev.kind = WatchEventKind::kModified;
  } else if (t == "DELETED") {
    ev.kind = WatchEventKind::kDeleted;
  } else if (t == "BOOKMARK") {
    ev.kind = WatchEventKind::kBookmark;
  } else if (t == "ERROR") {
    ev.kind = WatchEventKind::kError;
  } else {
    return MakeError(ErrorCode::kParse, "unknown watch event type \"" + Excerpt(t) + "\"");
  }
  auto object = j.find("object");
  if (object == j.end() || !object->is_object()) {
    return MakeError(ErrorCode::kParse, "watch event " + t + " without an object");
  }
  ev.object = std::move(*object);
  return ev;
}

Status WatchStreamParser::Feed(std::string_view chunk, const EventFn& on_event) {
  buffer_.append(chunk);
  size_t start = 0;  // start of the current value (or of unscanned bytes between values)
  size_t i = scan_;
  Status result;
  for (; i < buffer_.size(); ++i) {
    const char c = buffer_[i];
    if (depth_ == 0) {
      if (IsJsonSpace(c)) {
        start = i + 1;
        continue;
      }
      if (c != '{') {
        result = MakeError(ErrorCode::kParse, "garbage in watch stream: " +
                                                  Excerpt(std::string_view(buffer_).substr(i)));
        break;
      }
      start = i;
      depth_ = 1;
      continue;
    }
    if (string_.inside) {
      string_.Step(c);
      continue;
    }
    if (c == '"') {
      string_.Open();
    } else if (c == '\n') {
      // The API server writes each event as compact JSON plus "\n" (strings escape their line
      // breaks), so a line break inside a value means the value was cut short: a broken line
      // must not swallow the events after it while its braces never balance.
      result = MakeError(ErrorCode::kParse,
                         "watch event cut short at the end of its line: " +
                             Excerpt(std::string_view(buffer_).substr(start, i - start)));
      break;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
      auto ev = DecodeWatchEvent(std::string_view(buffer_).substr(start, i + 1 - start));
      start = i + 1;
      if (!ev) {
        result = std::move(ev).error();
        break;
      }
      if (!on_event(std::move(*ev))) {
        buffer_.clear();
        scan_ = 0;
        return {};
      }
    }
  }
  if (!result) {
    buffer_.clear();
    scan_ = 0;
    depth_ = 0;
    string_ = {};
    return result;
  }
  // Keep only the incomplete value.
  buffer_.erase(0, start);
  scan_ = buffer_.size();
  if (buffer_.size() > max_event_) {
    return MakeError(ErrorCode::kParse,
                     "watch event larger than " + std::to_string(max_event_) + " bytes");
  }
  return {};
}

Status WatchStreamParser::Finish() const {
  if (depth_ != 0) {
    return MakeError(ErrorCode::kParse, "watch stream ended inside an event (" +
                                            std::to_string(buffer_.size()) + " bytes)");
  }
  return {};
}

}  // namespace petdns::plugins::kubernetes::api
