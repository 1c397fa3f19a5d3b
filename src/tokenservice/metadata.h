// The token service's published documents: authorization server metadata (OIDC
// Discovery 1.0 §3 and RFC 8414 §2; one document served at both locations) and the JWKS
// of its access-token keys (every published key: prepared, active and retired, so a key
// is in the JWKS before it signs and after it stops, identity-standards §7.6).
//
// There is no authorization endpoint: this server issues tokens to machines only, so
// response_types_supported is empty (the member is required by both specs; an empty list
// says that no response type is supported).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "identity/spiffe_bundle.h"

namespace warden::tokenservice {

struct Endpoints {
  std::string issuer;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string oidc_discovery_path;   // <issuer path>/.well-known/openid-configuration
  std::string oauth_metadata_path;   // /.well-known/oauth-authorization-server<issuer path>
  std::string token_path;
  std::string jwks_path;
};

// Derives every URL and path from the issuer identifier (validated beforehand).
Endpoints endpointsFor(const std::string& issuer);

std::string metadataDocument(const Endpoints& endpoints, const std::vector<std::string>& audiences);
// {"keys":[{kty, crv, x, y, kid, alg: ES256, use: sig}, ...]}
std::string jwksDocument(const std::vector<identity::JwtAuthority>& keys);

}  // namespace warden::tokenservice
