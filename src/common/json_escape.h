// Minimal JSON string escaping for hand-built JSON lines on hot paths (audit, denials),
// where building an nlohmann::json DOM per request would allocate a tree.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden {

// Appends `value` as a quoted JSON string to `out` (RFC 8259 §7); bytes >= 0x80 that are
// not valid UTF-8 are replaced with U+FFFD so the line always parses.
void appendJsonString(std::string& out, std::string_view value);

// The most bytes writeJsonString can produce for `value`: quotes, and six bytes per input
// byte (a control character's \u00XX, or \ufffd for a byte that is not UTF-8).
constexpr std::size_t maxJsonStringSize(std::string_view value) { return value.size() * 6 + 2; }

// The same escaping into a raw buffer with room for maxJsonStringSize(value) bytes;
// returns the end of what it wrote. For writers that size a whole line once.
char* writeJsonString(char* out, std::string_view value);

}  // namespace warden
