#include "jose/base64url.h"

#include <array>
#include <cstdint>

namespace warden::jose {
namespace {

constexpr char kStdAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t kInvalid = 0xFF;

// Reverse table built from the alphabet, so that the two alphabets can never disagree
// with their decoders: every byte outside the 64 characters (including '=', whitespace,
// NUL and the other alphabet's two characters) maps to kInvalid.
constexpr std::array<std::uint8_t, 256> reverseTable(const char (&alphabet)[65]) {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = kInvalid;
  }
  for (std::uint8_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = i;
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kStdReverse = reverseTable(kStdAlphabet);
constexpr std::array<std::uint8_t, 256> kUrlReverse = reverseTable(kUrlAlphabet);

std::string encode(std::string_view bytes, const char (&alphabet)[65], bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    out.push_back(alphabet[(v >> 6) & 0x3F]);
    out.push_back(alphabet[v & 0x3F]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    if (pad) {
      out.append("==");
    }
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    out.push_back(alphabet[(v >> 6) & 0x3F]);
    if (pad) {
      out.push_back('=');
    }
  }
  return out;
}

// Decodes unpadded text. Only one encoding of any byte string is accepted: a length of
// 1 mod 4 cannot come from an encoder, and the bits of the last character that fall past
// the final byte must be zero (RFC 4648 §3.5), otherwise two different tokens would carry
// the same bytes, which breaks anything that compares or caches encoded values.
std::optional<std::string> decodeUnpadded(std::string_view text,
                                          const std::array<std::uint8_t, 256>& reverse) {
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::uint8_t v = reverse[static_cast<unsigned char>(c)];
    if (v == kInvalid) {
      return std::nullopt;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // 0, 2 or 4 leftover bits: they must all be zero.
  if ((acc & ((1U << bits) - 1U)) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string base64UrlEncode(std::string_view bytes) { return encode(bytes, kUrlAlphabet, false); }

std::optional<std::string> base64UrlDecode(std::string_view text) {
  return decodeUnpadded(text, kUrlReverse);
}

std::string base64Encode(std::string_view bytes) { return encode(bytes, kStdAlphabet, true); }

std::optional<std::string> base64Decode(std::string_view text) {
  // Padded form only: the length is a multiple of 4 and at most two '=' close it.
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  // A third '=' (or one elsewhere) is left in the body and rejected as outside the alphabet.
  return decodeUnpadded(text.substr(0, text.size() - padding), kStdReverse);
}

}  // namespace warden::jose
