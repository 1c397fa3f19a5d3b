// Small readers shared by the SET verifier and the event parser (internal to ssf).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace warden::ssf::detail {

// RFC 7519 §2 NumericDate: an integer or a (possibly fractional) number of seconds.
// nullopt for any other type and for values far outside int64 (a double cast out of range
// is undefined behaviour, so it is refused rather than converted).
std::optional<std::int64_t> numericDate(const nlohmann::json& value);

// Attacker text (iss, kid, typ, an event type) headed for a description or a log:
// printable ASCII without quotes, truncated.
std::string printable(std::string_view text);

// ASCII lower-case.
std::string lower(std::string_view text);

}  // namespace warden::ssf::detail
