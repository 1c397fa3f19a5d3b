#include "ssf/claim_reading.h"

#include <cmath>
#include <limits>

namespace warden::ssf::detail {

std::optional<std::int64_t> numericDate(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_unsigned()) {
    const auto unsigned_value = value.get<std::uint64_t>();
    if (unsigned_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(unsigned_value);
  }
  if (value.is_number_float()) {
    const double seconds = value.get<double>();
    constexpr double kLimit = 4.0e18;
    if (!std::isfinite(seconds) || seconds > kLimit || seconds < -kLimit) return std::nullopt;
    return static_cast<std::int64_t>(seconds);
  }
  return std::nullopt;
}

std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (const char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7F && c != '"') ? c : '?';
  if (text.size() > kMax) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace warden::ssf::detail
