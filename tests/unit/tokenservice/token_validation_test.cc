// Client assertions and subject/actor tokens: JWT-SVIDs under RFC 7523's rules (O3 as
// unit cases), external OIDC tokens against a pinned JWKS (O6 as unit cases), and the
// discovery/JWKS documents those keys come from.
#include "tokenservice/token_validation.h"

#include <gtest/gtest.h>

#include "test_tokens.h"

namespace warden::tokenservice {
namespace {

using testing::RsaIssuer;

const std::string kIssuer = "https://127.0.0.1:8443";
const std::string kClient = "spiffe://example.org/budget-report";

class SvidAssertion : public ::testing::Test {
 protected:
  nlohmann::json claims() const {
    return {{"iss", kClient}, {"sub", kClient}, {"aud", kIssuer},
            {"iat", now_},    {"exp", now_ + 60}, {"jti", "j-1"}};
  }
  std::string sign(const nlohmann::json& c) const { return authority_->sign({}, c).value(); }
  SvidTokenCheck check() const {
    SvidTokenCheck c;
    c.audiences = {kIssuer, kIssuer + "/token"};
    c.now = now_;
    c.max_lifetime = std::chrono::minutes(10);
    return c;
  }
  Result<ValidatedSvidToken> validate(const std::string& token) const {
    return validateSvidToken(token, testing::bundlesOf(*authority_), check());
  }
  std::string rejection(const std::string& token) const {
    auto r = validate(token);
    return r.ok() ? "accepted" : r.error().message;
  }

  std::time_t now_ = std::time(nullptr);
  std::unique_ptr<issuer::JwtAuthority> authority_ = testing::memoryAuthority();
};

TEST_F(SvidAssertion, AcceptsAWellFormedAssertion) {
  auto v = validate(sign(claims()));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->spiffe_id.str(), kClient);
  EXPECT_EQ(v->jti, "j-1");
  EXPECT_EQ(v->exp, now_ + 60);
}

TEST_F(SvidAssertion, AcceptsTheTokenEndpointAudienceAndAnArrayOfOne) {
  auto c = claims();
  c["aud"] = kIssuer + "/token";
  EXPECT_TRUE(validate(sign(c)).ok());
  c["aud"] = {kIssuer};
  EXPECT_TRUE(validate(sign(c)).ok());
}

TEST_F(SvidAssertion, AcceptsAJwtSvidWithoutIss) {
  auto c = claims();
  c.erase("iss");
  EXPECT_TRUE(validate(sign(c)).ok()) << "JWT-SVIDs need not carry iss";
}

TEST_F(SvidAssertion, RefusesEachRfc7523Violation) {
  struct Case {
    std::string what;
    std::function<void(nlohmann::json&)> edit;
    std::string expect;
  } cases[] = {
      {"missing jti", [](auto& c) { c.erase("jti"); }, "jti is required"},
      {"empty jti", [](auto& c) { c["jti"] = ""; }, "jti is required"},
      {"aud another server", [](auto& c) { c["aud"] = "https://other.example"; }, "is not this server"},
      {"aud array with an extra value", [](auto& c) { c["aud"] = {kIssuer, "https://other.example"}; },
       "must name this server only"},
      {"aud missing", [](auto& c) { c.erase("aud"); }, "missing aud"},
      {"aud with a trailing slash", [](auto& c) { c["aud"] = kIssuer + "/"; }, "is not this server"},
      {"expired", [this](auto& c) { c["exp"] = now_ - 300; }, "expired"},
      {"exp too far ahead", [this](auto& c) { c["exp"] = now_ + 3600; }, "too far in the future"},
      {"exp missing", [](auto& c) { c.erase("exp"); }, "exp"},
      {"not yet valid", [this](auto& c) { c["nbf"] = now_ + 600; }, "not yet valid"},
      {"iat in the future", [this](auto& c) { c["iat"] = now_ + 600; }, "iat is in the future"},
      {"iss != sub", [](auto& c) { c["iss"] = "spiffe://example.org/other"; }, "iss must equal sub"},
      {"sub not a SPIFFE ID", [](auto& c) { c["sub"] = "budget-report"; c["iss"] = "budget-report"; },
       "not a SPIFFE ID"},
      {"other trust domain", [](auto& c) {
         c["sub"] = "spiffe://other.org/x";
         c["iss"] = "spiffe://other.org/x";
       }, "no JWT bundle"},
  };
  for (auto& c : cases) {
    auto cl = claims();
    c.edit(cl);
    const auto why = rejection(sign(cl));
    EXPECT_NE(why.find(c.expect), std::string::npos) << c.what << ": " << why;
  }
}

TEST_F(SvidAssertion, RefusesAlgNoneHmacAndUnknownKeys) {
  EXPECT_NE(rejection(testing::unsecuredJws(claims())), "accepted");
  const auto published = authority_->publishedKeys();
  EXPECT_NE(rejection(testing::hs256WithPublicKey(published.front().key.get(), published.front().kid,
                                                  claims())),
            "accepted");
  auto stranger = jose::generateP256Key();
  auto unknown = jose::signCompact({{"kid", "not-published"}}, claims(), jose::Alg::kES256,
                                   stranger.get()).value();
  EXPECT_NE(rejection(unknown).find("unknown kid"), std::string::npos);
  // The right kid, the wrong key: the signature fails.
  auto forged = jose::signCompact({{"kid", published.front().kid}}, claims(), jose::Alg::kES256,
                                  stranger.get()).value();
  EXPECT_NE(rejection(forged), "accepted");
  // Header-supplied key material is never followed.
  auto jku = jose::signCompact({{"jku", "https://evil/jwks"}}, claims(), jose::Alg::kES256,
                               stranger.get()).value();
  EXPECT_NE(rejection(jku), "accepted");
}

TEST_F(SvidAssertion, AccessTokensAreNotCredentials) {
  auto token = authority_->sign({{"typ", "at+jwt"}}, claims()).value();
  EXPECT_NE(rejection(token).find("typ"), std::string::npos);
}

TEST_F(SvidAssertion, SubjectTokensNeedNoJtiAndMayLiveLonger) {
  auto c = claims();
  c.erase("jti");
  c["exp"] = now_ + 3600;
  auto ck = check();
  ck.client_assertion = false;
  EXPECT_TRUE(validateSvidToken(sign(c), testing::bundlesOf(*authority_), ck).ok());
}

// The embedded issuer with `jwt_issuer` mints JWT-SVIDs with iss = that URL (JWT-SVID
// spec §3 allows iss); they verify with the trust domain's keys like those without iss.
TEST_F(SvidAssertion, AcceptsTheEmbeddedIssuersJwtIssuerAsIss) {
  const std::string own = "https://oidc.example.org";
  auto ck = check();
  ck.own_issuer = own;
  ck.own_trust_domain = "example.org";
  auto c = claims();
  c["iss"] = own;
  auto v = validateSvidToken(sign(c), testing::bundlesOf(*authority_), ck);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->spiffe_id.str(), kClient);
  // Compared exactly: no trailing slash, case or port normalisation.
  for (const std::string& other : std::vector<std::string>{own + "/", "https://OIDC.example.org",
                                                           "https://oidc.example.org:443",
                                                           "https://other.example"}) {
    c["iss"] = other;
    auto r = validateSvidToken(sign(c), testing::bundlesOf(*authority_), ck);
    ASSERT_FALSE(r.ok()) << other;
    EXPECT_NE(r.error().message.find("iss must equal sub"), std::string::npos) << r.error().message;
  }
  // Not configured: the URL is no JWT-SVID issuer here.
  c["iss"] = own;
  EXPECT_NE(rejection(sign(c)).find("iss must equal sub"), std::string::npos);
}

// A federated trust domain's JWT-SVID verifies with its own bundle, but our jwt_issuer is
// not its to claim.
TEST_F(SvidAssertion, AFederatedTrustDomainCannotClaimTheEmbeddedIssuer) {
  auto federated = testing::memoryAuthority("other.org");
  auto bundles = testing::bundlesOf(*authority_);
  bundles.merge(testing::bundlesOf(*federated, "other.org"));
  auto ck = check();
  ck.own_issuer = "https://oidc.example.org";
  ck.own_trust_domain = "example.org";
  auto c = claims();
  c["sub"] = "spiffe://other.org/agent";
  c["iss"] = "spiffe://other.org/agent";
  EXPECT_TRUE(validateSvidToken(federated->sign({}, c).value(), bundles, ck).ok());
  c["iss"] = "https://oidc.example.org";
  auto r = validateSvidToken(federated->sign({}, c).value(), bundles, ck);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("JWT-SVID issuer of trust domain example.org, not of other.org"),
            std::string::npos)
      << r.error().message;
}

TEST(PeekToken, TellsJwtSvidsFromExternalTokens) {
  auto authority = testing::memoryAuthority();
  auto self = authority->sign({}, {{"iss", kClient}, {"sub", kClient}}).value();
  auto none = authority->sign({}, {{"sub", kClient}}).value();
  auto external = authority->sign({}, {{"iss", "https://idp"}, {"sub", "x"}}).value();
  EXPECT_FALSE(peekToken(self)->external(""));
  EXPECT_FALSE(peekToken(none)->external(""));
  EXPECT_TRUE(peekToken(external)->external(""));
  // The embedded issuer's jwt_issuer routes to the JWT-SVID validator; nothing else does.
  EXPECT_FALSE(peekToken(external)->external("https://idp"));
  EXPECT_TRUE(peekToken(external)->external("https://idp/"));
  EXPECT_FALSE(peekToken(self)->external("https://idp"));
  EXPECT_FALSE(peekToken(authority->sign({}, {{"iss", 5}}).value()).ok());
  EXPECT_FALSE(peekToken("not.a.jwt").ok());
}

class ExternalToken : public ::testing::Test {
 protected:
  ExternalTokenCheck check() const { return {gh_.issuer, {jose::Alg::kRS256}, now_, std::chrono::seconds(60)}; }
  std::string rejection(const std::string& token) const {
    auto r = validateExternalToken(token, keys_, check());
    return r.ok() ? "accepted" : r.error().message;
  }
  std::time_t now_ = std::time(nullptr);
  RsaIssuer gh_;
  ExternalKeySet keys_ = gh_.keySet();
};

TEST_F(ExternalToken, AcceptsAGitHubShapedToken) {
  auto v = validateExternalToken(gh_.mint(gh_.claims(now_)), keys_, check());
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->sub, "repo:octo/app:environment:prod");
  EXPECT_EQ(v->aud, std::vector<std::string>{"api://AzureADTokenExchange"});
}

TEST_F(ExternalToken, RefusesWhatO6Lists) {
  auto c = gh_.claims(now_);
  c["iss"] = gh_.issuer + "/";
  EXPECT_NE(rejection(gh_.mint(c)).find("iss does not equal"), std::string::npos);
  c = gh_.claims(now_);
  c["iss"] = " " + gh_.issuer;
  EXPECT_NE(rejection(gh_.mint(c)), "accepted");
  c = gh_.claims(now_);
  c["exp"] = now_ - 600;
  EXPECT_NE(rejection(gh_.mint(c)).find("expired"), std::string::npos);
  c = gh_.claims(now_);
  c.erase("sub");
  EXPECT_NE(rejection(gh_.mint(c)).find("sub"), std::string::npos);
  RsaIssuer rogue;  // same kid, a key that is not in the JWKS
  EXPECT_NE(rejection(rogue.mint(gh_.claims(now_))), "accepted");
  EXPECT_EQ(rejection(rogue.mint(gh_.claims(now_), "rogue-kid")), "unknown kid");
}

TEST_F(ExternalToken, AlgorithmIsPinnedPerIssuer) {
  auto ec = jose::generateP256Key();
  auto es = jose::signCompact({{"kid", gh_.kid}}, gh_.claims(now_), jose::Alg::kES256, ec.get()).value();
  EXPECT_NE(rejection(es).find("not allowed"), std::string::npos);
  EXPECT_NE(rejection(testing::unsecuredJws(gh_.claims(now_))), "accepted");
  EXPECT_NE(rejection(testing::hs256WithPublicKey(gh_.key.get(), gh_.kid, gh_.claims(now_))), "accepted");
  auto at = jose::signCompact({{"kid", gh_.kid}, {"typ", "at+jwt"}}, gh_.claims(now_),
                              jose::Alg::kRS256, gh_.key.get()).value();
  EXPECT_NE(rejection(at).find("typ"), std::string::npos);
  auto x5u = jose::signCompact({{"kid", gh_.kid}, {"x5u", "https://evil"}}, gh_.claims(now_),
                               jose::Alg::kRS256, gh_.key.get()).value();
  EXPECT_NE(rejection(x5u).find("x5u"), std::string::npos);
}

TEST(IssuerDocuments, DiscoveryIssuerMustMatchExactly) {
  const std::string iss = "https://token.actions.githubusercontent.com";
  const auto doc = [](const std::string& issuer, const std::string& jwks) {
    return nlohmann::json{{"issuer", issuer}, {"jwks_uri", jwks}}.dump();
  };
  EXPECT_EQ(parseDiscoveryDocument(doc(iss, iss + "/.well-known/jwks"), iss).value(),
            iss + "/.well-known/jwks");
  EXPECT_FALSE(parseDiscoveryDocument(doc(iss + "/", iss + "/jwks"), iss).ok());
  EXPECT_FALSE(parseDiscoveryDocument(doc("https://evil.example", iss + "/jwks"), iss).ok());
  EXPECT_FALSE(parseDiscoveryDocument(doc(iss, "http://plain/jwks"), iss).ok());
  EXPECT_FALSE(parseDiscoveryDocument(R"({"issuer":"a","issuer":"b"})", "b").ok());
  EXPECT_FALSE(parseDiscoveryDocument("[]", iss).ok());
}

TEST(IssuerDocuments, JwksKeepsUsableSigningKeysOnly) {
  RsaIssuer gh;
  auto set = gh.keySet();
  nlohmann::json jwk = nlohmann::json::object();
  ASSERT_TRUE(jose::writePublicJwk(gh.key.get(), jwk).ok());
  jwk["kid"] = "a";
  auto enc = jwk;
  enc["kid"] = "b";
  enc["use"] = "enc";
  auto nokid = jwk;
  nokid.erase("kid");
  nlohmann::json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "abc"}, {"kid", "c"}};
  auto parsed = parseJwks(nlohmann::json{{"keys", {jwk, enc, nokid, okp}}}.dump(), "i");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->keys.size(), 1u);
  EXPECT_TRUE(parsed->keys.contains("a"));
  EXPECT_FALSE(parseJwks(nlohmann::json{{"keys", {jwk, jwk}}}.dump(), "i").ok()) << "duplicate kid";
  auto priv = jwk;
  priv["d"] = "AAAA";
  EXPECT_FALSE(parseJwks(nlohmann::json{{"keys", {priv}}}.dump(), "i").ok());
  auto wrong_alg = jwk;
  wrong_alg["alg"] = "ES256";
  EXPECT_FALSE(parseJwks(nlohmann::json{{"keys", {wrong_alg}}}.dump(), "i").ok());
  EXPECT_FALSE(parseJwks(R"({"keys":{}})", "i").ok());
}

}  // namespace
}  // namespace warden::tokenservice
