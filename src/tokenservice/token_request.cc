#include "tokenservice/token_request.h"

#include <algorithm>
#include <cctype>

#include "common/percent_decoding.h"

namespace warden::tokenservice {
namespace {

bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool repeatable(std::string_view name) { return name == "resource" || name == "audience"; }

std::string single(const FormParams& form, std::string_view name) {
  const auto it = form.find(name);
  return it == form.end() ? std::string() : it->second.front();
}

std::vector<std::string> all(const FormParams& form, std::string_view name) {
  const auto it = form.find(name);
  return it == form.end() ? std::vector<std::string>{} : it->second;
}

OAuthError invalidRequest(std::string why) {
  return oauthError(OAuthErrorCode::kInvalidRequest, std::move(why));
}

}  // namespace

bool isFormContentType(std::string_view content_type) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  const auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  };
  const auto semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "application/x-www-form-urlencoded") {
    return false;
  }
  if (semi == std::string_view::npos) return true;
  // One parameter at most, and it must be charset=utf-8 (quoted or not).
  const std::string param = lower(trim(content_type.substr(semi + 1)));
  return param == "charset=utf-8" || param == "charset=\"utf-8\"";
}

Result<FormParams> parseForm(std::string_view body) {
  if (body.size() > kMaxFormBytes) return Error{"the request body is too large"};
  FormParams out;
  if (body.empty()) return out;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(body.find('&', begin), body.size());
    const std::string_view pair = body.substr(begin, end - begin);
    begin = end + 1;
    if (pair.empty()) return Error{"empty parameter (\"&&\" or a leading/trailing '&')"};
    const std::size_t eq = pair.find('=');
    // A '%' not followed by two hex digits is an error here, not a literal '%'.
    auto name = percentDecode(pair.substr(0, eq), PlusSign::kSpace);
    if (!name) return Error{"parameter name: malformed percent escape (expected %XX)"};
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                               PlusSign::kSpace);
    if (!value) return Error{"parameter " + *name + ": malformed percent escape (expected %XX)"};
    if (name->empty()) return Error{"a parameter has no name"};
    if (!validUtf8(*name) || !validUtf8(*value)) return Error{"parameter " + *name + " is not UTF-8"};
    const auto control = [](const std::string& s) {
      return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
      });
    };
    if (control(*name) || control(*value)) {
      return Error{"parameter " + (control(*name) ? std::string("name") : *name) +
                   " contains control characters"};
    }
    auto& values = out[*name];
    if (!values.empty() && !repeatable(*name)) return Error{"parameter " + *name + " is repeated"};
    // An empty value is the same as no parameter; keep the slot so that a later
    // duplicate is still detected.
    values.push_back(std::move(*value));
    if (end == body.size()) break;
  }
  // Drop empty values now that duplicates have been checked.
  for (auto it = out.begin(); it != out.end();) {
    std::erase(it->second, std::string());
    it = it->second.empty() ? out.erase(it) : std::next(it);
  }
  return out;
}

Result<std::vector<std::string>> splitScope(std::string_view scope) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= scope.size()) {
    const std::size_t end = std::min(scope.find(' ', begin), scope.size());
    const std::string_view token = scope.substr(begin, end - begin);
    if (token.empty()) return Error{"scope has an empty value (extra spaces)"};
    for (const char c : token) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7e || c == '"' || c == '\\') {
        return Error{"scope contains a character outside RFC 6749 §3.3"};
      }
    }
    out.emplace_back(token);
    if (end == scope.size()) break;
    begin = end + 1;
  }
  return out;
}

std::variant<TokenRequest, OAuthError> parseTokenRequest(const FormParams& form) {
  TokenRequest r;
  const std::string grant = single(form, "grant_type");
  if (grant.empty()) return invalidRequest("grant_type is required");
  if (grant == "client_credentials") {
    r.grant = RequestedGrant::kClientCredentials;
  } else if (grant == "urn:ietf:params:oauth:grant-type:token-exchange") {
    r.grant = RequestedGrant::kTokenExchange;
  } else {
    return oauthError(OAuthErrorCode::kUnsupportedGrantType,
                      "grant_type " + grant + " is not supported (client_credentials, "
                      "urn:ietf:params:oauth:grant-type:token-exchange)");
  }
  r.client_id = single(form, "client_id");
  r.client_assertion_type = single(form, "client_assertion_type");
  r.client_assertion = single(form, "client_assertion");
  if (r.client_assertion.empty() != r.client_assertion_type.empty()) {
    return oauthError(OAuthErrorCode::kInvalidClient,
                      "client_assertion and client_assertion_type go together");
  }
  if (!r.client_assertion_type.empty() && r.client_assertion_type != kJwtBearerAssertionType) {
    return oauthError(OAuthErrorCode::kInvalidClient,
                      "client_assertion_type must be " + std::string(kJwtBearerAssertionType));
  }
  r.scope = single(form, "scope");
  if (!r.scope.empty()) {
    if (auto scopes = splitScope(r.scope); !scopes) {
      return oauthError(OAuthErrorCode::kInvalidScope, scopes.error().message);
    }
  }
  r.resources = all(form, "resource");
  r.audiences = all(form, "audience");
  if (r.grant == RequestedGrant::kClientCredentials) {
    // RFC 8693's parameters mean nothing here; ignoring them would hide a client's mistake.
    for (const char* name : {"subject_token", "actor_token", "audience"}) {
      if (form.contains(name)) {
        return invalidRequest(std::string(name) + " belongs to token exchange, not client_credentials");
      }
    }
    return r;
  }
  r.subject_token = single(form, "subject_token");
  r.subject_token_type = single(form, "subject_token_type");
  r.actor_token = single(form, "actor_token");
  r.actor_token_type = single(form, "actor_token_type");
  r.requested_token_type = single(form, "requested_token_type");
  if (r.subject_token.empty()) return invalidRequest("subject_token is required");
  if (r.subject_token_type.empty()) return invalidRequest("subject_token_type is required");
  if (r.subject_token_type != kTokenTypeJwt && r.subject_token_type != kTokenTypeIdToken) {
    return invalidRequest("subject_token_type must be " + std::string(kTokenTypeJwt) + " or " +
                          std::string(kTokenTypeIdToken));
  }
  if (r.actor_token.empty() != r.actor_token_type.empty()) {
    return invalidRequest("actor_token and actor_token_type go together");
  }
  if (!r.actor_token_type.empty() && r.actor_token_type != kTokenTypeJwt) {
    return invalidRequest("actor_token_type must be " + std::string(kTokenTypeJwt));
  }
  if (!r.requested_token_type.empty() && r.requested_token_type != kTokenTypeAccessToken &&
      r.requested_token_type != kTokenTypeJwt) {
    return invalidRequest("requested_token_type must be " + std::string(kTokenTypeAccessToken));
  }
  return r;
}

}  // namespace warden::tokenservice
