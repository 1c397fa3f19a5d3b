// What a test needs to play the browser in an OAuth 2.0 / OpenID Connect redirect flow:
// PKCE challenges, form bodies, the query of a Location header, a JWT's claims. Written
// independently of the product's encoders (src/jose, src/token), so a bug there cannot
// hide behind the same bug here.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace warden::testing {

inline const std::string kFormContentType = "Content-Type: application/x-www-form-urlencoded\r\n";

// RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))).
std::string pkceChallenge(const std::string& verifier);
// One component for a URL query or form: unreserved bytes as is, everything else %XX.
std::string percentEncode(const std::string& s);
// application/x-www-form-urlencoded: unreserved bytes as is, everything else %XX.
std::string formBody(const std::map<std::string, std::string>& params);
// The decoded query parameters of a URL (e.g. a Location header); empty without '?'.
std::map<std::string, std::string> queryParams(const std::string& url);
// The payload of a compact JWS, unverified (a discarded value if it is not JSON).
nlohmann::json jwtPayload(const std::string& token);

}  // namespace warden::testing
