// Base64url (RFC 4648 §5, RFC 7515 §2 and Appendix C) and standard base64 (RFC 4648 §4,
// used by JWK x5c, RFC 7517 §4.7): known vectors and the strictness rules of base64url.h.
#include "jose/base64url.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace warden::jose {
namespace {

// RFC 4648 §10 test vectors, padded (standard alphabet; none of them uses '+' or '/').
const std::vector<std::pair<std::string, std::string>> kRfc4648Vectors = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

// RFC 4648 §10.
TEST(Base64Test, Rfc4648VectorsRoundTrip) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    EXPECT_EQ(base64Encode(plain), encoded) << plain;
    const std::optional<std::string> decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

// RFC 4648 §10 again, in the unpadded url-safe form RFC 7515 §2 defines.
TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  for (const auto& [plain, padded] : kRfc4648Vectors) {
    std::string encoded = padded;
    encoded.erase(encoded.find_last_not_of('=') + 1);
    if (padded.empty()) {
      encoded.clear();
    }
    EXPECT_EQ(base64UrlEncode(plain), encoded) << plain;
    const std::optional<std::string> decoded = base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

// RFC 7515 Appendix C: octets 3, 236, 255, 224, 193 encode as "A-z_4ME" (both url-safe
// characters appear).
TEST(Base64UrlTest, Rfc7515AppendixC) {
  const std::string bytes = {'\x03', '\xEC', '\xFF', '\xE0', '\xC1'};
  EXPECT_EQ(base64UrlEncode(bytes), "A-z_4ME");
  EXPECT_EQ(base64UrlDecode("A-z_4ME"), bytes);
  // The same octets in the standard alphabet.
  EXPECT_EQ(base64Encode(bytes), "A+z/4ME=");
  EXPECT_EQ(base64Decode("A+z/4ME="), bytes);
}

// RFC 7515 Appendix A.1.1: the JWS Protected Header with its CRLF and space.
TEST(Base64UrlTest, Rfc7515AppendixA1Header) {
  const std::string header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
  EXPECT_EQ(base64UrlEncode(header), "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
  EXPECT_EQ(base64UrlDecode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"), header);
}

TEST(Base64UrlTest, AllByteValuesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  for (std::size_t len = 0; len <= bytes.size(); len += 1) {
    const std::string part = bytes.substr(0, len);
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(part)), part) << len;
    EXPECT_EQ(base64Decode(base64Encode(part)), part) << len;
  }
}

// RFC 7515 §2: no padding, url-safe alphabet only, no whitespace or line breaks.
TEST(Base64UrlTest, RejectsCharactersOutsideTheAlphabet) {
  for (const char* text : {"Zg==", "Zm8=", "A+z/4ME", "A-z_4ME=", "Zm9v Yg", "Zm9v\nYg",
                           "Zm9vYg\r", " Zm9v", "Zm9v.", "Zm\x80v"}) {
    EXPECT_FALSE(base64UrlDecode(text).has_value()) << text;
  }
  EXPECT_FALSE(base64UrlDecode(std::string("Zm9\0v", 5)).has_value());
}

// A length of 1 mod 4 is 6 bits: not a whole byte, so no encoder produced it.
TEST(Base64UrlTest, RejectsImpossibleLength) {
  EXPECT_FALSE(base64UrlDecode("Z").has_value());
  EXPECT_FALSE(base64UrlDecode("Zm9vY").has_value());
}

// RFC 4648 §3.5: the unused bits of the last character must be zero. "Zg" is "f"; "Zh"
// differs only in those bits and must not decode to "f" as well.
TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  EXPECT_EQ(base64UrlDecode("Zg"), "f");
  EXPECT_FALSE(base64UrlDecode("Zh").has_value());
  EXPECT_FALSE(base64UrlDecode("Zv").has_value());
  EXPECT_EQ(base64UrlDecode("Zm8"), "fo");
  EXPECT_FALSE(base64UrlDecode("Zm9").has_value());
  EXPECT_FALSE(base64UrlDecode("A-z_4MF").has_value());
}

TEST(Base64Test, RejectsMalformedPadding) {
  for (const char* text : {"Zg", "Zg=", "Zg===", "Z===", "====", "Zm8==", "Zm=8", "=Zm8",
                           "Zm9v====", "Zh==", "Zm9=", "A-z_4ME=", "Zm9v Yg==", "Zm9v\nYg=="}) {
    EXPECT_FALSE(base64Decode(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace warden::jose
