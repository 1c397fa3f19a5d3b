// Layer 3: verification of OAuth2 JWT access tokens (RFC 9068) under the rules of RFC 8725,
// for one target's TokenRequirements; the role check; the binding of a token to the caller.
//
// Trust posture: the token is attacker-controlled until its signature verifies, and the
// caller identity comes from this connection's verified TLS handshake. In order:
//   1. empty -> token_missing; over kMaxTokenBytes -> token_too_large (before any parsing).
//   2. compact JWS parsed strictly (jose::parseCompact: three parts, UTF-8 JSON objects, no
//      duplicate members, no `crit`, never alg none) -> invalid_token (none: alg_not_allowed).
//   3. header: `jku`, `x5u`, `jwk` (key locators and embedded keys, RFC 8725 §3.10) and
//      `cty` (nested tokens) refuse the token; `x5c` is ignored, never trusted.
//   4. `iss` selects the issuer among this target's, by exact string (no case or trailing
//      slash normalisation) -> wrong_issuer.
//   5. `alg` must be pinned for that issuer -> alg_not_allowed; `typ` as the issuer
//      requires (at+jwt / application/at+jwt, case-insensitive) -> wrong_token_type.
//   6. the key: HS256 uses the issuer's configured secret; otherwise `kid` (required) is
//      looked up in that issuer's key set only. No set yet -> 503 jwks_unavailable; kid
//      not in it -> unknown_key and one (rate-limited) refresh request; a key whose type
//      or published alg does not fit -> alg_not_allowed.
//   7. signature -> bad_signature.
//   8. `exp` (required), `nbf` and `iat` with the issuer's clock skew -> token_expired /
//      token_not_yet_valid; `aud` (string or array) must hold an accepted audience ->
//      wrong_audience; the issuer's required claims -> invalid_token.
//   9. binding to the caller (per request, also for cached tokens) -> token_not_bound.
// A verified token is cached (see token_cache.h) until its exp; a hit skips 2-8 as long as
// the issuer's key set is the one that verified it.
// Verdicts carry a stable reason code, the HTTP status and the RFC 6750 §3
// WWW-Authenticate value; `detail` explains for logs and never contains the token.
// Thread-safety: an AccessTokenVerifier is immutable after create(); verify() may be
// called concurrently from any number of threads. The free functions are pure.
#pragma once

#include <openssl/ossl_typ.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/token_facts.h"
#include "token/key_set.h"
#include "token/token_cache.h"
#include "token/token_config.h"

namespace warden::token {

// Stable reason codes (audit events, metrics, JSON error bodies).
namespace reason {
inline constexpr std::string_view kTokenMissing = "token_missing";
inline constexpr std::string_view kInvalidToken = "invalid_token";
inline constexpr std::string_view kTokenExpired = "token_expired";
inline constexpr std::string_view kTokenNotYetValid = "token_not_yet_valid";
inline constexpr std::string_view kWrongIssuer = "wrong_issuer";
inline constexpr std::string_view kWrongAudience = "wrong_audience";
inline constexpr std::string_view kBadSignature = "bad_signature";
inline constexpr std::string_view kUnknownKey = "unknown_key";
inline constexpr std::string_view kWrongTokenType = "wrong_token_type";
inline constexpr std::string_view kAlgNotAllowed = "alg_not_allowed";
inline constexpr std::string_view kTokenTooLarge = "token_too_large";
inline constexpr std::string_view kTokenNotBound = "token_not_bound";
inline constexpr std::string_view kJwksUnavailable = "jwks_unavailable";
inline constexpr std::string_view kInsufficientRoles = "insufficient_roles";
inline constexpr std::string_view kClaimMismatch = "claim_mismatch";
}  // namespace reason

// What the verified token says. Never holds the token itself. The reportable part
// (issuer, subject, client id, jti digest, audiences and roles joined) is its TokenFacts
// base, which requests share by pointer with the audit event.
struct TokenMemo;

struct VerifiedToken : TokenFacts {
  std::vector<std::string> audiences;  // `aud`, as a list
  std::string client_id_claim;         // which claim client_id came from, empty if none
  std::vector<std::string> roles;      // from the issuer's roles_claim
  std::vector<std::string> scopes;     // `scp` and `scope`, split on spaces
  std::int64_t expires_at = 0;         // `exp`, seconds since the epoch
  std::string actor_subject;           // `act.sub` (RFC 8693 delegation), or empty
  std::string cnf_x5t_s256;            // decoded `cnf.x5t#S256` (32 bytes), or empty
  std::string alg;
  std::string kid;
  // The verified payload, for per-rule claim requirements (checkClaims).
  nlohmann::json claims;
};

// The caller as the TLS handshake established it, captured once per connection.
struct CallerBinding {
  std::string_view spiffe_id;    // verified SPIFFE ID, empty if none
  std::string_view cert_sha256;  // raw SHA-256 of the caller's leaf certificate DER
};

// Raw SHA-256 of a certificate's DER (RFC 8705 §3.1 input); empty on failure.
std::string certificateSha256(X509* cert);

struct TokenVerdict {
  bool ok = false;
  int http_status = 401;
  std::string reason;            // empty when ok
  std::string www_authenticate;  // for 401 and the insufficient-roles 403; else empty
  std::string detail;            // operator-facing explanation; safe to log
  // Set whenever the token itself verified, including when binding or roles then failed
  // (the audit record wants iss/sub either way).
  std::shared_ptr<const VerifiedToken> token;
  bool from_cache = false;
};

// The token of an `Authorization: Bearer <token>` header value (RFC 6750 §2.1: scheme
// case-insensitive, one or more spaces); nullopt if the value is not of that scheme.
// The token's characters are checked by verify().
std::optional<std::string_view> bearerToken(std::string_view authorization);

// One issuer as a verifier sees it: its configuration and where its keys come from
// (nullptr only for an issuer that pins HS256 alone).
struct IssuerKeys {
  TokenIssuerConfig config;
  std::shared_ptr<KeySetProvider> keys;
};

class AccessTokenVerifier {
 public:
  // `issuers` holds at least every issuer the requirements name (others are ignored).
  // `cache` may be shared by verifiers: entries are scoped to the verifier.
  static Result<std::unique_ptr<const AccessTokenVerifier>> create(
      const TokenRequirements& requirements, const std::vector<IssuerKeys>& issuers,
      std::shared_ptr<VerifiedTokenCache> cache = nullptr);

  // `memo`, when given, is the connection's (token_memo.h): consulted first, refreshed on
  // a cache hit.
  TokenVerdict verify(std::string_view token, const CallerBinding& caller,
                      std::chrono::system_clock::time_point now, TokenMemo* memo = nullptr) const;

  ~AccessTokenVerifier();
  AccessTokenVerifier(const AccessTokenVerifier&) = delete;
  AccessTokenVerifier& operator=(const AccessTokenVerifier&) = delete;

  struct Issuer;  // compiled IssuerKeys

 private:
  AccessTokenVerifier() = default;
  // `digest`: the cache key's digest, nullptr when the result must not be cached.
  TokenVerdict verifyUncached(std::string_view token, const TokenDigest* digest,
                              std::int64_t now_s) const;
  TokenVerdict bind(std::shared_ptr<const VerifiedToken> token, const CallerBinding& caller,
                    bool from_cache) const;
  // A cached verification still stands: the issuer's key set is the one that made it.
  bool keysUnchanged(const CachedToken& cached) const;

  std::vector<std::unique_ptr<Issuer>> issuers_;
  TokenRequirements requirements_;
  std::shared_ptr<VerifiedTokenCache> cache_;
  std::uint64_t scope_ = 0;
};

// All of `required` must be among the token's roles -> else 403 insufficient_roles.
TokenVerdict checkRoles(const VerifiedToken& token, const std::vector<std::string>& required);
// Per-rule claim requirements: each named claim must equal the value (a string claim) or
// contain it (an array claim). 403 claim_mismatch otherwise.
TokenVerdict checkClaims(const VerifiedToken& token,
                         const std::vector<std::pair<std::string, std::string>>& required);

}  // namespace warden::token
