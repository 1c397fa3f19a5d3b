#include "issuer/oidc_discovery.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "issuer/jwt_authority.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::issuer {
namespace {

constexpr std::string_view kDiscoverySuffix = "/.well-known/openid-configuration";
// SPIRE's OIDC Discovery Provider serves its JWKS at /keys.
constexpr std::string_view kJwksSuffix = "/keys";

std::string pathOf(std::string_view issuer) {
  auto parsed = boost::urls::parse_absolute_uri(issuer);
  return parsed ? std::string(parsed->encoded_path()) : std::string();
}

}  // namespace

std::string oidcDiscoveryPath(std::string_view issuer) {
  return pathOf(issuer) + std::string(kDiscoverySuffix);
}

std::string oidcJwksPath(std::string_view issuer) { return pathOf(issuer) + std::string(kJwksSuffix); }

std::string oidcJwksUri(std::string_view issuer) {
  return std::string(issuer) + std::string(kJwksSuffix);
}

std::string oidcDiscoveryDocument(std::string_view issuer,
                                  const std::vector<identity::JwtAuthority>& keys) {
  std::set<std::string> algs;
  for (const auto& k : keys) algs.insert(std::string(jose::algName(jwtAlgFor(k.key.get()))));
  // The members OpenID Connect Discovery 1.0 §3 requires, except authorization_endpoint:
  // there is no authorization flow here (JWT-SVIDs come from the Workload API), and the
  // relying parties of a token issuer (Entra FIC among them) use only issuer and jwks_uri.
  const nlohmann::json doc = {
      {"issuer", std::string(issuer)},
      {"jwks_uri", oidcJwksUri(issuer)},
      {"response_types_supported", nlohmann::json::array({"id_token"})},
      {"subject_types_supported", nlohmann::json::array({"public"})},
      {"id_token_signing_alg_values_supported", algs},
  };
  return doc.dump();
}

std::string oidcJwks(const std::vector<identity::JwtAuthority>& keys) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : keys) {
    nlohmann::json jwk;
    // Our keys are P-256 or RSA, which JWK always describes; a key it could not is left
    // out rather than published half-written.
    if (!jose::writePublicJwk(k.key.get(), jwk)) continue;
    jwk["kid"] = k.kid;
    jwk["use"] = "sig";
    jwk["alg"] = std::string(jose::algName(jwtAlgFor(k.key.get())));
    out.push_back(std::move(jwk));
  }
  return nlohmann::json{{"keys", std::move(out)}}.dump();
}

}  // namespace warden::issuer
