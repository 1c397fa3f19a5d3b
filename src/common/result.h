// Result<T> and Status: errors as values for setup and config paths.
//
// The data plane does not use exceptions; config loading returns a Result whose Error
// names what was wrong (a field path, a file and line) so the message can be shown to
// an operator as is. Thread-safety: plain values, same rules as std::variant.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace warden {

struct Error {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error.message)), failed_(true) {}  // NOLINT
  static Status okStatus() { return {}; }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  Error error() const { return Error{error_}; }
  const std::string& message() const { return error_; }

 private:
  std::string error_;
  bool failed_ = false;
};

// Builds an Error from a fmt-style format string.
Error makeError(std::string message);

}  // namespace warden
