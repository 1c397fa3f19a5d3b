// Token endpoint request parsing (RFC 6749 §3.2, §4.4; RFC 7521/7523 §4.2; RFC 8693 §2.1;
// RFC 8707 §2): the form body into a typed request, or an OAuth error.
//
// Trust posture: everything here is attacker-controlled. The body must be
// application/x-www-form-urlencoded (charset, if given, UTF-8), at most kMaxFormBytes,
// with well-formed percent escapes, valid UTF-8, no empty names and no control bytes in
// values. A parameter given twice is refused (RFC 6749 §3.2: "MUST NOT be included more
// than once"), except `resource` and `audience`, which RFC 8707 and RFC 8693 make
// repeatable. A parameter with an empty value counts as absent (RFC 6749 §3.2). Unknown
// parameters are ignored, as RFC 6749 §3.2 requires.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "tokenservice/oauth_error.h"

namespace warden::tokenservice {

inline constexpr std::size_t kMaxFormBytes = 64 * 1024;
inline constexpr std::string_view kJwtBearerAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr std::string_view kTokenTypeIdToken = "urn:ietf:params:oauth:token-type:id_token";
inline constexpr std::string_view kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";

using FormParams = std::map<std::string, std::vector<std::string>, std::less<>>;

// True for application/x-www-form-urlencoded with no parameter or charset=utf-8.
bool isFormContentType(std::string_view content_type);
Result<FormParams> parseForm(std::string_view body);

enum class RequestedGrant { kClientCredentials, kTokenExchange };

struct TokenRequest {
  RequestedGrant grant = RequestedGrant::kClientCredentials;
  std::string client_id;
  std::string client_assertion_type;
  std::string client_assertion;
  std::string scope;
  std::vector<std::string> resources;  // RFC 8707
  std::vector<std::string> audiences;  // RFC 8693
  // RFC 8693
  std::string subject_token;
  std::string subject_token_type;
  std::string actor_token;
  std::string actor_token_type;
  std::string requested_token_type;
};

// The grant-independent checks and the grant's required parameters.
std::variant<TokenRequest, OAuthError> parseTokenRequest(const FormParams& form);

// The values of `scope` (RFC 6749 §3.3: space-delimited scope-tokens, %x21 / %x23-5B /
// %x5D-7E); an error for any other character or an empty token.
Result<std::vector<std::string>> splitScope(std::string_view scope);

}  // namespace warden::tokenservice
