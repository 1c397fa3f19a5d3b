// The port of a URL's authority, read strictly: 1 to 5 decimal digits naming 1..65535.
//
// Boost.URL accepts any run of digits as a port and port_number() does not refuse one
// that overflows 16 bits ("https://h:99999" parses), so every place that accepts an
// issuer or endpoint URL reads the number here instead.
// Thread-safety: pure function.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace warden {

inline std::optional<std::uint16_t> parseUrlPort(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace warden
