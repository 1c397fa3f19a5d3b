#include "controlplane/portal_login.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <spdlog/spdlog.h>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <variant>

#include "controlplane/local_users.h"
#include "controlplane/portal_static.h"
#include "jose/base64url.h"
#include "common/hex.h"

namespace warden::controlplane {
namespace {

namespace http = boost::beast::http;
using net::HttpResponse;
using Params = std::map<std::string, std::string, std::less<>>;

constexpr std::size_t kMaxStateBytes = 1024;
constexpr std::size_t kMaxNonceBytes = 256;

std::optional<std::string> formDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      const int hi = hexDigitValue(s[i + 1]);
      const int lo = hexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// application/x-www-form-urlencoded (a query string or a form body). A parameter sent
// twice is refused (RFC 6749 §3.1: it must not be), so nobody can smuggle a second
// redirect_uri past the check; one without a value counts as omitted.
std::optional<Params> parseForm(std::string_view text) {
  Params out;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty())
      continue;
    const std::size_t eq = pair.find('=');
    auto key = formDecode(pair.substr(0, eq));
    auto value =
        formDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value)
      return std::nullopt;
    if (out.contains(*key))
      return std::nullopt;
    if (!value->empty())
      out.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

std::string formEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string htmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string value(const Params& p, std::string_view key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

// RFC 7636 §4.1/§4.2: 43-128 unreserved characters (a verifier, and its S256 challenge).
bool pkceValue(std::string_view s) {
  if (s.size() < 43 || s.size() > 128)
    return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
    if (!ok)
      return false;
  }
  return true;
}

bool printableUtf8Free(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

std::string originOf(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return {};
  const std::size_t end = url.find_first_of("/?#", scheme + 3);
  return std::string(url.substr(0, end));
}

HttpResponse html(unsigned status, std::string body, std::string_view extra_form_action = {}) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  // Sign-in pages are never cached: they echo request parameters.
  res.set(http::field::cache_control, "no-store");
  setPortalSecurityHeaders(res, extra_form_action);
  res.body() = std::move(body);
  return res;
}

std::string page(std::string_view title, std::string_view inner) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         std::string(title) +
         " · Warden</title><link rel=\"stylesheet\" href=\"/oauth2/login.css\"></head>"
         "<body><main><h1>Warden</h1>" +
         std::string(inner) + "</main></body></html>\n";
}

// Never a redirect: the redirect URI is not trusted yet (RFC 6749 §4.1.2.1).
HttpResponse errorPage(std::string_view message) {
  return html(400, page("Sign-in error", "<p class=\"error\">" + htmlEscape(message) + "</p>"));
}

HttpResponse redirect(const std::string& location) {
  HttpResponse res{http::status::found, 11};
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");
  setPortalSecurityHeaders(res);
  return res;
}

std::string withQuery(const std::string& uri, const std::string& query) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

HttpResponse tokenError(unsigned status, std::string_view code, std::string_view description) {
  auto res = net::jsonResponse(
      status, nlohmann::json{{"error", code}, {"error_description", description}}.dump());
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  if (status == 401)
    res.set(http::field::www_authenticate, "Basic realm=\"warden\"");
  return res;
}

bool formContentType(std::string_view type) {
  const std::string_view prefix = "application/x-www-form-urlencoded";
  if (type.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != prefix[i])
      return false;
  }
  return type.size() == prefix.size() || type[prefix.size()] == ';';
}

std::string s256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return jose::base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// A validated authorization request: safe to redirect to and to render.
struct AuthRequest {
  std::string redirect_uri;
  std::string state;
  std::string code_challenge;
  std::string nonce;
  std::string scope;
};

// The form, with the request in hidden fields; every value escaped.
HttpResponse loginForm(unsigned status, const AuthRequest& a, std::string_view user,
                       std::string_view message, std::string_view base_url) {
  std::string inner;
  if (!message.empty())
    inner += "<p class=\"error\" role=\"alert\">" + htmlEscape(message) + "</p>";
  inner += "<form method=\"post\" action=\"/oauth2/authorize\">";
  inner +=
      "<label for=\"username\">User name</label><input id=\"username\" name=\"username\" "
      "autocomplete=\"username\" required autofocus value=\"" +
      htmlEscape(user) + "\">";
  inner +=
      "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" "
      "type=\"password\" autocomplete=\"current-password\" required>";
  auto hidden = [&](std::string_view name, std::string_view v) {
    if (v.empty())
      return;
    inner += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + htmlEscape(v) +
             "\">";
  };
  hidden("response_type", "code");
  hidden("client_id", kPortalClientId);
  hidden("redirect_uri", a.redirect_uri);
  hidden("state", a.state);
  hidden("code_challenge", a.code_challenge);
  hidden("code_challenge_method", "S256");
  hidden("nonce", a.nonce);
  hidden("scope", a.scope);
  inner += "<button type=\"submit\">Sign in</button></form>";
  // form-action is checked on the redirect after the POST as well: a development
  // redirect URI on another origin must be allowed, and only that one.
  const std::string target = originOf(a.redirect_uri);
  const std::string extra = target == originOf(base_url) ? std::string() : target;
  return html(status, page("Sign in", inner), extra);
}

}  // namespace

PortalLogin::PortalLogin(PortalLoginOptions options, Store& store, LoginTokens& logins,
                         LoginThrottle& throttle)
    : options_(std::move(options)), store_(store), logins_(logins), throttle_(throttle) {}

std::time_t PortalLogin::now() const {
  return options_.now ? options_.now() : std::time(nullptr);
}

bool PortalLogin::registered(std::string_view redirect_uri) const {
  if (redirect_uri == options_.base_url + "/callback")
    return true;
  for (const auto& uri : options_.redirect_uris) {
    if (uri == redirect_uri)
      return true;
  }
  return false;
}

void PortalLogin::purgeExpired(std::time_t t) {
  std::erase_if(pending_, [t](const auto& entry) { return entry.second.expires_at <= t; });
}

std::size_t PortalLogin::pendingCodes() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

HttpResponse PortalLogin::discovery() const {
  const std::string& base = options_.base_url;
  nlohmann::json doc{
      {"issuer", base},
      {"authorization_endpoint", base + "/oauth2/authorize"},
      {"token_endpoint", base + "/oauth2/token"},
      {"jwks_uri", base + "/oauth2/jwks"},
      {"response_types_supported", {"code"}},
      {"grant_types_supported", {"authorization_code"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"token_endpoint_auth_methods_supported", {"none"}},
      {"scopes_supported", {"openid"}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"ES256"}},
      {"authorization_response_iss_parameter_supported", true},
      {"claims_supported",
       {"iss", "sub", "aud", "iat", "exp", "auth_time", "nonce", "warden_role"}},
  };
  return net::jsonResponse(200, doc.dump());
}

HttpResponse PortalLogin::jwks() const {
  auto res = net::jsonResponse(200, logins_.jwks());
  res.set(http::field::content_type, "application/jwk-set+json");
  return res;
}

HttpResponse PortalLogin::loginCss() const {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/css; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  setPortalSecurityHeaders(res);
  res.body() =
      "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}"
      "main{max-width:22rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;"
      "box-shadow:0 1px 4px rgba(0,0,0,.15)}"
      "h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .3rem}"
      "input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}"
      "button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem}"
      ".error{color:#a00;font-weight:600}\n";
  return res;
}

namespace {

// Checks an authorization request (GET query or POST form). An untrusted client or
// redirect URI gives an error page; anything else wrong, an error redirect.
std::variant<AuthRequest, HttpResponse> validateRequest(
    const std::optional<Params>& params, const std::function<bool(std::string_view)>& registered,
    std::string_view issuer) {
  if (!params)
    return errorPage(
        "The sign-in request is malformed (a parameter is repeated or badly encoded).");
  const Params& p = *params;
  if (value(p, "client_id") != kPortalClientId)
    return errorPage("Unknown client.");
  const std::string redirect_uri = value(p, "redirect_uri");
  if (!registered(redirect_uri))
    return errorPage("The redirect URI is not registered for this client.");
  AuthRequest a;
  a.redirect_uri = redirect_uri;
  a.state = value(p, "state");
  auto fail = [&](std::string_view code, std::string_view description) {
    std::string q = "error=" + std::string(code) + "&error_description=" + formEncode(description);
    if (!a.state.empty())
      q += "&state=" + formEncode(a.state);
    q += "&iss=" + formEncode(issuer);
    return redirect(withQuery(a.redirect_uri, q));
  };
  if (a.state.size() > kMaxStateBytes || !printableUtf8Free(a.state)) {
    a.state.clear();  // not echoed: it is what is wrong
    return fail("invalid_request", "state: at most 1024 bytes without control characters");
  }
  const std::string response_type = value(p, "response_type");
  if (response_type.empty())
    return fail("invalid_request", "response_type is required");
  if (response_type != "code")
    return fail("unsupported_response_type", "only code is supported");
  const std::string method = value(p, "code_challenge_method");
  if (method != "S256") {
    return fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)");
  }
  a.code_challenge = value(p, "code_challenge");
  if (!pkceValue(a.code_challenge)) {
    return fail("invalid_request", "code_challenge: 43-128 characters of [A-Za-z0-9-._~]");
  }
  a.scope = value(p, "scope");
  if (!a.scope.empty()) {
    std::string_view rest = a.scope;
    while (!rest.empty()) {
      const std::size_t sp = rest.find(' ');
      const std::string_view one = rest.substr(0, sp);
      if (!one.empty() && one != "openid")
        return fail("invalid_scope", "only openid is supported");
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
  }
  a.nonce = value(p, "nonce");
  if (a.nonce.size() > kMaxNonceBytes || !printableUtf8Free(a.nonce)) {
    return fail("invalid_request", "nonce: at most 256 bytes without control characters");
  }
  return a;
}

}  // namespace

HttpResponse PortalLogin::authorizeForm(std::string_view encoded_query) const {
  auto checked = validateRequest(
      parseForm(encoded_query), [this](std::string_view uri) { return registered(uri); },
      options_.base_url);
  if (auto* res = std::get_if<HttpResponse>(&checked))
    return std::move(*res);
  return loginForm(200, std::get<AuthRequest>(checked), "", "", options_.base_url);
}

HttpResponse PortalLogin::authorizeSubmit(std::string_view content_type, std::string_view body,
                                          std::string_view source) {
  if (!formContentType(content_type))
    return errorPage("Send the sign-in form as a form.");
  const auto params = parseForm(body);
  auto checked = validateRequest(
      params, [this](std::string_view uri) { return registered(uri); }, options_.base_url);
  if (auto* res = std::get_if<HttpResponse>(&checked))
    return std::move(*res);
  const AuthRequest& a = std::get<AuthRequest>(checked);
  const std::string user = value(*params, "username");
  const auto clock = LoginThrottle::Clock::now();
  if (const auto wait = throttle_.waitFor(user, source, clock)) {
    auto res = loginForm(429, a, user,
                         "Too many failed sign-ins: try again in " + std::to_string(wait->count()) + " s",
                         options_.base_url);
    res.set(http::field::retry_after, std::to_string(wait->count()));
    return res;
  }
  const auto role = checkUserPassword(store_, user, value(*params, "password"));
  if (!role) {
    throttle_.recordFailure(user, source, clock);
    spdlog::info("portal sign-in refused for a user name of {} bytes from {}", user.size(), source);
    return loginForm(401, a, user, "Invalid user name or password", options_.base_url);
  }
  throttle_.recordSuccess(user, clock);
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return redirect(withQuery(a.redirect_uri, "error=server_error&state=" + formEncode(a.state)));
  }
  std::string code =
      jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  const std::time_t t = now();
  {
    std::lock_guard lock(mutex_);
    purgeExpired(t);
    if (pending_.size() >= options_.max_pending) {
      std::string q = "error=temporarily_unavailable";
      if (!a.state.empty())
        q += "&state=" + formEncode(a.state);
      return redirect(withQuery(a.redirect_uri, q + "&iss=" + formEncode(options_.base_url)));
    }
    pending_[code] = Pending{std::string(kPortalClientId),
                             a.redirect_uri,
                             a.code_challenge,
                             a.nonce,
                             user,
                             *role,
                             t + static_cast<std::time_t>(options_.code_ttl.count())};
  }
  std::string q = "code=" + formEncode(code);
  if (!a.state.empty())
    q += "&state=" + formEncode(a.state);
  q += "&iss=" + formEncode(options_.base_url);  // RFC 9207: the answer names its issuer
  return redirect(withQuery(a.redirect_uri, q));
}

HttpResponse PortalLogin::token(std::string_view content_type, std::string_view body) {
  if (!formContentType(content_type)) {
    return tokenError(400, "invalid_request", "send application/x-www-form-urlencoded");
  }
  const auto params = parseForm(body);
  if (!params)
    return tokenError(400, "invalid_request", "a parameter is repeated or badly encoded");
  const Params& p = *params;
  const std::string grant_type = value(p, "grant_type");
  if (grant_type.empty())
    return tokenError(400, "invalid_request", "grant_type is required");
  if (grant_type != "authorization_code") {
    return tokenError(400, "unsupported_grant_type", "only authorization_code is supported");
  }
  const std::string client_id = value(p, "client_id");
  if (client_id != kPortalClientId)
    return tokenError(401, "invalid_client", "unknown client");
  const std::string code = value(p, "code");
  const std::string redirect_uri = value(p, "redirect_uri");
  const std::string verifier = value(p, "code_verifier");
  if (code.empty() || redirect_uri.empty() || verifier.empty()) {
    return tokenError(400, "invalid_request", "code, redirect_uri and code_verifier are required");
  }
  Pending pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(code);
    if (it == pending_.end())
      return tokenError(400, "invalid_grant", "unknown, used or expired code");
    // Consumed whatever happens next, so a verifier cannot be guessed over many tries.
    pending = std::move(it->second);
    pending_.erase(it);
  }
  if (pending.expires_at <= now())
    return tokenError(400, "invalid_grant", "unknown, used or expired code");
  if (pending.client_id != client_id || pending.redirect_uri != redirect_uri) {
    return tokenError(400, "invalid_grant",
                      "the code was issued to another client or redirect URI");
  }
  // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, in constant time.
  const std::string computed = pkceValue(verifier) ? s256(verifier) : std::string();
  if (computed.size() != pending.code_challenge.size() ||
      CRYPTO_memcmp(computed.data(), pending.code_challenge.data(), computed.size()) != 0) {
    return tokenError(400, "invalid_grant", "the code verifier does not match");
  }
  logins_.rotate(now());
  auto access = logins_.mint(pending.user, pending.role, options_.token_ttl);
  if (!access)
    return tokenError(500, "server_error", "no token could be signed");
  auto id = logins_.mintIdToken(pending.user, pending.role, kPortalClientId, pending.nonce,
                                options_.token_ttl);
  if (!id)
    return tokenError(500, "server_error", "no token could be signed");
  auto res = net::jsonResponse(200, nlohmann::json{{"access_token", access->token},
                                                   {"token_type", "Bearer"},
                                                   {"expires_in", options_.token_ttl.count()},
                                                   {"scope", "openid"},
                                                   {"id_token", id->token}}
                                        .dump());
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  return res;
}

}  // namespace warden::controlplane
