// One HTTP header line as the sidecar writes it for the app: "Name: value\r\n".
//
// Values come from verified sources (the peer's certificate, a verified token's claims),
// but a header must never carry CR, LF or other control characters whatever their
// origin: those are dropped. Checking is a scan; only a value that needs cleaning is
// copied byte by byte.
// Thread-safety: pure function.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace warden {

inline void appendHeaderLine(std::string& out, std::string_view name, std::string_view value) {
  const auto is_control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
  out.append(name).append(": ");
  if (std::none_of(value.begin(), value.end(), is_control)) {
    out.append(value);
  } else {
    for (char c : value) {
      if (!is_control(c)) out.push_back(c);
    }
  }
  out.append("\r\n");
}

}  // namespace warden
