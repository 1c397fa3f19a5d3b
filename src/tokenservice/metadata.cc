#include "tokenservice/metadata.h"

#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "jose/jwk.h"

namespace warden::tokenservice {

Endpoints endpointsFor(const std::string& issuer) {
  Endpoints e;
  e.issuer = issuer;
  std::string path;
  if (auto url = boost::urls::parse_absolute_uri(issuer)) path = std::string(url->encoded_path());
  if (path == "/") path.clear();
  e.token_path = path + "/token";
  e.jwks_path = path + "/jwks";
  e.oidc_discovery_path = path + "/.well-known/openid-configuration";
  e.oauth_metadata_path = "/.well-known/oauth-authorization-server" + path;
  e.token_endpoint = issuer + "/token";
  e.jwks_uri = issuer + "/jwks";
  return e;
}

std::string metadataDocument(const Endpoints& e, const std::vector<std::string>& audiences) {
  nlohmann::json scopes = nlohmann::json::array();
  for (const auto& a : audiences) scopes.push_back(a + "/.default");
  // What validateJwtSvid accepts for client assertions (never none or HS*).
  const nlohmann::json assertion_algs = {"ES256", "ES384", "ES512", "RS256", "RS384",
                                         "RS512", "PS256", "PS384", "PS512"};
  nlohmann::json doc = {
      {"issuer", e.issuer},
      {"token_endpoint", e.token_endpoint},
      {"jwks_uri", e.jwks_uri},
      {"grant_types_supported",
       {"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"}},
      {"token_endpoint_auth_methods_supported", {"private_key_jwt", "tls_client_auth"}},
      {"token_endpoint_auth_signing_alg_values_supported", assertion_algs},
      {"tls_client_certificate_bound_access_tokens", true},
      // The same listener asks for (but does not require) a client certificate.
      {"mtls_endpoint_aliases", {{"token_endpoint", e.token_endpoint}}},
      {"scopes_supported", scopes},
      {"response_types_supported", nlohmann::json::array()},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"ES256"}},
      {"claims_supported",
       {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "roles", "cnf", "act"}},
  };
  return doc.dump();
}

std::string jwksDocument(const std::vector<identity::JwtAuthority>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : keys) {
    nlohmann::json jwk = nlohmann::json::object();
    if (!jose::writePublicJwk(k.key.get(), jwk)) continue;
    jwk["kid"] = k.kid;
    jwk["alg"] = "ES256";
    jwk["use"] = "sig";
    list.push_back(std::move(jwk));
  }
  return nlohmann::json{{"keys", list}}.dump();
}

}  // namespace warden::tokenservice
