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
#include "controlplane/sign_in_page.h"
#include "jose/base64url.h"

namespace warden::controlplane {
namespace {

namespace http = boost::beast::http;
using net::HttpResponse;

constexpr std::size_t kMaxStateBytes = 1024;
constexpr std::size_t kMaxNonceBytes = 256;

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

HttpResponse tokenError(unsigned status, std::string_view code, std::string_view description) {
  auto res = net::jsonResponse(
      status, nlohmann::json{{"error", code}, {"error_description", description}}.dump());
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  if (status == 401)
    res.set(http::field::www_authenticate, "Basic realm=\"warden\"");
  return res;
}

std::string s256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return jose::base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

PortalLogin::PortalLogin(PortalLoginOptions options, Store& store, LoginTokens& logins,
                         PasswordWorker& passwords)
    : options_(std::move(options)), store_(store), logins_(logins), passwords_(passwords) {}

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
      ".error{color:#a00;font-weight:600}"
      "form.upstream{margin-top:.6rem}form.upstream button{margin-top:.4rem;background:#fff;"
      "border:1px solid #999;border-radius:4px}\n";
  return res;
}

// The form, with the request in hidden fields, and under it one form per upstream
// provider that posts the same request to /oauth2/authorize/upstream; every value escaped.
HttpResponse PortalLogin::signInPage(unsigned status, const AuthorizationRequest& a,
                                     std::string_view message, std::string_view user) const {
  std::string hidden;
  auto field = [&](std::string_view name, std::string_view v) {
    if (v.empty())
      return;
    hidden += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + htmlEscape(v) +
              "\">";
  };
  field("response_type", "code");
  field("client_id", kPortalClientId);
  field("redirect_uri", a.redirect_uri);
  field("state", a.state);
  field("code_challenge", a.code_challenge);
  field("code_challenge_method", "S256");
  field("nonce", a.nonce);
  field("scope", a.scope);

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
  inner += hidden;
  inner += "<button type=\"submit\">Sign in</button></form>";
  // form-action is checked on the redirect after the POST as well: a development
  // redirect URI on another origin must be allowed, and only that one; likewise each
  // provider's authorization endpoint.
  std::string extra;
  auto allow = [&](const std::string& origin) {
    if (origin.empty() || origin == originOf(options_.base_url))
      return;
    if (extra.empty() || (" " + extra + " ").find(" " + origin + " ") == std::string::npos)
      extra += (extra.empty() ? "" : " ") + origin;
  };
  allow(originOf(a.redirect_uri));
  const auto buttons = options_.buttons ? options_.buttons() : std::vector<SignInButton>{};
  for (const auto& b : buttons) {
    inner += "<form method=\"post\" action=\"/oauth2/authorize/upstream\" class=\"upstream\">" +
             hidden + "<input type=\"hidden\" name=\"provider\" value=\"" + htmlEscape(b.provider) +
             "\"><button type=\"submit\">Sign in with " + htmlEscape(b.display_name) +
             "</button></form>";
    allow(b.origin);
  }
  return signInHtml(status, signInDocument("Sign in", inner), extra);
}

HttpResponse PortalLogin::errorRedirect(const AuthorizationRequest& a, std::string_view code,
                                        std::string_view description) const {
  std::string q = "error=" + std::string(code);
  if (!description.empty())
    q += "&error_description=" + formEncode(description);
  if (!a.state.empty())
    q += "&state=" + formEncode(a.state);
  q += "&iss=" + formEncode(options_.base_url);  // RFC 9207
  return signInRedirect(withQuery(a.redirect_uri, q));
}

// Checks an authorization request (GET query or POST form). An untrusted client or
// redirect URI gives an error page; anything else wrong, an error redirect.
std::variant<AuthorizationRequest, HttpResponse> PortalLogin::checkRequest(
    const std::optional<FormParams>& params) const {
  if (!params)
    return signInErrorPage(
        400, "The sign-in request is malformed (a parameter is repeated or badly encoded).");
  const FormParams& p = *params;
  if (formValue(p, "client_id") != kPortalClientId)
    return signInErrorPage(400, "Unknown client.");
  const std::string redirect_uri = formValue(p, "redirect_uri");
  if (!registered(redirect_uri))
    return signInErrorPage(400, "The redirect URI is not registered for this client.");
  AuthorizationRequest a;
  a.redirect_uri = redirect_uri;
  a.state = formValue(p, "state");
  if (a.state.size() > kMaxStateBytes || !noControlCharacters(a.state)) {
    a.state.clear();  // not echoed: it is what is wrong
    return errorRedirect(a, "invalid_request",
                         "state: at most 1024 bytes without control characters");
  }
  const std::string response_type = formValue(p, "response_type");
  if (response_type.empty())
    return errorRedirect(a, "invalid_request", "response_type is required");
  if (response_type != "code")
    return errorRedirect(a, "unsupported_response_type", "only code is supported");
  const std::string method = formValue(p, "code_challenge_method");
  if (method != "S256") {
    return errorRedirect(a, "invalid_request",
                         "code_challenge_method must be S256 (plain is not accepted)");
  }
  a.code_challenge = formValue(p, "code_challenge");
  if (!pkceValue(a.code_challenge)) {
    return errorRedirect(a, "invalid_request",
                         "code_challenge: 43-128 characters of [A-Za-z0-9-._~]");
  }
  a.scope = formValue(p, "scope");
  if (!a.scope.empty()) {
    std::string_view rest = a.scope;
    while (!rest.empty()) {
      const std::size_t sp = rest.find(' ');
      const std::string_view one = rest.substr(0, sp);
      if (!one.empty() && one != "openid")
        return errorRedirect(a, "invalid_scope", "only openid is supported");
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
  }
  a.nonce = formValue(p, "nonce");
  if (a.nonce.size() > kMaxNonceBytes || !noControlCharacters(a.nonce)) {
    return errorRedirect(a, "invalid_request",
                         "nonce: at most 256 bytes without control characters");
  }
  return a;
}

HttpResponse PortalLogin::authorizeForm(std::string_view encoded_query) const {
  auto checked = checkRequest(parseForm(encoded_query));
  if (auto* res = std::get_if<HttpResponse>(&checked))
    return std::move(*res);
  return signInPage(200, std::get<AuthorizationRequest>(checked), "");
}

boost::asio::awaitable<HttpResponse> PortalLogin::authorizeSubmit(std::string content_type,
                                                                  std::string body,
                                                                  std::string source) {
  if (!formContentType(content_type))
    co_return signInErrorPage(400, "Send the sign-in form as a form.");
  const auto params = parseForm(body);
  auto checked = checkRequest(params);
  if (auto* res = std::get_if<HttpResponse>(&checked))
    co_return std::move(*res);
  const AuthorizationRequest& a = std::get<AuthorizationRequest>(checked);
  std::string user = formValue(*params, "username");
  std::string password = formValue(*params, "password");
  const SignInCheck check = co_await passwords_.checkSignIn(user, std::move(password), source);
  switch (check.outcome) {
    case SignInCheck::Outcome::kAccepted:
      co_return issueCode(a, user, check.role);
    case SignInCheck::Outcome::kThrottled: {
      const std::string wait = std::to_string(check.retry_after.count());
      auto res = signInPage(429, a, "Too many failed sign-ins: try again in " + wait + " s", user);
      res.set(http::field::retry_after, wait);
      co_return res;
    }
    case SignInCheck::Outcome::kRefused:
      spdlog::info("portal sign-in refused for a user name of {} bytes from {}", user.size(),
                   source);
      co_return signInPage(401, a, "Invalid user name or password", user);
    case SignInCheck::Outcome::kFailed:
      break;
  }
  co_return signInPage(500, a, "The sign-in could not be checked; try again", user);
}

HttpResponse PortalLogin::issueCode(const AuthorizationRequest& a, const std::string& subject,
                                    Role role) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return errorRedirect(a, "server_error", "");
  std::string code =
      jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  const std::time_t t = now();
  {
    std::lock_guard lock(mutex_);
    purgeExpired(t);
    if (pending_.size() >= options_.max_pending)
      return errorRedirect(a, "temporarily_unavailable", "");
    pending_[code] = Pending{std::string(kPortalClientId),
                             a.redirect_uri,
                             a.code_challenge,
                             a.nonce,
                             subject,
                             role,
                             t + static_cast<std::time_t>(options_.code_ttl.count())};
  }
  std::string q = "code=" + formEncode(code);
  if (!a.state.empty())
    q += "&state=" + formEncode(a.state);
  q += "&iss=" + formEncode(options_.base_url);  // RFC 9207: the answer names its issuer
  return signInRedirect(withQuery(a.redirect_uri, q));
}

HttpResponse PortalLogin::token(std::string_view content_type, std::string_view body) {
  if (!formContentType(content_type)) {
    return tokenError(400, "invalid_request", "send application/x-www-form-urlencoded");
  }
  const auto params = parseForm(body);
  if (!params)
    return tokenError(400, "invalid_request", "a parameter is repeated or badly encoded");
  const FormParams& p = *params;
  const std::string grant_type = formValue(p, "grant_type");
  if (grant_type.empty())
    return tokenError(400, "invalid_request", "grant_type is required");
  if (grant_type != "authorization_code") {
    return tokenError(400, "unsupported_grant_type", "only authorization_code is supported");
  }
  const std::string client_id = formValue(p, "client_id");
  if (client_id != kPortalClientId)
    return tokenError(401, "invalid_client", "unknown client");
  const std::string code = formValue(p, "code");
  const std::string redirect_uri = formValue(p, "redirect_uri");
  const std::string verifier = formValue(p, "code_verifier");
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
  auto access = logins_.mint(pending.user, pending.role, options_.token_ttl,
                             credentialStamp(store_, pending.user));
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
