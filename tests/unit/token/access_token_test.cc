// AccessTokenVerifier against the access-token cases of identity-standards §10.3 (J2, J3,
// J5-J10, J13-J15), RFC 9068 and RFC 8725, Entra v1/v2 token shapes, binding to the
// caller, and the role check. Tokens are minted with jose::signCompact or by hand.
#include "token/access_token.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"
#include "token_test_util.h"

namespace warden::token {
namespace {

using testing::at;
using testing::b64;
using testing::claims;
using testing::es256;
using testing::json;
using testing::kAudience;
using testing::kIssuer;
using testing::kNow;
using testing::mint;
using testing::ps256;
using testing::rs256;

class AccessTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_shared<FixedKeySetProvider>(
        testing::keySet({es256("ec-1"), rs256("rsa-1"), es256("p384-1", "p384-a")}));
    ASSERT_NE(keys_->current(), nullptr);
  }

  std::unique_ptr<const AccessTokenVerifier> make(
      TokenIssuerConfig config = testing::issuerConfig(),
      TokenRequirements req = testing::requirements(),
      std::shared_ptr<VerifiedTokenCache> cache = nullptr) {
    auto v = AccessTokenVerifier::create(req, {IssuerKeys{std::move(config), keys_}},
                                         std::move(cache));
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? std::move(*v) : nullptr;
  }

  TokenVerdict check(const std::string& token, std::int64_t now = kNow) {
    if (!verifier_) verifier_ = make();
    return verifier_->verify(token, CallerBinding{}, at(now));
  }

  std::shared_ptr<FixedKeySetProvider> keys_;
  std::unique_ptr<const AccessTokenVerifier> verifier_;
};

void expectDenied(const TokenVerdict& v, std::string_view reason, int status = 401) {
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, reason) << v.detail;
  EXPECT_EQ(v.http_status, status) << v.detail;
  if (status == 401) {
    EXPECT_EQ(v.www_authenticate.rfind("Bearer error=\"invalid_token\", error_description=\"", 0),
              0u)
        << v.www_authenticate;
  } else {
    EXPECT_TRUE(v.www_authenticate.empty()) << v.www_authenticate;
  }
}

TEST_F(AccessTokenTest, AcceptsEs256Rs256AndPs256WithTheirClaims) {
  json payload = claims();
  payload["act"] = {{"sub", "spiffe://example.org/agent/orchestrator"}};
  for (const auto& key : {es256(), rs256(), ps256()}) {
    const TokenVerdict v = check(mint(key, payload));
    ASSERT_TRUE(v.ok) << jose::algName(key.alg) << ": " << v.reason << " " << v.detail;
    EXPECT_EQ(v.http_status, 200);
    EXPECT_TRUE(v.reason.empty());
    EXPECT_TRUE(v.www_authenticate.empty());
    EXPECT_FALSE(v.from_cache);
    ASSERT_NE(v.token, nullptr);
    const VerifiedToken& t = *v.token;
    EXPECT_EQ(t.issuer, kIssuer);
    EXPECT_EQ(t.subject, "client-1");
    EXPECT_EQ(t.audiences, std::vector<std::string>{kAudience});
    EXPECT_EQ(t.client_id, "client-1");
    EXPECT_EQ(t.client_id_claim, "client_id");
    EXPECT_EQ(t.roles, std::vector<std::string>{"reader"});
    EXPECT_EQ(t.scopes, (std::vector<std::string>{"budget.read", "budget.list"}));
    EXPECT_EQ(t.expires_at, kNow + 600);
    // SHA-256 of "token-1": the audit record gets a digest, never the jti or the token.
    EXPECT_EQ(t.jti_digest, "3f08aace122ee2368432c1ca23a049bc640bafbf00fdf33a52429f38ba12dbf9");
    EXPECT_EQ(t.actor_subject, "spiffe://example.org/agent/orchestrator");
    EXPECT_EQ(t.alg, jose::algName(key.alg));
    EXPECT_EQ(t.kid, key.kid);
  }
}

TEST_F(AccessTokenTest, MissingTokenAsksForBearerWithoutAnErrorCode) {
  const TokenVerdict v = check("");
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "token_missing");
  EXPECT_EQ(v.http_status, 401);
  EXPECT_EQ(v.www_authenticate, "Bearer");
}

// J2
TEST_F(AccessTokenTest, AlgNoneIsRefused) {
  const json header = {{"alg", "none"}, {"typ", "at+jwt"}, {"kid", "ec-1"}};
  expectDenied(check(b64(header.dump()) + "." + b64(claims().dump()) + "."), "alg_not_allowed");
  json upper = header;
  upper["alg"] = "NONE";
  expectDenied(check(b64(upper.dump()) + "." + b64(claims().dump()) + "."), "alg_not_allowed");
  // With a signature part, alg none is still unsigned.
  expectDenied(check(testing::rawToken(header, claims(), "sig")), "alg_not_allowed");
}

// J3: the classic confusion: HS256 keyed with the RSA public key an attacker can download.
TEST_F(AccessTokenTest, Hs256KeyedWithThePublicKeyIsRefusedWhenNotPinned) {
  const std::string pem = testing::publicKeyPem(testing::pooledKey("rsa-a"));
  const json header = {{"alg", "HS256"}, {"typ", "at+jwt"}, {"kid", "rsa-1"}};
  const TokenVerdict v = check(testing::hs256(header, claims(), pem));
  expectDenied(v, "alg_not_allowed");
  EXPECT_NE(v.detail.find("HS256 is not pinned"), std::string::npos);
}

TEST_F(AccessTokenTest, Hs256WorksOnlyWithTheConfiguredSecret) {
  TokenIssuerConfig config = testing::issuerConfig();
  config.algorithms = {"ES256", "HS256"};
  config.hs256_secret = std::string(32, 'S');
  verifier_ = make(config);
  const json header = {{"alg", "HS256"}, {"typ", "at+jwt"}};
  EXPECT_TRUE(check(testing::hs256(header, claims(), config.hs256_secret)).ok);
  const std::string pem = testing::publicKeyPem(testing::pooledKey("rsa-a"));
  expectDenied(check(testing::hs256(header, claims(), pem)), "bad_signature");
  // The asymmetric algorithms still need their keys.
  EXPECT_TRUE(check(mint(es256(), claims())).ok);
  expectDenied(check(mint(rs256(), claims())), "alg_not_allowed");
}

// J5: kid is only ever a lookup key; no path, SQL or log injection, and a kid that cannot be
// in any set does not even ask for a refetch.
TEST_F(AccessTokenTest, InjectedKidsAreUnknownKeys) {
  for (const std::string& kid :
       {std::string("../../etc/passwd"), std::string("' OR 1=1 --"), std::string("ec-1\0x", 6),
        std::string("ec-1\n[INFO] forged log line")}) {
    const std::uint64_t before = keys_->refreshRequests();
    const TokenVerdict v = check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"kid", kid}}));
    expectDenied(v, "unknown_key");
    EXPECT_EQ(keys_->refreshRequests(), before + 1);
    EXPECT_EQ(v.detail.find('\0'), std::string::npos);
    EXPECT_EQ(v.detail.find('\n'), std::string::npos);
  }
  const std::uint64_t before = keys_->refreshRequests();
  const TokenVerdict v =
      check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"kid", std::string(4000, 'k')}}));
  expectDenied(v, "unknown_key");
  EXPECT_EQ(keys_->refreshRequests(), before);
  EXPECT_LT(v.detail.size(), 200u);
}

// J6: keys and key locators in the header are never fetched or trusted.
TEST_F(AccessTokenTest, HeaderKeyMaterialIsRefused) {
  EVP_PKEY* attacker = testing::pooledKey("p256-attacker");
  const testing::TestKey evil{"ec-1", jose::Alg::kES256, attacker};
  for (const auto& [name, value] :
       {std::pair<std::string, json>{"jku", "http://127.0.0.1:1/jwks"},
        std::pair<std::string, json>{"x5u", "http://127.0.0.1:1/cert.pem"},
        std::pair<std::string, json>{"jwk", evil.jwk()}}) {
    const TokenVerdict v =
        check(mint(evil, claims(), {{"typ", "at+jwt"}, {"kid", "ec-1"}, {name, value}}));
    expectDenied(v, "invalid_token");
    EXPECT_NE(v.detail.find(name), std::string::npos);
    // Also with our own key: the header alone disqualifies the token.
    expectDenied(check(mint(es256(), claims(), {{"typ", "at+jwt"}, {name, value}})),
                 "invalid_token");
  }
  // x5c is ignored, not trusted: the attacker's signature still fails against our key.
  expectDenied(check(mint(evil, claims(), {{"typ", "at+jwt"}, {"x5c", {"MIIB"}}})),
               "bad_signature");
}

TEST_F(AccessTokenTest, MissingOrNonStringKidIsRefused) {
  expectDenied(check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"kid", nullptr}})),
               "invalid_token");
  expectDenied(check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"kid", 7}})), "invalid_token");
}

// J8, with the default 60 s skew.
TEST_F(AccessTokenTest, TimeClaimsWithSkew) {
  json payload = claims();
  payload["exp"] = kNow - 120;
  expectDenied(check(mint(es256(), payload)), "token_expired");
  payload["exp"] = kNow - 30;
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
  payload["exp"] = kNow - 60;  // exactly at the edge of the skew: expired
  expectDenied(check(mint(es256(), payload)), "token_expired");

  payload = claims();
  payload["nbf"] = kNow + 120;
  expectDenied(check(mint(es256(), payload)), "token_not_yet_valid");
  payload["nbf"] = kNow + 30;
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
  payload = claims();
  payload["iat"] = kNow + 3600;
  expectDenied(check(mint(es256(), payload)), "token_not_yet_valid");
  payload["iat"] = kNow + 0.5;
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
}

TEST_F(AccessTokenTest, ExpIsRequiredAndNumeric) {
  json payload = claims();
  payload.erase("exp");
  expectDenied(check(mint(es256(), payload)), "invalid_token");
  for (const json& bad : {json("1700000600"), json(1e300), json(nullptr), json::array()}) {
    payload["exp"] = bad;
    expectDenied(check(mint(es256(), payload)), "invalid_token");
  }
  payload["exp"] = static_cast<double>(kNow) + 600.5;
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
  payload = claims();
  payload["nbf"] = "yesterday";
  expectDenied(check(mint(es256(), payload)), "invalid_token");
}

// J9
TEST_F(AccessTokenTest, Audience) {
  json payload = claims();
  payload["aud"] = "api://other";
  expectDenied(check(mint(es256(), payload)), "wrong_audience");
  payload.erase("aud");
  expectDenied(check(mint(es256(), payload)), "wrong_audience");
  payload["aud"] = {"api://other", kAudience};
  const TokenVerdict v = check(mint(es256(), payload));
  ASSERT_TRUE(v.ok) << v.detail;
  EXPECT_EQ(v.token->audiences, (std::vector<std::string>{"api://other", kAudience}));
  payload["aud"] = json::array();
  expectDenied(check(mint(es256(), payload)), "invalid_token");
  payload["aud"] = {kAudience, 7};
  expectDenied(check(mint(es256(), payload)), "invalid_token");
}

TEST_F(AccessTokenTest, TargetAudiencesReplaceTheIssuers) {
  TokenRequirements req = testing::requirements();
  req.audiences = {"api://reports"};
  verifier_ = make(testing::issuerConfig(), req);
  expectDenied(check(mint(es256(), claims())), "wrong_audience");
  json payload = claims();
  payload["aud"] = "api://reports";
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
}

// J10: iss is compared byte for byte.
TEST_F(AccessTokenTest, IssuerIsMatchedExactly) {
  for (const char* iss : {"https://idp.example.com/", "https://IDP.example.com",
                          "https://idp.example.org", "https://idp.example.com/v2.0"}) {
    json payload = claims();
    payload["iss"] = iss;
    expectDenied(check(mint(es256(), payload)), "wrong_issuer");
  }
  json payload = claims();
  payload.erase("iss");
  expectDenied(check(mint(es256(), payload)), "wrong_issuer");
  payload["iss"] = json::array({kIssuer});
  expectDenied(check(mint(es256(), payload)), "wrong_issuer");
}

// J13: explicit typing keeps ID tokens and JWT-SVIDs (typ JWT) from passing as access tokens.
TEST_F(AccessTokenTest, TypMustBeAtJwtWhenRequired) {
  expectDenied(check(mint(es256(), claims(), {{"typ", "JWT"}})), "wrong_token_type");
  expectDenied(check(mint(es256(), claims(), json::object())), "wrong_token_type");
  expectDenied(check(mint(es256(), claims(), {{"typ", "secevent+jwt"}})), "wrong_token_type");
  expectDenied(check(mint(es256(), claims(), {{"typ", 1}})), "wrong_token_type");
  for (const char* typ : {"at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"}) {
    EXPECT_TRUE(check(mint(es256(), claims(), {{"typ", typ}})).ok) << typ;
  }
  TokenIssuerConfig entra = testing::issuerConfig();
  entra.require_typ = "";
  verifier_ = make(entra);
  EXPECT_TRUE(check(mint(es256(), claims(), {{"typ", "JWT"}})).ok);
  EXPECT_TRUE(check(mint(es256(), claims(), json::object())).ok);
}

// J14
TEST_F(AccessTokenTest, MalformedTokensAreRefused) {
  const std::string good = mint(es256(), claims());
  const std::string parts2 = good.substr(0, good.rfind('.'));
  expectDenied(check(parts2), "invalid_token");
  expectDenied(check(good + ".e30.e30"), "invalid_token");  // five parts, JWE-like
  expectDenied(check(good + "=="), "invalid_token");        // trailing garbage
  expectDenied(check(good + " "), "invalid_token");
  expectDenied(check(json{{"payload", "e30"}, {"signatures", json::array()}}.dump()),
               "invalid_token");  // JSON serialization
  const json header = {{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", "ec-1"}};
  const std::string sig = good.substr(good.rfind('.') + 1);
  const std::string dup = b64(header.dump()) + "." +
                          b64(R"({"iss":"https://idp.example.com","aud":"x","aud":"api://budget",)"
                              R"("exp":1700000600})") +
                          "." + sig;
  expectDenied(check(dup), "invalid_token");
  const std::string latin1 =
      b64(header.dump()) + "." +
      b64("{\"iss\":\"https://idp.example.com\",\"sub\":\"caf\xE9\"}") + "." + sig;
  expectDenied(check(latin1), "invalid_token");
  expectDenied(check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"crit", {"exp"}}, {"exp", 1}})),
               "invalid_token");
  expectDenied(check(mint(es256(), claims(), {{"typ", "at+jwt"}, {"cty", "JWT"}})),
               "invalid_token");
}

TEST_F(AccessTokenTest, OversizeTokensAreRefusedBeforeParsing) {
  json payload = claims();
  payload["padding"] = std::string(kMaxTokenBytes, 'p');
  const TokenVerdict v = check(mint(es256(), payload));
  expectDenied(v, "token_too_large");
  expectDenied(check(std::string(kMaxTokenBytes + 1, 'a')), "token_too_large");
  payload["padding"] = std::string(kMaxTokenBytes / 2, 'p');
  EXPECT_TRUE(check(mint(es256(), payload)).ok);
}

// J15
TEST_F(AccessTokenTest, DerEncodedEcdsaSignatureIsRefused) {
  const std::string good = mint(es256(), claims());
  const std::string input = good.substr(0, good.rfind('.'));
  // Sign the same input with OpenSSL's native DER output.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, testing::pooledKey("p256-a")),
            1);
  std::size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string der(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  der.resize(len);
  EVP_MD_CTX_free(ctx);
  expectDenied(check(input + "." + b64(der)), "bad_signature");
}

TEST_F(AccessTokenTest, SignatureMustVerifyWithThatIssuersKey) {
  std::string tampered = mint(es256(), claims());
  json payload = claims();
  payload["roles"] = {"admin"};
  const std::string forged_payload = b64(payload.dump());
  const std::size_t dot1 = tampered.find('.');
  const std::size_t dot2 = tampered.rfind('.');
  tampered = tampered.substr(0, dot1 + 1) + forged_payload + tampered.substr(dot2);
  expectDenied(check(tampered), "bad_signature");
  // Another key under a known kid.
  expectDenied(check(mint(es256("ec-1", "p256-other"), claims())), "bad_signature");
}

TEST_F(AccessTokenTest, AlgMustBePinnedAndFitTheKey) {
  // ES384 with a P-384 key is fine cryptography, but not pinned.
  const testing::TestKey es384{"p384-1", jose::Alg::kES384, testing::pooledKey("p384-a")};
  expectDenied(check(mint(es384, claims())), "alg_not_allowed");
  // RS256 naming the EC key's kid: pinned, but the key cannot do it.
  const std::string pem = testing::publicKeyPem(testing::pooledKey("p256-a"));
  const testing::TestKey rsa_as_ec{"ec-1", jose::Alg::kRS256, testing::pooledKey("rsa-a")};
  const TokenVerdict v = check(mint(rsa_as_ec, claims()));
  expectDenied(v, "alg_not_allowed");
  EXPECT_NE(v.detail.find("does not fit key"), std::string::npos);
  // A key published for RS256 does not verify PS256.
  json doc = {{"keys", {rs256("rsa-1").jwk(true)}}};
  keys_->set(*KeySet::fromJwks(doc.dump()));
  EXPECT_TRUE(check(mint(rs256(), claims())).ok);
  expectDenied(check(mint(ps256(), claims())), "alg_not_allowed");
}

TEST_F(AccessTokenTest, UnknownKidAsksForOneRefreshAndFails) {
  const TokenVerdict v = check(mint(es256("ec-new"), claims()));
  expectDenied(v, "unknown_key");
  EXPECT_EQ(keys_->refreshRequests(), 1u);
  EXPECT_NE(v.detail.find("kid \"ec-new\" is not in the key set of https://idp.example.com"),
            std::string::npos);
  // After a rotation that publishes it, the same token verifies.
  keys_->set(testing::keySet({es256("ec-1"), es256("ec-new")}));
  EXPECT_TRUE(check(mint(es256("ec-new"), claims())).ok);
}

TEST_F(AccessTokenTest, NoKeysYetIsServiceUnavailable) {
  keys_->set(nullptr);
  const TokenVerdict v = check(mint(es256(), claims()));
  expectDenied(v, "jwks_unavailable", 503);
  EXPECT_EQ(keys_->refreshRequests(), 1u);
  // What can be decided without keys still is.
  json payload = claims();
  payload["iss"] = "https://elsewhere.example.com";
  expectDenied(check(mint(es256(), payload)), "wrong_issuer");
}

TEST_F(AccessTokenTest, RequiredClaims) {
  TokenIssuerConfig config = testing::issuerConfig();
  config.required_claims = {"sub", "client_id", "iat", "jti"};
  verifier_ = make(config);
  EXPECT_TRUE(check(mint(es256(), claims())).ok);
  json payload = claims();
  payload.erase("jti");
  const TokenVerdict v = check(mint(es256(), payload));
  expectDenied(v, "invalid_token");
  EXPECT_NE(v.detail.find("required claim \"jti\" missing"), std::string::npos);
  payload = claims();
  payload["client_id"] = nullptr;
  expectDenied(check(mint(es256(), payload)), "invalid_token");
  payload = claims();
  payload["sub"] = 42;
  expectDenied(check(mint(es256(), payload)), "invalid_token");
}

TEST_F(AccessTokenTest, SeveralIssuersAreSelectedByIss) {
  TokenIssuerConfig other = testing::issuerConfig();
  other.issuer = "https://other.example.com";
  other.jwks_url = "https://other.example.com/jwks";
  auto other_keys =
      std::make_shared<FixedKeySetProvider>(testing::keySet({es256("ec-1", "p256-b")}));
  auto v = AccessTokenVerifier::create(
      testing::requirements({kIssuer, other.issuer}),
      {IssuerKeys{testing::issuerConfig(), keys_}, IssuerKeys{other, other_keys}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  verifier_ = std::move(*v);
  json payload = claims();
  EXPECT_TRUE(check(mint(es256("ec-1", "p256-a"), payload)).ok);
  payload["iss"] = other.issuer;
  EXPECT_TRUE(check(mint(es256("ec-1", "p256-b"), payload)).ok);
  // Same kid, other issuer's key: looked up in the named issuer's set only (cf. J12).
  expectDenied(check(mint(es256("ec-1", "p256-a"), payload)), "bad_signature");
}

TEST_F(AccessTokenTest, CreateRefusesWhatCannotWork) {
  auto unknown = AccessTokenVerifier::create(testing::requirements({"https://nobody"}),
                                             {IssuerKeys{testing::issuerConfig(), keys_}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("token.issuers[0]"), std::string::npos);
  auto keyless = AccessTokenVerifier::create(testing::requirements(),
                                             {IssuerKeys{testing::issuerConfig(), nullptr}});
  ASSERT_FALSE(keyless.ok());
  EXPECT_NE(keyless.error().message.find("no key source"), std::string::npos);
}

// identity-standards §8.2
TEST_F(AccessTokenTest, EntraV1AndV2Shapes) {
  const std::string tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  TokenIssuerConfig v1 = testing::issuerConfig();
  v1.issuer = "https://sts.windows.net/" + tid + "/";
  v1.jwks_url = "https://login.microsoftonline.com/" + tid + "/discovery/v2.0/keys";
  v1.require_typ = "";
  v1.audiences = {"api://budget-api"};
  v1.algorithms = {"RS256"};
  TokenIssuerConfig v2 = v1;
  v2.issuer = "https://login.microsoftonline.com/" + tid + "/v2.0";
  v2.audiences = {"6e74172b-be56-4843-9ff4-e66a39bb12e3"};
  auto v = AccessTokenVerifier::create(testing::requirements({v1.issuer, v2.issuer}),
                                       {IssuerKeys{v1, keys_}, IssuerKeys{v2, keys_}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  verifier_ = std::move(*v);

  const json v1_claims = {{"aud", "api://budget-api"}, {"iss", v1.issuer}, {"iat", kNow - 5},
                          {"nbf", kNow - 5}, {"exp", kNow + 3600}, {"aio", "E2ZgYJ..."},
                          {"appid", "9a1c7e2d-0000-4000-8000-000000000001"}, {"appidacr", "2"},
                          {"idp", v1.issuer}, {"oid", "5f7a0000-0000-4000-8000-0000000000aa"},
                          {"rh", "0.AAAA"}, {"roles", {"Budget.Read", "Budget.Write"}},
                          {"sub", "5f7a0000-0000-4000-8000-0000000000aa"}, {"tid", tid},
                          {"uti", "uti-abc"}, {"ver", "1.0"}};
  const json entra_header = {{"typ", "JWT"}, {"x5t", "nOo3ZDrODXEK1jKWhXslHR_KXEg"}};
  TokenVerdict r = check(mint(rs256(), v1_claims, entra_header));
  ASSERT_TRUE(r.ok) << r.reason << " " << r.detail;
  EXPECT_EQ(r.token->client_id, "9a1c7e2d-0000-4000-8000-000000000001");
  EXPECT_EQ(r.token->client_id_claim, "appid");
  EXPECT_EQ(r.token->roles, (std::vector<std::string>{"Budget.Read", "Budget.Write"}));
  EXPECT_EQ(r.token->jti_digest,
            "0780e604b0afc22df923baac17ecd35f37a3aa4948f4fb56ad4eebd43e361378");  // of uti

  json v2_claims = v1_claims;
  v2_claims.erase("appid");
  v2_claims.erase("appidacr");
  v2_claims["iss"] = v2.issuer;
  v2_claims["aud"] = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
  v2_claims["azp"] = "9a1c7e2d-0000-4000-8000-000000000002";
  v2_claims["azpacr"] = "2";
  v2_claims["ver"] = "2.0";
  v2_claims["scp"] = "Budget.Read user_impersonation";
  r = check(mint(rs256(), v2_claims, entra_header));
  ASSERT_TRUE(r.ok) << r.reason << " " << r.detail;
  EXPECT_EQ(r.token->client_id, "9a1c7e2d-0000-4000-8000-000000000002");
  EXPECT_EQ(r.token->client_id_claim, "azp");
  EXPECT_EQ(r.token->scopes, (std::vector<std::string>{"Budget.Read", "user_impersonation"}));

  // A v1 token's audience under the v2 issuer is someone else's token.
  json mixed = v2_claims;
  mixed["aud"] = "api://budget-api";
  expectDenied(check(mint(rs256(), mixed, entra_header)), "wrong_audience");
  // v1 issuer without its trailing slash.
  json no_slash = v1_claims;
  no_slash["iss"] = "https://sts.windows.net/" + tid;
  expectDenied(check(mint(rs256(), no_slash, entra_header)), "wrong_issuer");
  // Entra signs RS256 only here; the ES256 key in the set is not usable for this issuer.
  expectDenied(check(mint(es256(), v1_claims, entra_header)), "alg_not_allowed");
}

TEST_F(AccessTokenTest, RolesFromOtherClaimShapes) {
  TokenIssuerConfig config = testing::issuerConfig();
  config.roles_claim = "realm_access.roles";  // Keycloak
  verifier_ = make(config);
  json payload = claims();
  payload["realm_access"] = {{"roles", {"budget-reader", "offline_access"}}};
  TokenVerdict v = check(mint(es256(), payload));
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.token->roles, (std::vector<std::string>{"budget-reader", "offline_access"}));

  config.roles_claim = "https://example.com/roles";  // Auth0-style namespaced claim
  verifier_ = make(config);
  payload["https://example.com/roles"] = "a b  c";
  v = check(mint(es256(), payload));
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.token->roles, (std::vector<std::string>{"a", "b", "c"}));

  config.roles_claim = "roles";
  verifier_ = make(config);
  payload["roles"] = {{"admin", true}};  // not an array of strings: grants nothing
  v = check(mint(es256(), payload));
  ASSERT_TRUE(v.ok);
  EXPECT_TRUE(v.token->roles.empty());
}

TEST(CheckRolesTest, AllRequiredRolesMustBePresent) {
  VerifiedToken token;
  token.roles = {"reader", "writer"};
  EXPECT_TRUE(checkRoles(token, {}).ok);
  EXPECT_TRUE(checkRoles(token, {"reader"}).ok);
  EXPECT_TRUE(checkRoles(token, {"writer", "reader"}).ok);
  const TokenVerdict v = checkRoles(token, {"reader", "admin"});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "insufficient_roles");
  EXPECT_EQ(v.http_status, 403);
  EXPECT_EQ(v.www_authenticate.rfind("Bearer error=\"insufficient_scope\"", 0), 0u);
  EXPECT_NE(v.detail.find("admin"), std::string::npos);
  token.roles.clear();
  EXPECT_FALSE(checkRoles(token, {"Reader"}).ok);
}

TEST(BearerTokenTest, Rfc6750AuthorizationHeader) {
  EXPECT_EQ(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearerToken("bearer abc"), "abc");
  EXPECT_EQ(bearerToken("BEARER   abc  "), "abc");
  EXPECT_EQ(bearerToken("Bearer "), "");
  EXPECT_FALSE(bearerToken("").has_value());
  EXPECT_FALSE(bearerToken("Bearer").has_value());
  EXPECT_FALSE(bearerToken("Bearerabc").has_value());
  EXPECT_FALSE(bearerToken("Basic dXNlcjpwYXNz").has_value());
  EXPECT_FALSE(bearerToken("DPoP abc").has_value());
}

// ---- binding -----------------------------------------------------------------------------

class BindingTest : public AccessTokenTest {
 protected:
  TokenVerdict as(const std::string& token, std::string_view spiffe_id,
                  std::string_view cert_sha256 = {}) {
    return verifier_->verify(token, CallerBinding{spiffe_id, cert_sha256}, at(kNow));
  }
  const std::string budget_ = "spiffe://example.org/agent/budget";
  const std::string reports_ = "spiffe://example.org/agent/reports";
};

TEST_F(BindingTest, SubjectMustBeTheCallersSpiffeId) {
  TokenRequirements req = testing::requirements();
  req.binding = BindingMode::kSubToSpiffe;
  verifier_ = make(testing::issuerConfig(), req);
  json payload = claims();
  payload["sub"] = budget_;
  const std::string token = mint(es256(), payload);
  EXPECT_TRUE(as(token, budget_).ok);
  TokenVerdict v = as(token, reports_);
  expectDenied(v, "token_not_bound", 403);
  ASSERT_NE(v.token, nullptr);  // verified, just not this caller's: the audit wants iss/sub
  EXPECT_EQ(v.token->subject, budget_);
  expectDenied(as(token, ""), "token_not_bound", 403);
  payload.erase("sub");
  expectDenied(as(mint(es256(), payload), budget_), "token_not_bound", 403);
}

TEST_F(BindingTest, ClientIdMappedToASpiffeId) {
  TokenRequirements req = testing::requirements();
  req.binding = BindingMode::kSubToSpiffe;
  req.binding_claim = "azp";
  req.client_ids = {{"9a1c7e2d-0000-4000-8000-000000000002", budget_}};
  verifier_ = make(testing::issuerConfig(), req);
  json payload = claims();
  payload.erase("client_id");
  payload["azp"] = "9a1c7e2d-0000-4000-8000-000000000002";
  const std::string token = mint(es256(), payload);
  EXPECT_TRUE(as(token, budget_).ok);
  expectDenied(as(token, reports_), "token_not_bound", 403);
  // binding_claim azp does not accept the same value from appid.
  payload.erase("azp");
  payload["appid"] = "9a1c7e2d-0000-4000-8000-000000000002";
  expectDenied(as(mint(es256(), payload), budget_), "token_not_bound", 403);
  // binding_claim client_id takes whichever claim carries the client.
  req.binding_claim = "client_id";
  verifier_ = make(testing::issuerConfig(), req);
  EXPECT_TRUE(as(mint(es256(), payload), budget_).ok);
}

// RFC 8705 §3; identity-standards §10.5 O4.
TEST_F(BindingTest, CnfX5tMustMatchTheCallersCertificate) {
  TokenRequirements req = testing::requirements();
  req.binding = BindingMode::kCnfX5t;
  verifier_ = make(testing::issuerConfig(), req, std::make_shared<VerifiedTokenCache>());
  warden::testing::TestCa ca("example.org");
  const auto cert_a = ca.issue(budget_);
  const auto cert_b = ca.issue(budget_);  // same SPIFFE ID, another certificate
  const std::string sha_a = certificateSha256(cert_a.cert.get());
  const std::string sha_b = certificateSha256(cert_b.cert.get());
  const auto expected = cert_a.sha256();
  ASSERT_EQ(sha_a, std::string(expected.begin(), expected.end()));

  json payload = claims();
  payload["cnf"] = {{"x5t#S256", b64(sha_a)}};
  const std::string token = mint(es256(), payload);
  TokenVerdict v = as(token, budget_, sha_a);
  EXPECT_TRUE(v.ok) << v.detail;
  EXPECT_FALSE(v.from_cache);
  // Binding runs per request, on cache hits too.
  v = as(token, budget_, sha_b);
  // Issue 4: a token replayed by another workload is 403 token_not_bound (the caller is
  // authenticated; the token is someone else's), for both binding modes.
  expectDenied(v, "token_not_bound", 403);
  EXPECT_TRUE(v.from_cache);
  EXPECT_TRUE(as(token, budget_, sha_a).ok);
  expectDenied(as(token, budget_, ""), "token_not_bound", 403);

  payload.erase("cnf");
  expectDenied(as(mint(es256(), payload), budget_, sha_a), "token_not_bound", 403);
  payload["cnf"] = {{"x5t#S256", b64(sha_a) + "A"}};  // not 32 bytes
  expectDenied(as(mint(es256(), payload), budget_, sha_a), "token_not_bound", 403);
  payload["cnf"] = {{"x5t", b64(sha_a)}};  // a SHA-1 member name does not count
  expectDenied(as(mint(es256(), payload), budget_, sha_a), "token_not_bound", 403);
}

}  // namespace
}  // namespace warden::token
