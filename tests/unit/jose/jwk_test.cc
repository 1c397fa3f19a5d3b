// JWK tests: EC (RFC 7518 §6.2) and RSA (RFC 7518 §6.3) public keys to and from JWK
// members, the rejection rules of jwk.h, and the RFC 7638 thumbprint.
#include "jose/jwk.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "jose/base64url.h"

namespace warden::jose {
namespace {

using nlohmann::json;

// RFC 7638 §3.1: the example RSA key and its thumbprint.
const json kRfc7638Key = {
    {"kty", "RSA"},
    {"n",
     "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
     "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
     "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
     "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
    {"e", "AQAB"},
    {"alg", "RS256"},
    {"kid", "2011-04-29"},
};
constexpr const char* kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 7515 Appendix A.3.1: the ES256 example key (public part).
const json kRfc7515EcKey = {
    {"kty", "EC"},
    {"crv", "P-256"},
    {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
    {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
};

PkeyPtr ecKey(const char* curve) { return PkeyPtr(EVP_EC_gen(curve)); }

const PkeyPtr& rsa2048() {
  static const PkeyPtr key(EVP_RSA_gen(2048));
  return key;
}

struct CurveCase {
  const char* openssl_curve;
  const char* crv;
  std::size_t coordinate_b64_chars;  // 32/48/66 bytes → 43/64/88 characters
};

// Keeps the discovered test names stable (gtest would otherwise print raw bytes).
void PrintTo(const CurveCase& c, std::ostream* os) { *os << c.crv; }

class EcRoundTripTest : public ::testing::TestWithParam<CurveCase> {};

// RFC 7518 §6.2.1: crv, x, y with full-width coordinates; reading them back gives the key.
TEST_P(EcRoundTripTest, WriteThenReadGivesTheSameKey) {
  const CurveCase& c = GetParam();
  PkeyPtr key = ecKey(c.openssl_curve);
  ASSERT_NE(key, nullptr);
  json jwk = json::object();
  ASSERT_TRUE(writePublicJwk(key.get(), jwk).ok());
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], c.crv);
  EXPECT_EQ(jwk["x"].get<std::string>().size(), c.coordinate_b64_chars);
  EXPECT_EQ(jwk["y"].get<std::string>().size(), c.coordinate_b64_chars);
  EXPECT_FALSE(jwk.contains("d"));  // a private key still writes only public members
  Result<PkeyPtr> read = readPublicJwk(jwk);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(EVP_PKEY_eq(key.get(), read->get()), 1);
  Result<std::string> t1 = jwkThumbprint(key.get());
  Result<std::string> t2 = jwkThumbprint(read->get());
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(*t1, *t2);
  EXPECT_EQ(t1->size(), 43u);
}

INSTANTIATE_TEST_SUITE_P(Curves, EcRoundTripTest,
                         ::testing::Values(CurveCase{"P-256", "P-256", 43},
                                           CurveCase{"P-384", "P-384", 64},
                                           CurveCase{"P-521", "P-521", 88}),
                         [](const ::testing::TestParamInfo<CurveCase>& param_info) {
                           std::string name = param_info.param.crv;
                           name.erase(name.find('-'), 1);  // gtest names are [A-Za-z0-9_]
                           return name;
                         });

// RFC 7518 §6.3.1: n and e as unsigned big-endian; e = 65537 is "AQAB".
TEST(JwkTest, RsaRoundTrip) {
  ASSERT_NE(rsa2048(), nullptr);
  json jwk = json::object();
  ASSERT_TRUE(writePublicJwk(rsa2048().get(), jwk).ok());
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(jwk["n"].get<std::string>().size(), 342u);  // 256 bytes, minimal (RFC 7518 §2)
  EXPECT_FALSE(jwk.contains("d"));
  Result<PkeyPtr> read = readPublicJwk(jwk);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(EVP_PKEY_eq(rsa2048().get(), read->get()), 1);
}

// RFC 7638 §3.1: the published thumbprint of the example key. Optional members (alg, kid)
// do not take part (§3.2).
TEST(JwkTest, Rfc7638ThumbprintExample) {
  Result<PkeyPtr> key = readPublicJwk(kRfc7638Key);
  ASSERT_TRUE(key.ok()) << key.error().message;
  Result<std::string> thumbprint = jwkThumbprint(key->get());
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.error().message;
  EXPECT_EQ(*thumbprint, kRfc7638Thumbprint);
  // And writing it back gives the same members.
  json out = json::object();
  ASSERT_TRUE(writePublicJwk(key->get(), out).ok());
  EXPECT_EQ(out["n"], kRfc7638Key["n"]);
  EXPECT_EQ(out["e"], "AQAB");
}

// RFC 7515 Appendix A.3.1: a published P-256 key reads and writes back unchanged.
TEST(JwkTest, Rfc7515EcKeyReadsAndWritesBack) {
  Result<PkeyPtr> key = readPublicJwk(kRfc7515EcKey);
  ASSERT_TRUE(key.ok()) << key.error().message;
  json out = json::object();
  ASSERT_TRUE(writePublicJwk(key->get(), out).ok());
  EXPECT_EQ(out, kRfc7515EcKey);
}

// RFC 7517 §4 / identity-standards §7.7: a public JWK never carries private members.
TEST(JwkTest, RejectsPrivateMembers) {
  json jwk = kRfc7515EcKey;
  jwk["d"] = "jpsQnnGQmL-YBIffH1136cLSG4vU-1E8oTRN_5-dizbU";
  Result<PkeyPtr> key = readPublicJwk(jwk);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("\"d\""), std::string::npos) << key.error().message;
  json rsa = kRfc7638Key;
  rsa["p"] = "AQAB";
  EXPECT_FALSE(readPublicJwk(rsa).ok());
}

// RFC 7517 §4.1: kty values other than EC and RSA are not ours to read.
TEST(JwkTest, RejectsUnknownKeyTypes) {
  EXPECT_FALSE(readPublicJwk(json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}).ok());
  EXPECT_FALSE(readPublicJwk(json{{"kty", "oct"}, {"k", "AAAA"}}).ok());
  EXPECT_FALSE(readPublicJwk(json{{"kty", "ec"}}).ok());  // case-sensitive
  EXPECT_FALSE(readPublicJwk(json{{"crv", "P-256"}}).ok());
  EXPECT_FALSE(readPublicJwk(json{{"kty", 1}}).ok());
  EXPECT_FALSE(readPublicJwk(json::array()).ok());
}

// RFC 7518 §6.2.1.1: P-256, P-384, P-521 only.
TEST(JwkTest, RejectsUnknownCurves) {
  for (const char* crv : {"P-192", "secp256k1", "prime256v1", "p-256", "Ed25519"}) {
    json jwk = kRfc7515EcKey;
    jwk["crv"] = crv;
    EXPECT_FALSE(readPublicJwk(jwk).ok()) << crv;
  }
}

// RFC 7518 §6.2.1.2: x and y are exactly the field width, including leading zeros.
TEST(JwkTest, RejectsWrongCoordinateLength) {
  json jwk = kRfc7515EcKey;
  const std::string x = *base64UrlDecode(jwk["x"].get<std::string>());
  jwk["x"] = base64UrlEncode(x.substr(1));
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  jwk["x"] = base64UrlEncode(std::string(1, '\0') + x);
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  // P-256 coordinates under a P-384 name.
  jwk = kRfc7515EcKey;
  jwk["crv"] = "P-384";
  EXPECT_FALSE(readPublicJwk(jwk).ok());
}

// RFC 8725 §3.4 (invalid-curve attacks): a point off the curve is refused.
TEST(JwkTest, RejectsPointNotOnCurve) {
  json jwk = kRfc7515EcKey;
  std::string y = *base64UrlDecode(jwk["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 0x01);
  jwk["y"] = base64UrlEncode(y);
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  // The all-zero "point" is not on P-256 either.
  jwk["x"] = base64UrlEncode(std::string(32, '\0'));
  jwk["y"] = base64UrlEncode(std::string(32, '\0'));
  EXPECT_FALSE(readPublicJwk(jwk).ok());
}

// RFC 7518 §6.2.1 / §6.3.1: the key members are required base64url strings.
TEST(JwkTest, RejectsMissingOrMalformedMembers) {
  json jwk = kRfc7515EcKey;
  jwk.erase("y");
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  jwk = kRfc7515EcKey;
  jwk["x"] = 12;
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  jwk = kRfc7515EcKey;
  jwk["x"] = jwk["x"].get<std::string>() + "=";  // padding is not base64url
  EXPECT_FALSE(readPublicJwk(jwk).ok());
  json rsa = kRfc7638Key;
  rsa.erase("e");
  EXPECT_FALSE(readPublicJwk(rsa).ok());
  rsa = kRfc7638Key;
  rsa["e"] = "";
  EXPECT_FALSE(readPublicJwk(rsa).ok());
}

// RFC 7518 §3.3 / §3.5: RSA keys under 2048 bits are not allowed.
TEST(JwkTest, RejectsShortRsaModulus) {
  PkeyPtr small(EVP_RSA_gen(1024));
  ASSERT_NE(small, nullptr);
  json jwk = json::object();
  ASSERT_TRUE(writePublicJwk(small.get(), jwk).ok());  // writing is not a policy decision
  Result<PkeyPtr> read = readPublicJwk(jwk);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("2048"), std::string::npos) << read.error().message;
}

// An even exponent is not an RSA public key (OpenSSL's public check).
TEST(JwkTest, RejectsInvalidRsaExponent) {
  json rsa = kRfc7638Key;
  rsa["e"] = base64UrlEncode(std::string("\x01\x00\x00", 3));
  EXPECT_FALSE(readPublicJwk(rsa).ok());
}

// RFC 7518 §6.2.1.1: a fresh key is a P-256 JWK, and two keys have different RFC 7638
// thumbprints.
TEST(JwkTest, GenerateP256Key) {
  PkeyPtr key = generateP256Key();
  ASSERT_NE(key, nullptr);
  json jwk = json::object();
  ASSERT_TRUE(writePublicJwk(key.get(), jwk).ok());
  EXPECT_EQ(jwk["crv"], "P-256");
  PkeyPtr other = generateP256Key();
  ASSERT_NE(other, nullptr);
  EXPECT_NE(*jwkThumbprint(key.get()), *jwkThumbprint(other.get()));
}

// RFC 7518 §3.3: RSA signing keys are at least 2048 bits; a fresh one is an RSA JWK with
// e = 65537 (AQAB) that reads back, and smaller sizes are refused.
TEST(JwkTest, GenerateRsaKey) {
  PkeyPtr key = generateRsaKey(2048);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
  json jwk = json::object();
  ASSERT_TRUE(writePublicJwk(key.get(), jwk).ok());
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_TRUE(readPublicJwk(jwk).ok());
  EXPECT_TRUE(jwkThumbprint(key.get()).ok());
  EXPECT_EQ(generateRsaKey(1024), nullptr);
}

// RFC 8037 keys (Ed25519) are outside what this module writes (identity-standards §7.7).
TEST(JwkTest, WriteRejectsUnsupportedKeys) {
  PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(ed, nullptr);
  json jwk = json::object();
  EXPECT_FALSE(writePublicJwk(ed.get(), jwk).ok());
  EXPECT_FALSE(jwkThumbprint(ed.get()).ok());
  EXPECT_FALSE(writePublicJwk(nullptr, jwk).ok());
  json not_object = json::array();
  EXPECT_FALSE(writePublicJwk(generateP256Key().get(), not_object).ok());
}

}  // namespace
}  // namespace warden::jose
