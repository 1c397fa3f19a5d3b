// The store's errors: a kind the API layer maps to an HTTP status, and a message for humans.
//
// warden::Result carries only a message; the store's callers must tell a stale ETag (412)
// from a missing object (404) without parsing text, so store methods return StoreResult,
// which has the same shape as Result plus StoreError::kind.
//
//   kind        meaning                                            suggested HTTP status
//   kNotFound   the named agent/document/version does not exist    404
//   kConflict   a precondition failed: stale expected revision or  412
//               version, or "must not exist yet" and it does
//   kInvalid    the input is malformed (name, tag, kind, limits)   400
//   kExists     creating something whose key is taken              409
//   kInternal   SQLite or I/O failure; the transaction was rolled  500
//               back, nothing changed
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/result.h"

namespace warden::controlplane {

enum class StoreErrorKind : std::uint8_t { kNotFound, kConflict, kInvalid, kExists, kInternal };

inline std::string_view storeErrorKindName(StoreErrorKind kind) {
  switch (kind) {
    case StoreErrorKind::kNotFound: return "not_found";
    case StoreErrorKind::kConflict: return "conflict";
    case StoreErrorKind::kInvalid: return "invalid";
    case StoreErrorKind::kExists: return "exists";
    case StoreErrorKind::kInternal: return "internal";
  }
  return "internal";
}

struct StoreError {
  StoreErrorKind kind = StoreErrorKind::kInternal;
  std::string message;

  static StoreError notFound(std::string m) { return {StoreErrorKind::kNotFound, std::move(m)}; }
  static StoreError conflict(std::string m) { return {StoreErrorKind::kConflict, std::move(m)}; }
  static StoreError invalid(std::string m) { return {StoreErrorKind::kInvalid, std::move(m)}; }
  static StoreError exists(std::string m) { return {StoreErrorKind::kExists, std::move(m)}; }
  static StoreError internal(std::string m) { return {StoreErrorKind::kInternal, std::move(m)}; }
  // A SQLite/I/O failure reported by the sqlite wrapper.
  static StoreError internal(const Error& e) { return {StoreErrorKind::kInternal, e.message}; }
};

template <class T>
class [[nodiscard]] StoreResult {
 public:
  StoreResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  StoreResult(StoreError error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const StoreError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, StoreError> state_;
};

// For methods with nothing to return.
struct Done {};
using StoreStatus = StoreResult<Done>;

}  // namespace warden::controlplane
