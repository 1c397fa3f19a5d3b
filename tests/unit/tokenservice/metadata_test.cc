// Published documents: metadata at both well-known locations, and the JWKS.
#include "tokenservice/metadata.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokens.h"

namespace warden::tokenservice {
namespace {

TEST(Metadata, EndpointsFollowOidcAndRfc8414Placement) {
  auto root = endpointsFor("https://127.0.0.1:8443");
  EXPECT_EQ(root.oidc_discovery_path, "/.well-known/openid-configuration");
  EXPECT_EQ(root.oauth_metadata_path, "/.well-known/oauth-authorization-server");
  EXPECT_EQ(root.token_endpoint, "https://127.0.0.1:8443/token");
  EXPECT_EQ(root.token_path, "/token");
  auto tenant = endpointsFor("https://auth.example/tenant1");
  EXPECT_EQ(tenant.oidc_discovery_path, "/tenant1/.well-known/openid-configuration");
  EXPECT_EQ(tenant.oauth_metadata_path, "/.well-known/oauth-authorization-server/tenant1");
  EXPECT_EQ(tenant.jwks_uri, "https://auth.example/tenant1/jwks");
  EXPECT_EQ(tenant.jwks_path, "/tenant1/jwks");
}

TEST(Metadata, DocumentAdvertisesWhatTheEndpointDoes) {
  const auto doc = nlohmann::json::parse(
      metadataDocument(endpointsFor("https://127.0.0.1:8443"), {"api://budget-backend"}));
  EXPECT_EQ(doc["issuer"], "https://127.0.0.1:8443");
  EXPECT_EQ(doc["jwks_uri"], "https://127.0.0.1:8443/jwks");
  EXPECT_EQ(doc["token_endpoint_auth_methods_supported"],
            nlohmann::json({"private_key_jwt", "tls_client_auth"}));
  EXPECT_EQ(doc["tls_client_certificate_bound_access_tokens"], true);
  EXPECT_EQ(doc["grant_types_supported"],
            nlohmann::json({"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}));
  EXPECT_EQ(doc["scopes_supported"], nlohmann::json({"api://budget-backend/.default"}));
  for (const auto& alg : doc["token_endpoint_auth_signing_alg_values_supported"]) {
    EXPECT_NE(alg, "none");
    EXPECT_FALSE(alg.get<std::string>().starts_with("HS"));
  }
}

TEST(Metadata, JwksPublishesThePreparedKeyBeforeItSigns) {
  auto keys = testing::memoryAuthority();
  const auto active = keys->activeKid();
  ASSERT_TRUE(keys->prepareNext().ok());
  auto jwks = nlohmann::json::parse(jwksDocument(keys->publishedKeys()));
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(keys->activeKid(), active) << "prepared, not yet signing";
  for (const auto& k : jwks["keys"]) {
    EXPECT_EQ(k["kty"], "EC");
    EXPECT_EQ(k["alg"], "ES256");
    EXPECT_EQ(k["use"], "sig");
    EXPECT_FALSE(k.contains("d"));
  }
  ASSERT_TRUE(keys->activatePrepared().ok());
  EXPECT_NE(keys->activeKid(), active);
  jwks = nlohmann::json::parse(jwksDocument(keys->publishedKeys()));
  bool old_still_published = false;
  for (const auto& k : jwks["keys"]) old_still_published = old_still_published || k["kid"] == active;
  EXPECT_TRUE(old_still_published) << "retired keys stay until their tokens expire";
}

}  // namespace
}  // namespace warden::tokenservice
