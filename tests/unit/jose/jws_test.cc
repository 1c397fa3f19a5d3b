// Compact JWS tests: RFC 7515 (serialization), RFC 7518 §3 (algorithms) and the RFC 8725
// rules, with the rejection cases of identity-standards §10.3 (J2, J14, J15) named where
// they apply.
#include "jose/jws.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <ostream>
#include <string>
#include <tuple>

#include "jose/base64url.h"
#include "jose/jwk.h"

namespace warden::jose {
namespace {

using nlohmann::json;

// RFC 7515 Appendix A.3: ES256 example key (public part) and the JWS it produced.
const json kRfc7515EcKey = {
    {"kty", "EC"},
    {"crv", "P-256"},
    {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
    {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
};
constexpr const char* kRfc7515A3Token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

const json kPayload = {{"sub", "spiffe://example.org/workload"}, {"aud", "reports"},
                       {"exp", 1300819380}};

const PkeyPtr& rsaKey() {
  static const PkeyPtr key(EVP_RSA_gen(2048));
  return key;
}
const PkeyPtr& p256Key() {
  static const PkeyPtr key(EVP_EC_gen("P-256"));
  return key;
}
const PkeyPtr& p384Key() {
  static const PkeyPtr key(EVP_EC_gen("P-384"));
  return key;
}
const PkeyPtr& p521Key() {
  static const PkeyPtr key(EVP_EC_gen("P-521"));
  return key;
}

std::string b64(const std::string& text) { return base64UrlEncode(text); }

// A token from literal header/payload texts and signature bytes, for malformed inputs
// signCompact would never produce.
std::string rawToken(const std::string& header, const std::string& payload,
                     const std::string& signature = std::string(64, 'x')) {
  return b64(header) + "." + b64(payload) + "." + b64(signature);
}

std::string goodEs256Token() {
  Result<std::string> token = signCompact(json{{"kid", "k1"}}, kPayload, Alg::kES256,
                                          p256Key().get());
  EXPECT_TRUE(token.ok()) << token.error().message;
  return token.ok() ? *token : std::string();
}

Status parseAndVerify(const std::string& token, Alg alg, EVP_PKEY* key) {
  Result<CompactJws> jws = parseCompact(token);
  if (!jws.ok()) {
    return jws.error();
  }
  return verify(*jws, alg, key);
}

struct RoundTripCase {
  Alg alg;
  const PkeyPtr& (*key)();
};
void PrintTo(const RoundTripCase& c, std::ostream* os) { *os << algName(c.alg); }

class SignVerifyTest : public ::testing::TestWithParam<RoundTripCase> {};

// RFC 7515 §5.1/§5.2 and RFC 7518 §3.3-3.5: what we sign, we verify, and the header and
// payload come back as signed.
TEST_P(SignVerifyTest, RoundTrip) {
  const RoundTripCase& c = GetParam();
  EVP_PKEY* key = c.key().get();
  ASSERT_NE(key, nullptr);
  Result<std::string> token = signCompact(json{{"kid", "k1"}, {"typ", "JWT"}}, kPayload,
                                          c.alg, key);
  ASSERT_TRUE(token.ok()) << token.error().message;
  Result<CompactJws> jws = parseCompact(*token);
  ASSERT_TRUE(jws.ok()) << jws.error().message;
  EXPECT_EQ(jws->header["alg"], std::string(algName(c.alg)));
  EXPECT_EQ(jws->header["kid"], "k1");
  EXPECT_EQ(jws->payload, kPayload);
  EXPECT_EQ(jws->signing_input, token->substr(0, token->rfind('.')));
  Status verified = verify(*jws, c.alg, key);
  EXPECT_TRUE(verified.ok()) << verified.message();
}

INSTANTIATE_TEST_SUITE_P(
    Algs, SignVerifyTest,
    ::testing::Values(RoundTripCase{Alg::kES256, &p256Key}, RoundTripCase{Alg::kES384, &p384Key},
                      RoundTripCase{Alg::kES512, &p521Key}, RoundTripCase{Alg::kRS256, &rsaKey},
                      RoundTripCase{Alg::kRS512, &rsaKey}, RoundTripCase{Alg::kPS256, &rsaKey},
                      RoundTripCase{Alg::kPS384, &rsaKey}),
    [](const ::testing::TestParamInfo<RoundTripCase>& param_info) {
      return std::string(algName(param_info.param.alg));
    });

// RFC 7518 §3.4: ES* signatures are raw r||s, 64/96/132 bytes.
TEST(JwsTest, EcdsaSignaturesAreRawFixedWidth) {
  for (const auto& [alg, key, width] :
       {std::tuple{Alg::kES256, p256Key().get(), 64u}, std::tuple{Alg::kES384, p384Key().get(), 96u},
        std::tuple{Alg::kES512, p521Key().get(), 132u}}) {
    Result<std::string> token = signCompact(json::object(), kPayload, alg, key);
    ASSERT_TRUE(token.ok());
    Result<CompactJws> jws = parseCompact(*token);
    ASSERT_TRUE(jws.ok());
    EXPECT_EQ(jws->signature.size(), width) << algName(alg);
  }
}

// RFC 7515 Appendix A.3: the published ES256 example verifies with the published key.
TEST(JwsTest, Rfc7515AppendixA3Verifies) {
  Result<PkeyPtr> key = readPublicJwk(kRfc7515EcKey);
  ASSERT_TRUE(key.ok()) << key.error().message;
  Result<CompactJws> jws = parseCompact(kRfc7515A3Token);
  ASSERT_TRUE(jws.ok()) << jws.error().message;
  EXPECT_EQ(jws->payload["iss"], "joe");
  EXPECT_EQ(jws->payload["exp"], 1300819380);
  EXPECT_EQ(jws->payload["http://example.com/is_root"], true);
  EXPECT_TRUE(verify(*jws, Alg::kES256, key->get()).ok());
  // One bit of the signature changed (its last character's value ±1).
  std::string tampered = kRfc7515A3Token;
  tampered.back() = 'R';
  EXPECT_FALSE(parseAndVerify(tampered, Alg::kES256, key->get()).ok());
}

TEST(JwsTest, AlgNames) {
  for (const char* name :
       {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}) {
    const std::optional<Alg> alg = algFromName(name);
    ASSERT_TRUE(alg.has_value()) << name;
    EXPECT_EQ(algName(*alg), name);
  }
  // RFC 8725 §3.2 and identity-standards §3: none, HMAC and EdDSA are not JWT-SVID algs.
  for (const char* name : {"none", "None", "HS256", "HS384", "HS512", "EdDSA", "Ed25519", "es256",
                           "ES256 ", ""}) {
    EXPECT_FALSE(algFromName(name).has_value()) << name;
  }
}

// RFC 8725 §3.1 / identity-standards §7.5 rule 1: the key type must fit the algorithm.
TEST(JwsTest, KeyFitsAlg) {
  EXPECT_TRUE(keyFitsAlg(p256Key().get(), Alg::kES256));
  EXPECT_FALSE(keyFitsAlg(p256Key().get(), Alg::kES384));
  EXPECT_FALSE(keyFitsAlg(p384Key().get(), Alg::kES256));
  EXPECT_FALSE(keyFitsAlg(p256Key().get(), Alg::kRS256));
  EXPECT_FALSE(keyFitsAlg(p256Key().get(), Alg::kPS256));
  EXPECT_TRUE(keyFitsAlg(rsaKey().get(), Alg::kRS256));
  EXPECT_TRUE(keyFitsAlg(rsaKey().get(), Alg::kPS512));
  EXPECT_FALSE(keyFitsAlg(rsaKey().get(), Alg::kES256));
  EXPECT_FALSE(keyFitsAlg(nullptr, Alg::kES256));
  PkeyPtr small(EVP_RSA_gen(1024));
  EXPECT_FALSE(keyFitsAlg(small.get(), Alg::kRS256));  // RFC 7518 §3.3: 2048 bits minimum
}

// RFC 8725 §3.1: an RSA key cannot verify an ES256 token and vice versa, and a token is
// only checked under the algorithm the caller expects.
TEST(JwsTest, RejectsWrongKeyTypeOrAlg) {
  const std::string es256 = goodEs256Token();
  EXPECT_FALSE(parseAndVerify(es256, Alg::kES256, rsaKey().get()).ok());
  EXPECT_FALSE(parseAndVerify(es256, Alg::kRS256, rsaKey().get()).ok());
  EXPECT_FALSE(parseAndVerify(es256, Alg::kES384, p384Key().get()).ok());
  Result<std::string> rs256 = signCompact(json::object(), kPayload, Alg::kRS256, rsaKey().get());
  ASSERT_TRUE(rs256.ok());
  EXPECT_FALSE(parseAndVerify(*rs256, Alg::kRS256, p256Key().get()).ok());
  // The same RSA key, the other RSA family: the header says RS256, the policy PS256.
  EXPECT_FALSE(parseAndVerify(*rs256, Alg::kPS256, rsaKey().get()).ok());
  // Signing refuses a key that does not fit too.
  EXPECT_FALSE(signCompact(json::object(), kPayload, Alg::kES256, rsaKey().get()).ok());
  EXPECT_FALSE(signCompact(json::object(), kPayload, Alg::kRS256, p256Key().get()).ok());
}

// A header alg naming HS256 over a token with an otherwise good signature: the verifier
// never takes the algorithm from the header (identity-standards §10.3 J3's premise).
TEST(JwsTest, RejectsHeaderAlgThatDiffersFromPolicy) {
  const std::string token = goodEs256Token();
  Result<CompactJws> jws = parseCompact(token);
  ASSERT_TRUE(jws.ok());
  jws->header["alg"] = "HS256";
  EXPECT_FALSE(verify(*jws, Alg::kES256, p256Key().get()).ok());
}

// RFC 7515 §5.2 step 8 / any tampering: the signature covers header and payload.
TEST(JwsTest, RejectsTamperedPayloadAndHeader) {
  const std::string token = goodEs256Token();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  json other = kPayload;
  other["sub"] = "spiffe://example.org/admin";
  const std::string swapped_payload =
      token.substr(0, dot1 + 1) + b64(other.dump()) + token.substr(dot2);
  EXPECT_FALSE(parseAndVerify(swapped_payload, Alg::kES256, p256Key().get()).ok());
  const std::string swapped_header =
      b64(R"({"alg":"ES256","kid":"k2"})") + token.substr(dot1);
  EXPECT_FALSE(parseAndVerify(swapped_header, Alg::kES256, p256Key().get()).ok());
  // And a signature by another key of the same type.
  PkeyPtr other_key = generateP256Key();
  EXPECT_FALSE(parseAndVerify(token, Alg::kES256, other_key.get()).ok());
  EXPECT_TRUE(parseAndVerify(token, Alg::kES256, p256Key().get()).ok());
}

// identity-standards §10.3 J2; RFC 8725 §3.2: alg "none" is rejected while parsing, with
// or without a signature part.
TEST(JwsTest, J2RejectsAlgNone) {
  const std::string payload = b64(kPayload.dump());
  EXPECT_FALSE(parseCompact(b64(R"({"alg":"none"})") + "." + payload + ".").ok());
  EXPECT_FALSE(parseCompact(b64(R"({"alg":"none"})") + "." + payload + "." + b64("sig")).ok());
  // An empty signature under a real alg name is the same attack.
  EXPECT_FALSE(parseCompact(b64(R"({"alg":"ES256"})") + "." + payload + ".").ok());
}

// RFC 7515 §4.1.1: alg is required and is a string.
TEST(JwsTest, RejectsMissingAlg) {
  EXPECT_FALSE(parseCompact(rawToken(R"({"kid":"k1"})", kPayload.dump())).ok());
  EXPECT_FALSE(parseCompact(rawToken(R"({"alg":256})", kPayload.dump())).ok());
}

// RFC 7515 §4.1.11: critical extensions we do not understand (that is, any).
TEST(JwsTest, RejectsCrit) {
  EXPECT_FALSE(
      parseCompact(rawToken(R"({"alg":"ES256","crit":["exp"],"exp":1})", kPayload.dump())).ok());
}

// identity-standards §10.3 J14: two parts, five parts (JWE), empty parts.
TEST(JwsTest, J14RejectsWrongNumberOfParts) {
  const std::string token = goodEs256Token();
  const std::string two_parts = token.substr(0, token.rfind('.'));
  EXPECT_FALSE(parseCompact(two_parts).ok());
  EXPECT_FALSE(parseCompact(token + "." + b64("x") + "." + b64("y")).ok());  // 5 parts
  EXPECT_FALSE(parseCompact(token + ".").ok());
  EXPECT_FALSE(parseCompact("..").ok());
  EXPECT_FALSE(parseCompact("").ok());
}

// identity-standards §10.3 J14: the JSON serialization (RFC 7515 §7.2) is not compact.
TEST(JwsTest, J14RejectsJsonSerialization) {
  const std::string token = goodEs256Token();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  const json general = {{"payload", token.substr(dot1 + 1, dot2 - dot1 - 1)},
                        {"protected", token.substr(0, dot1)},
                        {"signature", token.substr(dot2 + 1)}};
  EXPECT_FALSE(parseCompact(general.dump()).ok());
}

// identity-standards §10.3 J14: anything after the signature, or padding/whitespace inside
// a part, is not base64url (RFC 7515 §2).
TEST(JwsTest, J14RejectsTrailingGarbage) {
  const std::string token = goodEs256Token();
  EXPECT_TRUE(parseCompact(token).ok());
  for (const std::string& tail :
       {std::string(" "), std::string("\n"), std::string("="), std::string("=="),
        std::string("!"), std::string(1, '\0')}) {
    EXPECT_FALSE(parseCompact(token + tail).ok()) << static_cast<int>(tail[0]);
  }
  EXPECT_FALSE(parseCompact(" " + token).ok());
}

// identity-standards §10.3 J14; RFC 8725 §3.5 / RFC 7515 §5.2: duplicate member names are
// rejected, in the header, in the payload, and in nested objects.
TEST(JwsTest, J14RejectsDuplicateMemberNames) {
  const std::string payload = kPayload.dump();
  Result<CompactJws> header_dup = parseCompact(
      rawToken(R"({"alg":"ES256","alg":"none"})", payload));
  ASSERT_FALSE(header_dup.ok());
  EXPECT_NE(header_dup.error().message.find("duplicate"), std::string::npos)
      << header_dup.error().message;
  EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})",
                                     R"({"sub":"spiffe://a/b","sub":"spiffe://a/c"})"))
                   .ok());
  EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})", R"({"x":{"a":[{"b":1,"b":2}]}})")).ok());
  // The same name in sibling objects is not a duplicate.
  EXPECT_TRUE(parseCompact(rawToken(R"({"alg":"ES256"})", R"({"a":{"x":1},"b":{"x":1}})")).ok());
}

// identity-standards §10.3 J14; RFC 8725 §3.5: header and payload must be UTF-8.
// nlohmann's lexer rejects ill-formed UTF-8 inside strings; these confirm it for stray
// continuation bytes, overlong forms, surrogates and truncated sequences.
TEST(JwsTest, J14RejectsInvalidUtf8) {
  for (const std::string& bad : {std::string("\xFF"), std::string("\x80"), std::string("\xC0\xAF"),
                                std::string("\xED\xA0\x80"), std::string("\xE2\x82"),
                                std::string("\xF4\x90\x80\x80")}) {
    EXPECT_FALSE(
        parseCompact(rawToken(R"({"alg":"ES256","kid":")" + bad + R"("})", kPayload.dump()))
            .ok());
    EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})", R"({"sub":")" + bad + R"("})"))
                     .ok());
  }
  // Lone surrogate escapes are not characters either.
  EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})", R"({"sub":"\ud800"})")).ok());
  // Well-formed multi-byte UTF-8 is fine.
  EXPECT_TRUE(parseCompact(rawToken(R"({"alg":"ES256"})", "{\"name\":\"J\xC3\xB6rg \xE2\x82\xAC\"}"))
                  .ok());
}

// identity-standards §10.3 J14: header and payload are JSON objects, nothing else.
TEST(JwsTest, J14RejectsNonObjectJson) {
  for (const char* text : {"[]", "\"x\"", "1", "null", "{", "{\"a\":1} x", "{\"a\":1}{}",
                           "\xEF\xBB\xBF{\"alg\":\"ES256\"}"}) {
    EXPECT_FALSE(parseCompact(rawToken(text, kPayload.dump())).ok()) << text;
    EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})", text)).ok()) << text;
  }
}

// identity-standards §10.3 J14: oversize tokens are refused before any decoding.
TEST(JwsTest, J14RejectsOversize) {
  const std::string token = goodEs256Token();
  EXPECT_TRUE(parseCompact(token, token.size()).ok());
  EXPECT_FALSE(parseCompact(token, token.size() - 1).ok());
  json big = kPayload;
  big["pad"] = std::string(kMaxCompactJwsBytes, 'a');
  Result<std::string> big_token = signCompact(json::object(), big, Alg::kES256, p256Key().get());
  ASSERT_TRUE(big_token.ok());
  Result<CompactJws> parsed = parseCompact(*big_token);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("exceeds"), std::string::npos);
}

// Deep nesting is refused (a bound on anything that walks the value later).
TEST(JwsTest, RejectsDeepNesting) {
  std::string deep = R"({"a":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(parseCompact(rawToken(R"({"alg":"ES256"})", deep)).ok());
  std::string ok = R"({"a":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(parseCompact(rawToken(R"({"alg":"ES256"})", ok)).ok());
}

// identity-standards §10.3 J15; RFC 7518 §3.4: an ES256 signature in DER (what OpenSSL
// produces natively) is not a JWS signature and must not verify.
TEST(JwsTest, J15RejectsDerEcdsaSignature) {
  const std::string token = goodEs256Token();
  const std::string signing_input = token.substr(0, token.rfind('.'));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, p256Key().get()), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()),
            1);
  std::string der(len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()),
            1);
  der.resize(len);
  ASSERT_EQ(der[0], '\x30');  // SEQUENCE: really DER
  Status s = parseAndVerify(signing_input + "." + b64(der), Alg::kES256, p256Key().get());
  EXPECT_FALSE(s.ok());
  // Wrong raw lengths are refused too (one byte short, one byte long).
  Result<CompactJws> jws = parseCompact(token);
  ASSERT_TRUE(jws.ok());
  CompactJws shorter = *jws;
  shorter.signature.pop_back();
  EXPECT_FALSE(verify(shorter, Alg::kES256, p256Key().get()).ok());
  CompactJws longer = *jws;
  longer.signature.push_back('\0');
  EXPECT_FALSE(verify(longer, Alg::kES256, p256Key().get()).ok());
}

// RFC 7518 §3.5: PS256 uses a salt as long as the hash. A PSS signature with another salt
// length (OpenSSL's signing default is the maximum) is not a PS256 signature.
TEST(JwsTest, Ps256PinsSaltLength) {
  const std::string signing_input = b64(R"({"alg":"PS256"})") + "." + b64(kPayload.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, rsaKey().get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_MAX), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()),
            1);
  std::string sig(len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()),
            1);
  sig.resize(len);
  EXPECT_FALSE(parseAndVerify(signing_input + "." + b64(sig), Alg::kPS256, rsaKey().get()).ok());
}

// RFC 7519 §7.1 (the JWT claims set is a JSON object) and RFC 8725 §3.5 (UTF-8): signing
// refuses what our own parser would refuse.
TEST(JwsTest, SignRejectsNonObjectsAndInvalidUtf8) {
  EXPECT_FALSE(signCompact(json::array(), kPayload, Alg::kES256, p256Key().get()).ok());
  EXPECT_FALSE(signCompact(json::object(), json("x"), Alg::kES256, p256Key().get()).ok());
  EXPECT_FALSE(
      signCompact(json::object(), json{{"sub", "\xFF"}}, Alg::kES256, p256Key().get()).ok());
}

// RFC 7515 §5.2 step 4 / RFC 8725 §3.5: duplicate names are compared as decoded strings;
// numbers that overflow a double are not silently turned into infinity.
TEST(JwsTest, ParseJsonNoDuplicates) {
  EXPECT_TRUE(parseJsonNoDuplicates(R"({"a":1,"b":[{"a":1},{"a":2}]})").ok());
  EXPECT_FALSE(parseJsonNoDuplicates(R"({"a":1,"a":1})").ok());
  // Names are compared after unescaping: "\u0061" is "a".
  EXPECT_FALSE(parseJsonNoDuplicates(R"({"a":1,"\u0061":2})").ok());
  EXPECT_FALSE(parseJsonNoDuplicates("[1]").ok());
  EXPECT_FALSE(parseJsonNoDuplicates("").ok());
  EXPECT_FALSE(parseJsonNoDuplicates(R"({"a":1e400})").ok());
}

}  // namespace
}  // namespace warden::jose
