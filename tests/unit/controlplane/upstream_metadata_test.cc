// An external provider's discovery document as the portal's sign-in reads it
// (upstream_metadata.h, OIDC Discovery §3 and §4.3).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "controlplane/upstream_metadata.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

const std::string kIssuer = "https://idp.example/realms/corp";

json document() {
  return {{"issuer", kIssuer},
          {"authorization_endpoint", kIssuer + "/protocol/openid-connect/auth"},
          {"token_endpoint", kIssuer + "/protocol/openid-connect/token"},
          {"jwks_uri", kIssuer + "/protocol/openid-connect/certs"},
          {"response_types_supported", {"code", "id_token"}},
          {"id_token_signing_alg_values_supported", {"HS256", "RS256", "none", "ES256", "RS256"}},
          {"token_endpoint_auth_methods_supported", {"private_key_jwt", "client_secret_basic"}},
          {"authorization_response_iss_parameter_supported", true}};
}

TEST(UpstreamMetadataTest, ReadsEndpointsAndUsableAlgorithms) {
  auto m = parseProviderMetadata(document().dump(), kIssuer);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->authorization_endpoint, kIssuer + "/protocol/openid-connect/auth");
  EXPECT_EQ(m->token_endpoint.host, "idp.example");
  EXPECT_EQ(m->token_endpoint.target, "/realms/corp/protocol/openid-connect/token");
  // Never none, never HMAC; each once.
  EXPECT_EQ(m->id_token_algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_TRUE(m->iss_parameter);
}

TEST(UpstreamMetadataTest, RefusesDocumentsThatCannotBeTrustedOrUsed) {
  auto with = [](const char* key, json value) {
    auto d = document();
    if (value.is_null()) {
      d.erase(key);
    } else {
      d[key] = std::move(value);
    }
    return d.dump();
  };
  for (const auto& [doc, why] : std::vector<std::pair<std::string, std::string>>{
           // §4.3: exactly the configured issuer (a trailing slash is another issuer).
           {with("issuer", kIssuer + "/"), "names issuer"},
           {with("issuer", nullptr), "issuer"},
           {with("authorization_endpoint", "http://idp.example/auth"), "authorization_endpoint"},
           {with("token_endpoint", nullptr), "token_endpoint"},
           {with("token_endpoint", "ftp://idp.example/token"), "token_endpoint"},
           {with("response_types_supported", {"id_token"}), "response_type code"},
           {with("token_endpoint_auth_methods_supported", {"private_key_jwt"}),
            "client_secret_basic"},
           {with("id_token_signing_alg_values_supported", {"none", "HS256"}), "algorithm"},
           {with("id_token_signing_alg_values_supported", nullptr),
            "id_token_signing_alg_values_supported"},
           {"[]", "not an object"},
           {R"({"issuer":"a","issuer":"b"})", "discovery document"},
       }) {
    auto m = parseProviderMetadata(doc, kIssuer);
    ASSERT_FALSE(m.ok()) << doc;
    EXPECT_NE(m.error().message.find(why), std::string::npos) << m.error().message;
  }
  // Omitted auth methods mean client_secret_basic; omitted iss support means none promised.
  auto d = document();
  d.erase("token_endpoint_auth_methods_supported");
  d.erase("authorization_response_iss_parameter_supported");
  auto m = parseProviderMetadata(d.dump(), kIssuer);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->iss_parameter);
}

}  // namespace
}  // namespace warden::controlplane
