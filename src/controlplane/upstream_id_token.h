// The checks on an external provider's ID token (OIDC Core §3.1.3.7) that the layer-3
// signature verifier (token/access_token.h) does not already make, and what Warden takes
// from a token that passed: the principal's subject and role.
//
// The verifier has checked, before these run: the compact JWS strictly parsed, never alg
// none or HMAC (no secret is configured), `iss` exactly the provider's (item 2), `aud`
// holding our client_id (item 3), the signature with a key from the provider's JWKS by kid
// (item 6), `exp` (item 9) and `iat` not in the future, each with the clock skew.
// Here: `alg` among the provider's advertised id_token_signing_alg_values_supported (item
// 7), `azp` (items 4 and 5), `sub` present, `iat` not too old (item 10), `nonce` equal to
// the one sent (item 11).
//
// Trust posture: the token's signature has verified, but its claims still come from a
// provider we only partly trust: subject values are bounded and limited to printable text,
// and the role comes only from the configured value lists (role_mapping.h).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "controlplane/principal.h"
#include "controlplane/sign_in_provider_config.h"
#include "token/access_token.h"

namespace warden::controlplane {

struct IdTokenExpectations {
  std::string client_id;
  std::string nonce;                    // the one sent with the authorization request
  std::vector<std::string> algorithms;  // the provider's advertised, usable ones
  std::int64_t now = 0;                 // Unix seconds
  std::chrono::seconds max_age{std::chrono::minutes(10)};  // iat at most this old
  std::chrono::seconds skew{60};
};

Status checkIdToken(const token::VerifiedToken& token, const IdTokenExpectations& expected);

// "<provider name>:<value>", the value from subject_claim (default preferred_username,
// falling back to sub): printable, at most 256 bytes.
Result<std::string> upstreamSubject(const nlohmann::json& claims,
                                    const SignInProviderConfig& provider);

// The role the provider's role_claim values grant (admin > developer > viewer), or kNone.
Role upstreamRole(const token::VerifiedToken& token, const SignInProviderConfig& provider);

}  // namespace warden::controlplane
