// Minimal JSON string escaping for hand-built JSON lines on hot paths (audit, denials),
// where building an nlohmann::json DOM per request would allocate a tree.
#pragma once

#include <string>
#include <string_view>

namespace warden {

// Appends `value` as a quoted JSON string to `out` (RFC 8259 §7); bytes >= 0x80 that are
// not valid UTF-8 are replaced with U+FFFD so the line always parses.
void appendJsonString(std::string& out, std::string_view value);

}  // namespace warden
