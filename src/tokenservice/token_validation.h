// Validation of the JWTs a token request carries: client assertions and token-exchange
// subject/actor tokens. Two kinds, told apart before anything is trusted:
//
//   JWT-SVID     `iss` absent, equal to `sub`, or the embedded issuer's own `jwt_issuer`
//                (the `iss` it puts in every JWT-SVID it mints when one is configured).
//                Verified with identity::validateJwtSvid against the SPIFFE bundle of
//                `sub`'s trust domain (kid lookup, alg pinned by key type, never none/HS*,
//                no jku/x5u/jwk/x5c), then the RFC 7523 rules below.
//   external     any other `iss`: an OIDC token of a configured external issuer (GitHub
//                Actions, another IdP), verified with that issuer's JWKS and its pinned
//                algorithms; then matched against federated-credential rules
//                (agent_policy.h). An `iss` that is no configured issuer is refused there.
//
// RFC 7523 §3 rules for a JWT-SVID used as a client assertion (and, without the jti and
// lifetime rules, as a subject or actor token):
//   - `aud` is exactly one value (a string, or an array of one) and it is this server's
//     issuer identifier or, for compatibility, its token endpoint URL (rfc7523bis: an
//     array with other values is how audience injection works, so it is refused);
//   - `iss`, when present, equals `sub`, or is the embedded issuer's `jwt_issuer` and `sub`
//     is in the embedded issuer's own trust domain. RFC 7523 §3 asks for iss = sub =
//     client_id because a client normally signs its own assertion; a JWT-SVID is signed by
//     its trust domain's authority, which is its issuer (JWT-SVID spec §3 makes `iss`
//     optional), so its absence is accepted and the authority's own issuer URL is too. A
//     federated trust domain's JWT-SVID cannot claim our `jwt_issuer`;
//   - `exp` is required and at most `max_lifetime` (+ leeway) ahead;
//   - `jti` is required (OIDC private_key_jwt) and single use (ReplayCache);
//   - `typ`, if present, is JWT or JOSE (never at+jwt: an access token is not a
//     credential).
// Trust posture: tokens are attacker-controlled until verified; the bundles and the
// external key sets are trusted inputs. Nothing read from a token header chooses a key
// source. Thread-safety: pure functions.
#pragma once

#include <openssl/ossl_typ.h>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_bundle.h"
#include "identity/spiffe_id.h"
#include "jose/jws.h"

namespace warden::tokenservice {

// Unverified facts used only to route a token to the right validator.
struct TokenPeek {
  std::string iss;  // empty when absent
  std::string sub;
  std::string kid;
  // The header names a certificate (x5t, x5t#S256, x5c): signed with an X.509 key, as a
  // client holding only an X509-SVID signs its own assertions.
  bool names_certificate = false;
  // Whether the token goes to the external-issuer path (see above). `own_issuer` is the
  // embedded issuer's `jwt_issuer` (empty when none is configured); a token naming it is a
  // JWT-SVID, and validateSvidToken decides whether it may name it.
  bool external(std::string_view own_issuer) const {
    return !iss.empty() && iss != sub && (own_issuer.empty() || iss != own_issuer);
  }
};
Result<TokenPeek> peekToken(std::string_view token);

struct SvidTokenCheck {
  std::vector<std::string> audiences;  // accepted `aud` values (issuer, token endpoint)
  std::time_t now = 0;
  std::chrono::seconds leeway{60};
  std::chrono::seconds max_lifetime{std::chrono::minutes(10)};
  bool client_assertion = true;  // jti required and exp bounded by max_lifetime
  // The embedded issuer's `jwt_issuer` (empty: none) and its trust domain: a JWT-SVID of
  // that trust domain may carry it as `iss`.
  std::string own_issuer;
  std::string own_trust_domain;
};

struct ValidatedSvidToken {
  identity::SpiffeId spiffe_id;
  std::string jti;
  std::time_t exp = 0;
  nlohmann::json claims;
};

Result<ValidatedSvidToken> validateSvidToken(std::string_view token,
                                             const std::map<std::string, identity::SpiffeBundle>& bundles,
                                             const SvidTokenCheck& check);

// One external issuer's verification keys, from its JWKS.
struct ExternalKey {
  std::shared_ptr<EVP_PKEY> key;
  std::optional<jose::Alg> alg;  // the JWK's `alg`, when it names one
};
struct ExternalKeySet {
  std::string issuer;
  std::map<std::string, ExternalKey> keys;  // by kid
};

// The discovery document of `expected_issuer`: its `issuer` must equal it exactly (OIDC
// Discovery §4.3: a mix-up guard) and `jwks_uri` must be an https URL. Returns jwks_uri.
Result<std::string> parseDiscoveryDocument(std::string_view json_text,
                                           std::string_view expected_issuer);
// A JWKS: keys without kid, with `use` other than sig, or of an unknown type are skipped;
// a malformed key of a known type, a private key or a duplicate kid rejects the document.
Result<ExternalKeySet> parseJwks(std::string_view json_text, std::string_view issuer);

struct ExternalTokenCheck {
  std::string issuer;
  std::vector<jose::Alg> algorithms;
  std::time_t now = 0;
  std::chrono::seconds leeway{60};
};

struct ValidatedExternalToken {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  std::time_t exp = 0;
  nlohmann::json claims;
};

// Unknown kid is reported with the message "unknown kid" (the caller may refetch once).
Result<ValidatedExternalToken> validateExternalToken(std::string_view token,
                                                     const ExternalKeySet& keys,
                                                     const ExternalTokenCheck& check);

}  // namespace warden::tokenservice
