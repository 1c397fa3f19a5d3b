// Base64url without padding (RFC 7515 §2, RFC 4648 §5), strict on input: characters
// outside the url-safe alphabet, '=' padding, whitespace and non-canonical trailing bits
// are errors. Also standard base64 (RFC 4648 §4, padded) for JWK x5c values.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden::jose {

std::string base64UrlEncode(std::string_view bytes);
std::optional<std::string> base64UrlDecode(std::string_view text);

std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace warden::jose
