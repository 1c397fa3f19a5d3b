// OAuth 2.0 error responses of the token endpoint (RFC 6749 §5.2, RFC 8693 §2.2.2,
// RFC 8707 §2), as values.
//
// Status codes: invalid_client is 401 (RFC 6749 allows 400, but 401 tells the client
// that authentication is what failed, and it is what openid-client and oidc-provider
// expect); a WWW-Authenticate header is added only when the client tried HTTP
// authentication (the only case where RFC 6749 requires one: no HTTP scheme exists for
// private_key_jwt or tls_client_auth). Rate-limited requests are 429 with Retry-After.
// access_denied (token-time governance) is 403. Everything else is 400.
// error_description is restricted to the characters RFC 6749 §5.2 allows (printable
// ASCII without '"' and '\'); anything else is replaced, so caller-supplied text (an
// external token's `sub`) can never break the JSON or a header.
// Thread-safety: values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden::tokenservice {

enum class OAuthErrorCode {
  kInvalidRequest,
  kInvalidClient,
  kInvalidGrant,
  kUnauthorizedClient,
  kUnsupportedGrantType,
  kInvalidScope,
  kInvalidTarget,
  kAccessDenied,
  kSlowDown,         // rate limited (429); named as in RFC 8628 §3.5
  kServerError,      // 500
  kTemporarilyUnavailable,  // 503
};

struct OAuthError {
  OAuthErrorCode code = OAuthErrorCode::kInvalidRequest;
  std::string description;
  std::string www_authenticate;       // set for 401 answers to HTTP authentication
  std::optional<int> retry_after_s;   // 429 and 503

  unsigned httpStatus() const;
  std::string_view name() const;
  // {"error": ..., "error_description": ...}
  std::string body() const;
};

OAuthError oauthError(OAuthErrorCode code, std::string description);
std::string_view oauthErrorName(OAuthErrorCode code);
// Keeps RFC 6749's error_description alphabet (%x20-21 / %x23-5B / %x5D-7E), replacing
// every other byte with '?', and caps the length.
std::string sanitizeDescription(std::string_view text);

}  // namespace warden::tokenservice
