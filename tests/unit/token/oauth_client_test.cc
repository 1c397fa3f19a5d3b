// The client side of a client_credentials request (token/oauth_client.h): the form
// encoding, the self-signed client assertion (checked with Warden's own verifier), and the
// strict parsing of RFC 6749 §5.1 / §5.2 answers.
#include "token/oauth_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::token {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const auto kNow = Clock::time_point(seconds(1'800'000'000));

std::string unsignedJwt(const json& claims) {
  return jose::base64UrlEncode(R"({"alg":"ES256","typ":"at+jwt"})") + "." +
         jose::base64UrlEncode(claims.dump()) + ".c2ln";
}

Result<ObtainedToken> parse(const json& body, int status = 200,
                            const std::string& type = "application/json") {
  return parseTokenResponse(status, type, body.dump(), kNow);
}

TEST(FormUrlEncodeTest, EncodesLikeABrowserForm) {
  EXPECT_EQ(formUrlEncode({{"grant_type", "client_credentials"},
                           {"scope", "api://budget/.default openid"},
                           {"resource", "https://a.example/x?y=1&z"},
                           {"client_id", "spiffe://example.org/budget-report"}}),
            "grant_type=client_credentials&scope=api%3A%2F%2Fbudget%2F.default+openid"
            "&resource=https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z"
            "&client_id=spiffe%3A%2F%2Fexample.org%2Fbudget-report");
  EXPECT_EQ(formUrlEncode({{"a", "\xC3\xA9~*"}}), "a=%C3%A9%7E*");
  EXPECT_EQ(formUrlEncode({}), "");
}

TEST(B64TokenTest, OnlyWhatAnAuthorizationHeaderMayCarry) {
  EXPECT_TRUE(isB64Token("eyJ.abc-_~+/=="));
  EXPECT_TRUE(isB64Token("opaque"));
  EXPECT_FALSE(isB64Token(""));
  EXPECT_FALSE(isB64Token("=abc"));
  EXPECT_FALSE(isB64Token("ab=c"));
  EXPECT_FALSE(isB64Token("a b"));
  EXPECT_FALSE(isB64Token("a\r\nX-Injected: 1"));
  EXPECT_FALSE(isB64Token("a,b"));
}

TEST(ClientAssertionTest, SignedWithTheSvidKeyAndVerifiableByItsThumbprint) {
  auto key = jose::generateP256Key();
  ClientAssertionSpec spec{"spiffe://example.org/budget-report", "https://sts.example.org", kNow,
                           seconds(60)};
  auto a = signClientAssertion(key.get(), nullptr, spec);
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto jws = jose::parseCompact(*a);
  ASSERT_TRUE(jws.ok()) << jws.error().message;
  EXPECT_TRUE(jose::verify(*jws, jose::Alg::kES256, key.get()).ok());
  EXPECT_EQ(jws->header["alg"], "ES256");
  EXPECT_EQ(jws->header["typ"], "JWT");
  EXPECT_EQ(jws->header["kid"], jose::jwkThumbprint(key.get()).value());
  EXPECT_FALSE(jws->header.contains("x5t#S256"));
  const auto& c = jws->payload;
  EXPECT_EQ(c["iss"], spec.client_id);
  EXPECT_EQ(c["sub"], spec.client_id);
  EXPECT_EQ(c["aud"], "https://sts.example.org");
  EXPECT_EQ(c["iat"], 1'800'000'000);
  EXPECT_EQ(c["exp"], 1'800'000'060);
  ASSERT_TRUE(c["jti"].is_string());
  EXPECT_EQ(c["jti"].get<std::string>().size(), 22u);  // 128 bits, base64url
  // Every assertion gets its own jti (single use at the authorization server).
  auto again = jose::parseCompact(signClientAssertion(key.get(), nullptr, spec).value()).value();
  EXPECT_NE(again.payload["jti"], c["jti"]);
}

TEST(ClientAssertionTest, RefusesMissingOrUnfitKeys) {
  EXPECT_FALSE(signClientAssertion(nullptr, nullptr, {"a", "b", kNow}).ok());
  EVP_PKEY* small = EVP_RSA_gen(1024);
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(signClientAssertion(small, nullptr, {"a", "b", kNow}).ok());
  EVP_PKEY_free(small);
}

TEST(TokenResponseTest, Success) {
  auto t = parse({{"access_token", "abc.def.ghi"}, {"token_type", "Bearer"}, {"expires_in", 300},
                  {"scope", "api://budget/.default"}});
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->access_token, "abc.def.ghi");
  EXPECT_EQ(t->expires_at, kNow + seconds(300));
  EXPECT_TRUE(t->expires_in_given);
  EXPECT_EQ(t->scope, "api://budget/.default");
  // token_type is case-insensitive (RFC 6749 §5.1); a charset parameter is fine.
  EXPECT_TRUE(parseTokenResponse(200, "Application/JSON; charset=utf-8",
                                 R"({"access_token":"x","token_type":"bearer","expires_in":5})",
                                 kNow)
                  .ok());
  // Entra's v1 endpoint sends expires_in as a string of digits.
  auto entra = parse({{"access_token", "x"}, {"token_type", "Bearer"}, {"expires_in", "3599"}});
  ASSERT_TRUE(entra.ok()) << entra.error().message;
  EXPECT_EQ(entra->expires_at, kNow + seconds(3599));
}

TEST(TokenResponseTest, LifetimeFromTheJwtWhenExpiresInIsMissingOrLonger) {
  const auto jwt = unsignedJwt({{"exp", 1'800'000'120}});
  auto derived = parse({{"access_token", jwt}, {"token_type", "Bearer"}});
  ASSERT_TRUE(derived.ok()) << derived.error().message;
  EXPECT_EQ(derived->expires_at, kNow + seconds(120));
  EXPECT_FALSE(derived->expires_in_given);
  // The earlier of the two wins: never hold a token past its own exp.
  auto both = parse({{"access_token", jwt}, {"token_type", "Bearer"}, {"expires_in", 3600}});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->expires_at, kNow + seconds(120));
  auto shorter = parse({{"access_token", jwt}, {"token_type", "Bearer"}, {"expires_in", 60}});
  EXPECT_EQ(shorter->expires_at, kNow + seconds(60));
  // Neither: refused (no way to know when to refresh).
  EXPECT_FALSE(parse({{"access_token", "opaque"}, {"token_type", "Bearer"}}).ok());
  EXPECT_FALSE(
      parse({{"access_token", unsignedJwt({{"sub", "x"}})}, {"token_type", "Bearer"}}).ok());
  // Already expired according to its exp.
  EXPECT_FALSE(parse({{"access_token", unsignedJwt({{"exp", 1'799'999'000}})},
                      {"token_type", "Bearer"}, {"expires_in", 300}})
                   .ok());
  // An absurd exp cannot overflow anything: with expires_in it is ignored.
  auto far = parse({{"access_token", unsignedJwt({{"exp", 9'000'000'000'000'000'000}})},
                    {"token_type", "Bearer"}, {"expires_in", 300}});
  ASSERT_TRUE(far.ok()) << far.error().message;
  EXPECT_EQ(far->expires_at, kNow + seconds(300));
}

TEST(TokenResponseTest, StrictAboutShapeAndTypes) {
  const json good = {{"access_token", "x"}, {"token_type", "Bearer"}, {"expires_in", 300}};
  auto without = [&](const char* key) {
    json j = good;
    j.erase(key);
    return j;
  };
  auto with = [&](const char* key, json value) {
    json j = good;
    j[key] = std::move(value);
    return j;
  };
  EXPECT_FALSE(parse(without("access_token")).ok());
  EXPECT_FALSE(parse(without("token_type")).ok());
  EXPECT_FALSE(parse(with("token_type", "DPoP")).ok());
  EXPECT_FALSE(parse(with("token_type", "N_A")).ok());
  EXPECT_FALSE(parse(with("access_token", "")).ok());
  EXPECT_FALSE(parse(with("access_token", 5)).ok());
  EXPECT_FALSE(parse(with("access_token", "a b")).ok());
  EXPECT_FALSE(parse(with("access_token", "a\r\nX: y")).ok());
  EXPECT_FALSE(parse(with("access_token", std::string(kMaxAccessTokenBytes + 1, 'a'))).ok());
  EXPECT_FALSE(parse(with("expires_in", 0)).ok());
  EXPECT_FALSE(parse(with("expires_in", -5)).ok());
  EXPECT_FALSE(parse(with("expires_in", 1.5)).ok());
  EXPECT_FALSE(parse(with("expires_in", "5s")).ok());
  EXPECT_FALSE(parse(with("expires_in", nullptr)).ok());
  EXPECT_FALSE(parse(with("expires_in", 400LL * 24 * 3600)).ok());
  EXPECT_FALSE(parse(good, 200, "text/html").ok());
  EXPECT_FALSE(parseTokenResponse(200, "application/json", "[1]", kNow).ok());
  EXPECT_FALSE(parseTokenResponse(200, "application/json", "{", kNow).ok());
  // Duplicate members are how parsers get played against each other.
  EXPECT_FALSE(parseTokenResponse(200, "application/json",
                                  R"({"access_token":"a","access_token":"b",)"
                                  R"("token_type":"Bearer","expires_in":5})",
                                  kNow)
                   .ok());
}

TEST(TokenResponseTest, ErrorAnswersNameTheOauthError) {
  auto r = parse(
      {{"error", "invalid_client"}, {"error_description", "client authentication failed"}}, 401);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "HTTP 401 invalid_client: client authentication failed");
  // Producer text is made printable and short.
  auto odd =
      parse({{"error", "invalid_target\n"}, {"error_description", std::string(500, 'x')}}, 400);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().message.find('\n'), std::string::npos);
  EXPECT_LT(odd.error().message.size(), 500u);  // 400 characters of description kept
  EXPECT_EQ(parseTokenResponse(502, "text/html", "<html>", kNow).error().message, "HTTP 502");
  // A 200 that is really an error object is still not a token.
  EXPECT_FALSE(parse({{"error", "invalid_client"}}).ok());
}

// RFC 8693 §2.2.1: a token exchange answer adds issued_token_type; only the types that go
// into a Bearer header are accepted.
TEST(TokenResponseTest, Rfc8693IssuedTokenType) {
  const json good = {{"access_token", "x"}, {"token_type", "Bearer"}, {"expires_in", 300}};
  auto with = [&](json value) {
    json j = good;
    j["issued_token_type"] = std::move(value);
    return j;
  };
  EXPECT_TRUE(parse(with("urn:ietf:params:oauth:token-type:access_token")).ok());
  EXPECT_TRUE(parse(with("urn:ietf:params:oauth:token-type:jwt")).ok());
  for (const json& bad : {json("urn:ietf:params:oauth:token-type:refresh_token"),
                          json("urn:ietf:params:oauth:token-type:id_token"),
                          json("urn:ietf:params:oauth:token-type:saml2"), json(""), json(1)}) {
    auto r = parse(with(bad));
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_NE(r.error().message.find("issued_token_type"), std::string::npos);
  }
}

// RFC 8693 §2.1 subject_token from a platform-written file: trimmed, bounded, JWS compact
// characters only, and no error ever quotes it.
TEST(SubjectTokenFileTest, TrimsAndChecksWithoutQuoting) {
  auto t = subjectTokenFromFile("  eyJhbGciOi.eyJzdWIi.c2ln_-\n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, "eyJhbGciOi.eyJzdWIi.c2ln_-");
  EXPECT_EQ(*subjectTokenFromFile("a.b.c\r\n"), "a.b.c");

  EXPECT_NE(subjectTokenFromFile("").error().message.find("empty"), std::string::npos);
  EXPECT_NE(subjectTokenFromFile(" \n\t\n").error().message.find("empty"), std::string::npos);
  const auto big = subjectTokenFromFile(std::string(kMaxSubjectTokenFileBytes + 1, 'a'));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("larger than 16384"), std::string::npos);
  EXPECT_TRUE(subjectTokenFromFile(std::string(kMaxSubjectTokenFileBytes, 'a')).ok());
  const std::vector<std::string> bad_files = {"secret.part two", "secret+part/two=",
                                              "secret\r\nX: y", "secret\"",
                                              std::string("secret\0x", 8)};
  for (const std::string& bad : bad_files) {
    auto r = subjectTokenFromFile(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("outside the JWT alphabet"), std::string::npos);
    EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace warden::token
