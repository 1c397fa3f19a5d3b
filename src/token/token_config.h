// Layer 3 configuration: which OAuth2 issuers' JWT access tokens a sidecar accepts, where
// their keys come from, and what each target requires of a token.
//
// Plain structs, filled by the policy parser (YAML) and checked here before anything is
// started: every error names the field path it is about (`token_issuers[1].algorithms[0]`).
// Trust posture: the configuration is trusted input (whoever controls it controls layer 3),
// so it is validated strictly and nothing is inferred or normalised: an issuer string is
// compared byte for byte, the algorithm list is the whole of what is accepted, and a key
// source is named explicitly, never derived from a token.
// Thread-safety: plain values; the validation functions are pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace warden::token {

// RFC 8725 gives no number; 8 KiB fits every real access token (Entra's largest, with
// groups overage, stay under 4 KiB) and bounds the work an attacker's token can cause.
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;
// An HS256 secret shorter than the hash is guessable offline (RFC 8725 §3.5, RFC 7518 §3.2).
inline constexpr std::size_t kMinHs256SecretBytes = 32;
inline constexpr std::chrono::seconds kMaxClockSkew{300};

// When a JWKS source fetches. Refreshes follow the response's Cache-Control max-age clamped
// to [min_refresh, max_refresh] (default_refresh when there is none); a failed fetch is
// retried after retry_initial, doubling up to retry_max, and keeps the last good keys.
// Refetches asked for by verification (an unknown kid, no keys yet) happen at most once
// per min_refetch_interval.
struct JwksTiming {
  std::chrono::milliseconds default_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds min_refresh{std::chrono::seconds(30)};
  std::chrono::milliseconds max_refresh{std::chrono::hours(24)};
  std::chrono::milliseconds min_refetch_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_max{std::chrono::minutes(1)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
};

struct TokenIssuerConfig {
  // Exactly the `iss` its tokens carry; also what a discovery document must name.
  std::string issuer;
  // The key source: exactly one of these (none when `algorithms` is HS256 alone).
  // URLs are https, or http to a loopback IP literal (tests, a local IdP).
  std::string discovery_url;  // OIDC discovery document; its jwks_uri is then fetched
  std::string jwks_url;
  std::string jwks_file;      // re-read every default_refresh
  std::string ca_file;        // PEM roots for https fetches instead of the system's
  // Pinned algorithms (RFC 8725 §3.1): RS/PS/ES 256/384/512, and HS256 only together with
  // hs256_secret. `none` never.
  std::vector<std::string> algorithms{"RS256", "PS256", "ES256"};
  std::string hs256_secret;  // raw bytes, at least kMinHs256SecretBytes
  // Accepted `aud` values; a target's TokenRequirements::audiences replaces them.
  std::vector<std::string> audiences;
  std::chrono::seconds clock_skew{60};
  // Header `typ` required (RFC 9068 §2.1: at+jwt, or application/at+jwt; compared
  // case-insensitively). Empty: not checked (Entra v1/v2 tokens say "JWT").
  std::string require_typ{"at+jwt"};
  // Claims that must be present (non-null) beyond iss, exp and aud, which always are.
  std::vector<std::string> required_claims;
  // Where roles are read from: a claim name, or failing that a dotted path
  // (`realm_access.roles`); an array of strings or a space-separated string.
  std::string roles_claim{"roles"};
  JwksTiming jwks;
};

enum class BindingMode {
  kNone,
  // A claim (binding_claim) must equal the caller's SPIFFE ID, or be a client id that
  // client_ids maps to it.
  kSubToSpiffe,
  // RFC 8705 §3: `cnf.x5t#S256` must equal the base64url SHA-256 of the caller's
  // certificate, the one presented on this connection.
  kCnfX5t,
};

struct TokenRequirements {
  std::vector<std::string> issuers;    // `issuer` values of configured TokenIssuerConfigs
  std::vector<std::string> audiences;  // non-empty: replaces the issuers' audiences
  BindingMode binding = BindingMode::kNone;
  // kSubToSpiffe: "sub", "azp", "appid", or "client_id" (the token's client id, whichever
  // of azp, appid and client_id carries it).
  std::string binding_claim{"sub"};
  // kSubToSpiffe: client id (an Entra appid/azp GUID, an OAuth client_id) -> SPIFFE ID.
  std::map<std::string, std::string> client_ids;
};

// `field` prefixes every message, e.g. "token_issuers[0]".
Status validateIssuerConfig(const TokenIssuerConfig& config, std::string_view field);
// Each config, plus: no issuer configured twice. Fields are `<field>[i]`.
Status validateIssuerConfigs(const std::vector<TokenIssuerConfig>& configs,
                             std::string_view field);
// Requirements against the configured issuers (which should already be valid).
Status validateTokenRequirements(const TokenRequirements& requirements,
                                 const std::vector<TokenIssuerConfig>& issuers,
                                 std::string_view field);

std::string_view bindingModeName(BindingMode mode);

}  // namespace warden::token
