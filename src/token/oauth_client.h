// The client side of an OAuth 2.0 client_credentials token request, without sockets:
// the form body (RFC 6749 §4.4.2, RFC 8707 `resource`, RFC 7523 §2.2 client assertion),
// a client assertion signed with the workload's own key (RFC 7523 §3), and strict parsing
// of the answer (RFC 6749 §5.1 success, §5.2 error).
//
// Trust posture: the answer comes from the configured token endpoint over an authenticated
// connection, but it is still parsed strictly: a JSON object without duplicate members,
// `token_type` Bearer (case-insensitive, RFC 6749 §5.1 / RFC 6750 §4), an `access_token`
// that can go into an Authorization header as an RFC 6750 b64token, and a lifetime.
// The access token is never verified here (the audience verifies it); its `exp` is read,
// unverified, only to avoid holding it past the time its issuer wrote into it.
// Nothing here logs or returns a token or an assertion inside an error message.
// Thread-safety: pure functions.
#pragma once

#include <openssl/ossl_typ.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace warden::token {

inline constexpr std::string_view kClientAssertionTypeJwtBearer =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// Larger tokens would not fit the receiving sidecars' default 16 KiB request head.
inline constexpr std::size_t kMaxAccessTokenBytes = 12 * 1024;

// application/x-www-form-urlencoded (WHATWG URL §5.2 serializer: unreserved bytes as is,
// space as '+', everything else %XX).
std::string formUrlEncode(const std::vector<std::pair<std::string, std::string>>& fields);

struct ClientAssertionSpec {
  std::string client_id;  // iss and sub
  std::string audience;   // aud: the authorization server's issuer identifier
  std::chrono::system_clock::time_point now;
  std::chrono::seconds lifetime{60};
};

// An RFC 7523 client assertion signed with `key` (EC P-256 -> ES256, P-384 -> ES384,
// RSA -> RS256): header {typ: JWT, kid: RFC 7638 thumbprint of the key, x5t#S256 of
// `leaf` when given}; claims iss = sub = client_id, aud, jti (128 random bits), iat, exp.
Result<std::string> signClientAssertion(EVP_PKEY* key, X509* leaf, const ClientAssertionSpec& spec);

struct ObtainedToken {
  std::string access_token;
  // now + expires_in, or the token's `exp` when that is earlier (or when expires_in is
  // absent and the token is a JWT carrying one).
  std::chrono::system_clock::time_point expires_at;
  bool expires_in_given = false;
  std::string scope;  // as granted, when the answer says
};

// `status` and `content_type` of the HTTP answer, its body, and the time it was received.
// An RFC 8693 issued_token_type, when present, must be kTokenTypeAccessToken or
// kTokenTypeJwt: anything else is not meant for an Authorization header.
// Errors name what was wrong; an RFC 6749 §5.2 error answer becomes
// "HTTP 401 invalid_client: <error_description>" (producer text, printable and truncated).
Result<ObtainedToken> parseTokenResponse(int status, std::string_view content_type,
                                         std::string_view body,
                                         std::chrono::system_clock::time_point now);

// RFC 8693 §2.1 (token exchange, the client side): the grant type, the token types a
// response's issued_token_type may name for a token that goes into a Bearer header, and
// the subject token read from a file the platform refreshes (GitHub Actions, a projected
// service-account token, AZURE_FEDERATED_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE).
inline constexpr std::string_view kGrantTypeTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
// An OIDC token of any real issuer is far smaller; a larger file is not a token.
inline constexpr std::size_t kMaxSubjectTokenFileBytes = 16 * 1024;

// The subject token in a file's `contents`: surrounding whitespace removed, non-empty, at
// most kMaxSubjectTokenFileBytes, and only JWS compact serialization characters
// (base64url and '.'). Errors never quote the content.
Result<std::string> subjectTokenFromFile(std::string_view contents);

// True when `token` is an RFC 6750 §2.1 b64token (what may follow "Bearer ").
bool isB64Token(std::string_view token);

}  // namespace warden::token
