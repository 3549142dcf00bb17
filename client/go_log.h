// Output in the format of Go's standard `log` package, which the original peer-finder used and
// whose lines users grep: "YYYY/MM/DD HH:MM:SS message" in local time, a newline appended only
// when the message lacks one, continuation lines without a timestamp. Single-threaded.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "client/clock.h"

namespace petdns::client {

class GoLogger {
 public:
  using Sink = std::function<void(std::string_view)>;

  // `sink` receives each complete entry (one write per log call); `clock` gives the timestamp.
  GoLogger(Clock& clock, Sink sink) : clock_(clock), sink_(std::move(sink)) {}

  void Print(std::string_view message);

  // One entry as Go's log.Print writes it at time `t` (local time zone).
  static std::string Format(std::chrono::system_clock::time_point t, std::string_view message);

 private:
  Clock& clock_;
  Sink sink_;
};

// Go's "%v" of a []string: "[a b c]", "[]" when empty.
std::string GoList(const std::vector<std::string>& items);

// Joins items with a separator (Go's strings.Join).
std::string Join(const std::vector<std::string>& items, std::string_view separator);

}  // namespace petdns::client
