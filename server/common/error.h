// Error values for the control plane and for fallible data-path helpers.
// tl::expected is not packaged in Debian 12, so Result<T> is a small expected-like type with the
// same spelling (value(), error(), has_value(), operator bool, operator*, ->) so it can become
// std::expected later. Thread-safe as any value type.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace petdns {

enum class ErrorCode { kInvalidArgument, kNotFound, kParse, kIo, kUnavailable, kInternal };

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is "context: message", for errors that cross a module.
  Error WithContext(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

// Wraps an Error so that `return Unexpected(err);` reads like tl::unexpected.
struct Unexpected {
  explicit Unexpected(Error e) : error(std::move(e)) {}
  Unexpected(ErrorCode code, std::string message) : error{code, std::move(message)} {}
  Error error;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit like expected
  Result(Unexpected u) : state_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT
  Result(Error e) : state_(std::in_place_index<1>, std::move(e)) {}             // NOLINT

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT
  Result(Error e) : error_(std::move(e)), ok_(false) {}             // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Unexpected MakeError(ErrorCode code, std::string message) {
  return Unexpected(code, std::move(message));
}

}  // namespace petdns
