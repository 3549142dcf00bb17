// Fuzz target: the framing of Kubernetes API response bodies. The input is fed as a watch stream
// (WatchStreamParser) and as a list body (ListStreamParser), once whole and once in small chunks
// of varying size; where both feeds succeed they must deliver the same events and items. Decoded
// watch events and list items go through the object decoders too. Input: a response body.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/api/list_stream.h"
#include "plugins/kubernetes/api/watch_stream.h"
#include "plugins/kubernetes/objects.h"

namespace {

using namespace petdns::plugins::kubernetes;  // NOLINT: a test program

// Small limits, so the size checks run too.
constexpr size_t kMaxBytes = 4096;
constexpr size_t kChunkSizes[] = {1, 7, 2, 64, 3, 513};

// The input in pieces: whole (`chunked` false) or in kChunkSizes-sized chunks.
std::vector<std::string_view> Pieces(std::string_view text, bool chunked) {
  if (!chunked) return {text};
  std::vector<std::string_view> out;
  for (size_t at = 0, i = 0; at < text.size(); ++i) {
    size_t n = std::min(kChunkSizes[i % std::size(kChunkSizes)], text.size() - at);
    out.push_back(text.substr(at, n));
    at += n;
  }
  return out;
}

struct Outcome {
  bool ok = true;
  std::vector<std::string> seen;  // one line per event or item
};

void DecodeAll(const nlohmann::json& object) {
  (void)DecodeService(object);
  (void)DecodeEndpointSlice(object);
  (void)DecodePod(object);
  (void)DecodeNamespace(object);
}

Outcome Watch(std::string_view text, bool chunked) {
  Outcome out;
  api::WatchStreamParser parser(kMaxBytes);
  auto on_event = [&](api::WatchEvent&& event) {
    out.seen.push_back(std::string(api::WatchEventKindName(event.kind)) + " " +
                       event.object.dump());
    if (event.kind != api::WatchEventKind::kError) DecodeAll(event.object);
    return true;
  };
  for (std::string_view piece : Pieces(text, chunked)) {
    if (!parser.Feed(piece, on_event)) {
      out.ok = false;
      return out;
    }
  }
  out.ok = parser.Finish().has_value();
  return out;
}

Outcome List(std::string_view text, bool chunked) {
  Outcome out;
  api::ListStreamParser parser(kMaxBytes);
  auto on_item = [&](nlohmann::json&& item) {
    out.seen.push_back(item.dump());
    DecodeAll(item);
  };
  for (std::string_view piece : Pieces(text, chunked)) {
    if (!parser.Feed(piece, on_item)) {
      out.ok = false;
      return out;
    }
  }
  auto envelope = parser.Finish();
  out.ok = envelope.has_value();
  if (out.ok) out.seen.push_back("envelope " + envelope->dump());
  return out;
}

void ExpectSame(const char* what, const Outcome& whole, const Outcome& chunked) {
  if (!whole.ok || !chunked.ok || whole.seen == chunked.seen) return;
  std::fprintf(stderr, "watch_stream_fuzz: %s: %zu results whole, %zu in chunks\n", what,
               whole.seen.size(), chunked.seen.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ExpectSame("watch", Watch(text, false), Watch(text, true));
  ExpectSame("list", List(text, false), List(text, true));
  (void)api::DecodeWatchEvent(text);
  return 0;
}
