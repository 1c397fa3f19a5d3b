// The text formats of the portal's sign-in (its own OpenID provider, portal_login.h, and
// the upstream sign-in through external providers, upstream_sign_in.h):
// application/x-www-form-urlencoded in both directions, HTML escaping, and the few URL
// manipulations the redirects need.
//
// Trust posture: the decoders take anyone's input. A parameter sent twice makes the whole
// form invalid (RFC 6749 §3.1: it must not be), so nobody can smuggle a second
// redirect_uri or state past a check that looked at the first.
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace warden::controlplane {

using FormParams = std::map<std::string, std::string, std::less<>>;

// A query string or a form body. nullopt: a repeated parameter or a bad %-escape. A
// parameter without a value counts as omitted.
std::optional<FormParams> parseForm(std::string_view text);
// Percent-encodes everything but the RFC 3986 unreserved characters.
std::string formEncode(std::string_view s);
// The value of `key`, or "" when absent.
std::string formValue(const FormParams& params, std::string_view key);
// True for application/x-www-form-urlencoded, with or without parameters.
bool formContentType(std::string_view type);

std::string htmlEscape(std::string_view s);
// `uri` with `query` appended (after '?' or '&', RFC 6749 §3.1.2 keeps an existing query).
std::string withQuery(const std::string& uri, const std::string& query);
// scheme://authority of an absolute URL, or "" when it has none.
std::string originOf(std::string_view url);
// No byte below 0x20 and no DEL: safe to echo into a URL parameter or a page.
bool noControlCharacters(std::string_view s);

}  // namespace warden::controlplane
