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

}  // namespace

char* writeJsonString(char* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto put = [&out](std::string_view bytes) {
    std::memcpy(out, bytes.data(), bytes.size());
    out += bytes.size();
  };
  *out++ = '"';
  const char* const begin = value.data();
  const char* const end = begin + value.size();
  for (const char* p = begin; p != end;) {
    // Audit values are almost all plain ASCII (IDs, paths, claims): eight plain bytes are
    // checked and stored as one word.
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (!anyNotPlain(w)) {
        std::memcpy(out, &w, 8);
        out += 8;
        p += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(*p);
    if (isPlain(c)) {
      *out++ = *p++;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = utf8SequenceLength(value, static_cast<std::size_t>(p - begin));
      if (len == 0) {
        put("\\ufffd");
        ++p;
      } else {
        put(std::string_view(p, len));
        p += len;
      }
      continue;
    }
    switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default:
        // Only control characters get here.
        put("\\u00");
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 0xF];
    }
    ++p;
  }
  *out++ = '"';
  return out;
}

void appendJsonString(std::string& out, std::string_view value) {
  const std::size_t at = out.size();
  out.resize(at + maxJsonStringSize(value));
  char* const end = writeJsonString(out.data() + at, value);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace warden
