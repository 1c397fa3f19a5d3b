#include "common/json_escape.h"

#include <cstdint>
#include <cstring>

namespace warden {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid (RFC 3629 §4).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

// True for the bytes that are copied as they are: printable ASCII except '"' and '\\'.
constexpr bool isPlain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Whether any of the eight bytes in `w` is not plain (SWAR: the "has a byte less than n"
// and "has a zero byte" tests, exact for n <= 128; a byte >= 0x80 sets its own high bit).
constexpr bool anyNotPlain(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  const std::uint64_t control = (w - kOnes * 0x20) & ~w;
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  return ((control | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | w) &
          kHighs) != 0;
}

// The length of the plain prefix of `value`: eight bytes per step while all are plain.
std::size_t plainPrefix(std::string_view value) {
  std::size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, value.data() + i, 8);
    if (anyNotPlain(w)) break;
  }
  while (i < value.size() && isPlain(static_cast<unsigned char>(value[i]))) ++i;
  return i;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Audit lines are almost all plain ASCII (IDs, paths, claims): a value that needs no
  // escaping is found eight bytes a step and copied with its quotes in one append.
  std::size_t i = plainPrefix(value);
  if (i == value.size()) {
    const std::size_t at = out.size();
    out.resize(at + value.size() + 2);
    char* p = out.data() + at;
    p[0] = '"';
    std::memcpy(p + 1, value.data(), value.size());
    p[value.size() + 1] = '"';
    return;
  }
  out.push_back('"');
  out.append(value.data(), i);
  while (i < value.size()) {
    const std::size_t run = i + plainPrefix(value.substr(i));
    if (run > i) {
      out.append(value.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8SequenceLength(value, i);
      if (len == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        // Only control characters get here (plain bytes were copied above).
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out.push_back('"');
}

}  // namespace warden
