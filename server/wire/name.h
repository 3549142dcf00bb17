// Domain names in uncompressed wire form (length-prefixed labels ending in the root label),
// held in std::string_view / std::string. Lookup keys are lower-cased wire names. Reading a name
// out of a message (with compression pointers) is bounds- and loop-checked. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "server/common/error.h"
#include "server/wire/dns.h"

namespace petdns::wire {

// A name read from a message, without allocation.
struct NameBuffer {
  std::array<char, kMaxNameLength> bytes;
  uint8_t length = 0;  // total wire length, including the root label
  std::string_view view() const noexcept { return {bytes.data(), length}; }
};

// Reads the (possibly compressed) name at `offset` in `message` into `out`. On success `offset`
// moves past the name as it sits at that position. Rejects pointer loops, pointers that do not
// point strictly backwards, labels over 63 bytes, names over 255 bytes, reserved label types and
// truncation. Never reads out of bounds.
[[nodiscard]] bool ReadName(std::span<const uint8_t> message, size_t& offset,
                            NameBuffer& out) noexcept;

// Lower-cases ASCII letters of a wire name in place (label length bytes are < 64, never letters).
void LowerNameInPlace(std::span<char> name) noexcept;
std::string LowerName(std::string_view name);

// Case-insensitive equality of two wire names.
bool NamesEqual(std::string_view a, std::string_view b) noexcept;

// True when `name` equals `zone` or lies below it. Both must be lower-cased wire names.
bool IsSubdomain(std::string_view name, std::string_view zone) noexcept;

// Number of labels, not counting the root ("www.example.org." → 3).
int LabelCount(std::string_view name) noexcept;

// The name with its first `n` labels removed ("a.b.c." minus 1 → "b.c.").
std::string_view StripLabels(std::string_view name, int n) noexcept;

// Presentation form ↔ wire form. FromText accepts absolute names ("example.org.") and names
// relative to `origin` when it does not end in a dot; "\." and "\DDD" escapes are honoured.
[[nodiscard]] Result<std::string> NameFromText(std::string_view text, std::string_view origin = {});
std::string NameToText(std::string_view wire);

// The root name in wire form.
inline constexpr std::string_view kRootName{"\0", 1};

}  // namespace petdns::wire
