// appendJsonString (common/json_escape.h): RFC 8259 §7 string escaping for the hand-built
// JSON lines of the audit trail and the denial bodies. The eight-bytes-a-step scan is
// checked against a byte-at-a-time reference on every position and on random input.
#include "common/json_escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace warden {
namespace {

std::string escaped(std::string_view value) {
  std::string out;
  appendJsonString(out, value);
  return out;
}

// The obvious byte-at-a-time escaping, for input without bytes >= 0x80.
std::string reference(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

TEST(JsonEscape, PlainTextOfAnyLengthIsCopiedBetweenQuotes) {
  const std::string text = "spiffe://example.org/ns/default/sa/budget-report?x=1&y=~";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    EXPECT_EQ(escaped(text.substr(0, n)), "\"" + text.substr(0, n) + "\"") << n;
  }
}

TEST(JsonEscape, AppendsToWhatIsAlreadyThere) {
  std::string out = "{\"a\":";
  appendJsonString(out, "b");
  EXPECT_EQ(out, "{\"a\":\"b\"");
}

// RFC 8259 §7: quotation mark, reverse solidus and the control characters U+0000..U+001F
// must be escaped; each is tried at every position of strings up to 24 bytes, so the
// eight-byte steps meet it at every offset within a word and in the tail.
TEST(JsonEscape, EverySpecialByteIsEscapedAtEveryPosition) {
  std::string specials = "\"\\\x7f";
  for (int c = 0; c < 0x20; ++c) specials.push_back(static_cast<char>(c));
  for (const char special : specials) {
    for (std::size_t len = 1; len <= 24; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string value(len, 'a');
        value[at] = special;
        ASSERT_EQ(escaped(value), reference(value))
            << "byte " << static_cast<int>(special) << " at " << at << " of " << len;
      }
    }
  }
}

TEST(JsonEscape, ShortEscapesAndUnicodeEscapesAreTheStandardOnes) {
  EXPECT_EQ(escaped("a\"b\\c\nd\re\tf"), R"("a\"b\\c\nd\re\tf")");
  EXPECT_EQ(escaped(std::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(escaped("\x7f"), "\"\x7f\"");  // DEL is not a JSON control character
}

TEST(JsonEscape, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92\"");
  // RFC 3629 §4: a lone continuation byte, an overlong form, a surrogate, a truncation.
  EXPECT_EQ(escaped("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(escaped("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(escaped("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(escaped("abcdefgh\xe2\x82"), R"("abcdefgh\ufffd\ufffd")");
}

TEST(JsonEscape, RandomAsciiMatchesTheReferenceAndParsesBack) {
  std::mt19937 rng(20261208);
  std::uniform_int_distribution<int> byte(0, 0x7f), len(0, 70);
  for (int round = 0; round < 3000; ++round) {
    std::string value(static_cast<std::size_t>(len(rng)), ' ');
    for (char& c : value) {
      // Mostly plain text, like real audit values, with specials sprinkled in.
      c = static_cast<char>(rng() % 8 == 0 ? byte(rng) : 'a' + static_cast<int>(rng() % 26));
    }
    const std::string out = escaped(value);
    ASSERT_EQ(out, reference(value)) << "round " << round;
    ASSERT_EQ(nlohmann::json::parse(out).get<std::string>(), value) << "round " << round;
  }
}

}  // namespace
}  // namespace warden
