// Strict percent-decoding (RFC 3986 §2.1) of one URL component or form field, shared by
// every place that reads a query, a form body or a path segment. Unlike the WHATWG parser,
// a '%' not followed by two hex digits is an error, not a literal '%'. What the decoded
// bytes may contain (UTF-8, controls, '/') is each caller's own rule.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/hex.h"

namespace warden {

enum class PlusSign { kLiteral, kSpace };  // kSpace: application/x-www-form-urlencoded

// nullopt when an escape is truncated or not hex.
inline std::optional<std::string> percentDecode(std::string_view in, PlusSign plus) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hexDigitValue(in[i + 1]);
      const int lo = hexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c == '+' && plus == PlusSign::kSpace ? ' ' : c);
    }
  }
  return out;
}

}  // namespace warden
