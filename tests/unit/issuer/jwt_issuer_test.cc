// The embedded issuer as a JWT issuer that relying parties outside SPIFFE can trust:
// `jwt_issuer` (the JWT-SVID spec allows `iss`; SPIRE's jwt_issuer), RSA JWT signing keys
// (`jwt_key_type: rsa-2048`; Microsoft Entra accepts only RSA-signed external tokens for
// workload identity federation, identity-standards §8.1) that rotate like the EC ones,
// and the OIDC discovery documents (OpenID Connect Discovery 1.0 §3/§4, RFC 7517) that
// carry their public keys with `use: sig`.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/https_url.h"
#include "identity/jwt_svid.h"
#include "issuer/issuer.h"
#include "issuer/oidc_discovery.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/test_pki.h"

namespace warden::issuer {
namespace {

using Json = nlohmann::json;

constexpr char kIssuerUrl[] = "https://oidc.example.org";
constexpr char kAudience[] = "api://AzureADTokenExchange";

RegistrationEntry entry(const std::string& name) {
  RegistrationEntry e;
  e.name = name;
  e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + name).value();
  e.selectors = {"unix:uid:1"};
  return e;
}

std::unique_ptr<Issuer> makeIssuer(JwtKeyType type, const std::string& jwt_issuer,
                                   const std::string& state_dir = {}) {
  IssuerOptions o;
  o.trust_domain = "example.org";
  o.state_dir = state_dir;
  o.jwt_key_type = type;
  o.jwt_issuer = jwt_issuer;
  auto issuer = Issuer::create(o, {entry("a")});
  EXPECT_TRUE(issuer.ok()) << (issuer.ok() ? "" : issuer.error().message);
  return issuer.ok() ? std::move(*issuer) : nullptr;
}

std::string mintOne(Issuer& issuer) {
  auto minted = issuer.mintJwtSvids(issuer.entriesFor({"unix:uid:1"}, ""), {kAudience}, "");
  if (minted.index() != 0 || std::get<0>(minted).size() != 1) return {};
  return std::get<0>(minted)[0].token;
}

// Verifies `token` the way an OIDC relying party does: the key by kid from the JWK Set
// (only keys with use "sig"), the algorithm the key's `alg` names.
Status verifyWithJwks(const std::string& token, const std::string& jwks_text) {
  auto jws = jose::parseCompact(token);
  if (!jws) return jws.error();
  const Json jwks = Json::parse(jwks_text, nullptr, false);
  if (!jwks.is_object()) return Error{"JWKS is not JSON"};
  for (const auto& k : jwks.value("keys", Json::array())) {
    if (k.value("kid", "") != jws->header.value("kid", "") || k.value("use", "") != "sig") {
      continue;
    }
    auto key = jose::readPublicJwk(k);
    if (!key) return key.error();
    const auto alg = jose::algFromName(k.value("alg", ""));
    if (!alg) return Error{"JWK without a known alg"};
    return jose::verify(*jws, *alg, key->get());
  }
  return Error{"no key with the token's kid"};
}

// JWT-SVID spec §3 (claims; `iss` allowed) and identity-standards §8.1 (Entra: RS256,
// iss = the FIC issuer): RS256 with iss, verified through the published JWKS and through
// the SPIFFE bundle (kty RSA, use jwt-svid) with the ordinary JWT-SVID validation.
TEST(JwtIssuer, RsaKeysMintRs256JwtSvidsWithIssVerifiableByThePublishedKeys) {
  auto issuer = makeIssuer(JwtKeyType::kRsa2048, kIssuerUrl);
  ASSERT_NE(issuer, nullptr);
  const std::string token = mintOne(*issuer);
  ASSERT_FALSE(token.empty());
  auto jws = jose::parseCompact(token);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->header["alg"], "RS256");
  EXPECT_EQ(jws->header["typ"], "JWT");
  EXPECT_EQ(jws->header["kid"], issuer->jwtAuthority().activeKid());
  EXPECT_EQ(jws->payload["iss"], kIssuerUrl);
  EXPECT_EQ(jws->payload["sub"], "spiffe://example.org/a");
  EXPECT_EQ(jws->payload["aud"], Json::array({kAudience}));

  const auto keys = issuer->jwtAuthority().publishedKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_get_base_id(keys[0].key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(keys[0].key.get()), 2048);

  // The OIDC JWKS (jwks_uri): kty RSA, use sig, alg RS256, the kid.
  const std::string jwks = oidcJwks(keys);
  const Json jwk = Json::parse(jwks)["keys"][0];
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwk["kid"], keys[0].kid);
  EXPECT_FALSE(jwk.contains("d"));
  ASSERT_TRUE(verifyWithJwks(token, jwks).ok()) << verifyWithJwks(token, jwks).message();
  std::string tampered = token;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifyWithJwks(tampered, jwks).ok());

  // The SPIFFE bundle (bundle endpoint) and the Workload API JWT bundle carry the same
  // RSA key as a jwt-svid authority; a JWT-SVID validator takes the token through them.
  const Json bundle = Json::parse(issuer->ownBundle().toJson());
  bool found = false;
  for (const auto& k : bundle["keys"]) {
    if (k.value("use", "") != "jwt-svid") continue;
    found = true;
    EXPECT_EQ(k["kty"], "RSA");
    EXPECT_EQ(k["kid"], keys[0].kid);
  }
  EXPECT_TRUE(found) << bundle.dump();
  const Json workload_jwks = Json::parse(issuer->jwtBundles().at("example.org").jwtJwks());
  EXPECT_EQ(workload_jwks["keys"][0]["kty"], "RSA");
  auto parsed = identity::parseSpiffeBundle(issuer->ownBundle().toJson(), "example.org");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto valid = identity::validateJwtSvid(token, {{"example.org", *parsed}}, {kAudience});
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  EXPECT_EQ(valid->claims["iss"], kIssuerUrl);
  EXPECT_TRUE(issuer->validateJwtSvid(kAudience, token).ok());
}

// The default stays what it was: ES256 and no `iss`.
TEST(JwtIssuer, DefaultIsEs256WithoutIss) {
  auto issuer = makeIssuer(JwtKeyType::kEcP256, "");
  ASSERT_NE(issuer, nullptr);
  auto jws = jose::parseCompact(mintOne(*issuer));
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->header["alg"], "ES256");
  EXPECT_FALSE(jws->payload.contains("iss")) << jws->payload.dump();
  const Json jwk = Json::parse(oidcJwks(issuer->jwtAuthority().publishedKeys()))["keys"][0];
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["alg"], "ES256");
}

// Rotation (jwt_authority.h): the next RSA key is published before it signs, and the key
// it replaces stays published while tokens it signed may be alive.
TEST(JwtIssuer, RsaKeysRotateWithTheNextKeyPublishedBeforeItSigns) {
  auto issuer = makeIssuer(JwtKeyType::kRsa2048, kIssuerUrl);
  ASSERT_NE(issuer, nullptr);
  const std::string first_kid = issuer->jwtAuthority().activeKid();
  const std::string before = mintOne(*issuer);

  ASSERT_TRUE(issuer->prepareRotation().ok());
  const auto prepared = issuer->jwtAuthority().publishedKeys();
  ASSERT_EQ(prepared.size(), 2u);
  std::string next_kid;
  for (const auto& k : prepared) {
    EXPECT_EQ(EVP_PKEY_get_base_id(k.key.get()), EVP_PKEY_RSA);
    if (k.kid != first_kid) next_kid = k.kid;
  }
  ASSERT_FALSE(next_kid.empty());
  // Published, not yet signing.
  EXPECT_EQ(jose::parseCompact(mintOne(*issuer))->header["kid"], first_kid);
  const std::string jwks_before_switch = oidcJwks(prepared);

  ASSERT_TRUE(issuer->activateRotation().ok());
  const std::string after = mintOne(*issuer);
  EXPECT_EQ(jose::parseCompact(after)->header["kid"], next_kid);
  EXPECT_EQ(jose::parseCompact(after)->header["alg"], "RS256");
  // A relying party that fetched the keys before the switch verifies the new tokens...
  EXPECT_TRUE(verifyWithJwks(after, jwks_before_switch).ok());
  // ...and one that fetches them now still verifies the old ones.
  EXPECT_TRUE(verifyWithJwks(before, oidcJwks(issuer->jwtAuthority().publishedKeys())).ok());
}

// A state directory made with EC keys, reopened with rsa-2048: the active EC key keeps
// signing ES256 (no relying party has an RSA key yet); the next key is RSA.
TEST(JwtIssuer, KeyTypeChangeTakesEffectWithTheNextKey) {
  testing::TempDir dir;
  {
    auto ec = makeIssuer(JwtKeyType::kEcP256, kIssuerUrl, dir.path());
    ASSERT_NE(ec, nullptr);
  }
  auto issuer = makeIssuer(JwtKeyType::kRsa2048, kIssuerUrl, dir.path());
  ASSERT_NE(issuer, nullptr);
  EXPECT_EQ(jose::parseCompact(mintOne(*issuer))->header["alg"], "ES256");
  ASSERT_TRUE(issuer->prepareRotation().ok());
  ASSERT_TRUE(issuer->activateRotation().ok());
  const std::string token = mintOne(*issuer);
  EXPECT_EQ(jose::parseCompact(token)->header["alg"], "RS256");
  // Both algorithms are announced while both kinds of keys are published.
  const Json discovery =
      Json::parse(oidcDiscoveryDocument(kIssuerUrl, issuer->jwtAuthority().publishedKeys()));
  EXPECT_EQ(discovery["id_token_signing_alg_values_supported"], Json::array({"ES256", "RS256"}));
  // And the RSA key survives a restart.
  issuer.reset();
  auto reopened = makeIssuer(JwtKeyType::kRsa2048, kIssuerUrl, dir.path());
  ASSERT_NE(reopened, nullptr);
  const std::string again = mintOne(*reopened);
  EXPECT_EQ(jose::parseCompact(again)->header["alg"], "RS256");
  EXPECT_TRUE(reopened->validateJwtSvid(kAudience, token).ok());
}

// OpenID Connect Discovery 1.0 §3 (the members) and §4 (the location: issuer + path).
TEST(JwtIssuer, DiscoveryDocumentNamesTheIssuerAndItsJwksUri) {
  auto issuer = makeIssuer(JwtKeyType::kRsa2048, kIssuerUrl);
  ASSERT_NE(issuer, nullptr);
  const Json doc =
      Json::parse(oidcDiscoveryDocument(kIssuerUrl, issuer->jwtAuthority().publishedKeys()));
  EXPECT_EQ(doc["issuer"], kIssuerUrl);
  EXPECT_EQ(doc["jwks_uri"], std::string(kIssuerUrl) + "/keys");
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], Json::array({"RS256"}));
  EXPECT_EQ(doc["response_types_supported"], Json::array({"id_token"}));
  EXPECT_EQ(doc["subject_types_supported"], Json::array({"public"}));

  EXPECT_EQ(oidcDiscoveryPath(kIssuerUrl), "/.well-known/openid-configuration");
  EXPECT_EQ(oidcJwksPath(kIssuerUrl), "/keys");
  EXPECT_EQ(oidcDiscoveryPath("https://h.example:8443/tenant/a"),
            "/tenant/a/.well-known/openid-configuration");
  EXPECT_EQ(oidcJwksPath("https://h.example:8443/tenant/a"), "/tenant/a/keys");
  EXPECT_EQ(oidcJwksUri("https://h.example:8443/tenant/a"), "https://h.example:8443/tenant/a/keys");
}

TEST(JwtIssuer, IssuerUrlsAreValidatedStrictly) {
  for (const char* good : {"https://oidc.example.org", "https://127.0.0.1:8443",
                           "https://h.example/tenant/1", "https://[::1]:9"}) {
    EXPECT_TRUE(validateIssuerUrl(good).ok()) << good << ": " << validateIssuerUrl(good).message();
  }
  const std::pair<const char*, const char*> bad[] = {
      {"http://oidc.example.org", "must use https"},
      {"oidc.example.org", "absolute https URL"},
      {"https://", "must name a host"},
      {"https://user@oidc.example.org", "userinfo"},
      {"https://oidc.example.org?x=1", "query or fragment"},
      {"https://oidc.example.org#x", "query or fragment"},
      {"https://oidc.example.org/", "must not end with '/'"},
      {"https://oidc.example.org:0", "invalid port"},
      {"https://oidc.example.org:99999", "invalid port"},
      {"https://oidc example.org", "absolute https URL"},
  };
  for (const auto& [url, expected] : bad) {
    const auto st = validateIssuerUrl(url);
    ASSERT_FALSE(st.ok()) << url;
    EXPECT_NE(st.message().find(expected), std::string::npos) << url << ": " << st.message();
  }
  IssuerOptions o;
  o.trust_domain = "example.org";
  o.jwt_issuer = "http://oidc.example.org";
  auto refused = Issuer::create(o, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("jwt_issuer"), std::string::npos);
}

}  // namespace
}  // namespace warden::issuer
