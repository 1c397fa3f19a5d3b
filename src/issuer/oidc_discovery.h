// OIDC discovery for the JWT-SVID issuer (`jwt_issuer`), as SPIRE's OIDC Discovery
// Provider serves it: what a relying party that knows only an issuer URL needs to verify
// JWT-SVIDs, e.g. Microsoft Entra workload identity federation (identity-standards §8.1).
//
//   <jwt_issuer>/.well-known/openid-configuration   (OpenID Connect Discovery 1.0 §4)
//     {issuer, jwks_uri, response_types_supported: ["id_token"],
//      subject_types_supported: ["public"], id_token_signing_alg_values_supported}
//   <jwt_issuer>/keys                               (jwks_uri; RFC 7517 JWK Set)
//     the JWT-SVID signing keys, each with kid, `use: sig` and its alg
//
// The SPIFFE bundle marks the same keys `use: jwt-svid`; a generic OIDC/JOSE client skips
// keys whose `use` is not `sig` (RFC 7517 §4.2), hence a document of its own.
// Trust posture: everything here is public key material and configuration.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_bundle.h"

namespace warden::issuer {

// The request paths, on the issuer's host, of the two documents (the issuer URL's path
// followed by the suffix). `issuer` must be valid (validateIssuerUrl, common/https_url.h).
std::string oidcDiscoveryPath(std::string_view issuer);
std::string oidcJwksPath(std::string_view issuer);
std::string oidcJwksUri(std::string_view issuer);

// The discovery document; its algorithms are those of `keys` (what they sign with).
std::string oidcDiscoveryDocument(std::string_view issuer,
                                  const std::vector<identity::JwtAuthority>& keys);
// The JWK Set of `keys`, each {kty, ..., kid, use: "sig", alg}.
std::string oidcJwks(const std::vector<identity::JwtAuthority>& keys);

}  // namespace warden::issuer
