// The portal's sign-in: a small OpenID Connect provider for one public client,
// `warden-portal`, with the authorization code grant and PKCE (RFC 6749 §4.1, RFC 7636,
// S256 only). The SPA sends the browser to /oauth2/authorize, the person types a local
// user's password into a server-rendered form, the browser comes back to the registered
// redirect URI with a one-time code, and the SPA trades code + verifier at /oauth2/token
// for a login token (LoginTokens, the same bearer token /api/v1/login issues) and an ID
// token. Tokens never travel in URLs: only the code does, and it is useless without the
// verifier that stays in the SPA.
//
// People may also sign in at an external OpenID Provider instead (upstream_sign_in.h): the
// sign-in page then shows one button per provider, and the upstream sign-in hands the
// checked request back to issueCode() once the provider vouched for the person.
//
// Code life:  authorize POST --(password ok, or upstream sign-in)--> pending (60 s, in memory)
//             pending --token request, any outcome--> gone (single use)
//             pending --60 s--> expired --purge--> gone
//
// Trust posture: every parameter comes from anyone on the network. The redirect URI must
// equal a registered one exactly before anything is redirected to it (otherwise an HTML
// error page); every value rendered into HTML is escaped; pages carry the portal's CSP.
// Thread-safety: all members may be called from any thread (the pending codes are locked).
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "controlplane/authorization_request.h"
#include "controlplane/login_tokens.h"
#include "controlplane/oauth_form.h"
#include "controlplane/password_worker.h"
#include "controlplane/store.h"
#include "net/https_server.h"

namespace warden::controlplane {

inline constexpr std::string_view kPortalClientId = "warden-portal";

// A "Sign in with <display_name>" button under the password form (upstream_sign_in.h).
struct SignInButton {
  std::string provider;  // the provider's name, posted as `provider`
  std::string display_name;
  std::string origin;  // where its redirect leads (CSP form-action)
};

struct PortalLoginOptions {
  std::string base_url;                    // the issuer; <base>/callback is registered
  std::vector<std::string> redirect_uris;  // extra exact redirect URIs (development)
  std::chrono::seconds token_ttl{3600};    // the access and ID tokens' lifetime
  std::chrono::seconds code_ttl{60};
  std::size_t max_pending = 10000;
  std::function<std::time_t()> now;  // the codes' clock; default: the system clock
  // The upstream providers' buttons, asked for on every rendering (their origins come from
  // discovery documents that may change); unset: none.
  std::function<std::vector<SignInButton>()> buttons;
};

class PortalLogin {
 public:
  PortalLogin(PortalLoginOptions options, Store& store, LoginTokens& logins,
              PasswordWorker& passwords);

  net::HttpResponse discovery() const;  // /.well-known/openid-configuration
  net::HttpResponse jwks() const;       // /oauth2/jwks
  net::HttpResponse loginCss() const;   // /oauth2/login.css
  // GET /oauth2/authorize: the sign-in form, an error page or an error redirect.
  net::HttpResponse authorizeForm(std::string_view encoded_query) const;
  // POST /oauth2/authorize (the form): a redirect with a code, or the form again (429
  // with Retry-After while the user name or `source` must wait, login_throttle.h). The
  // password is checked on the password thread (password_worker.h).
  boost::asio::awaitable<net::HttpResponse> authorizeSubmit(std::string content_type,
                                                            std::string body, std::string source);
  // POST /oauth2/token
  net::HttpResponse token(std::string_view content_type, std::string_view body);

  std::size_t pendingCodes() const;

  // The checks of /oauth2/authorize on parsed parameters (nullopt: unparseable): the
  // request, or the answer for a bad one (an error page while the client or redirect URI
  // is not trusted, an error redirect after).
  std::variant<AuthorizationRequest, net::HttpResponse> checkRequest(
      const std::optional<FormParams>& params) const;
  // A one-time code for `subject` with `role`, bound to the request's client, redirect URI,
  // PKCE challenge and nonce: the redirect to the request's redirect URI with code, state
  // and iss (or an error redirect when no code can be kept).
  net::HttpResponse issueCode(const AuthorizationRequest& request, const std::string& subject,
                              Role role);
  // The sign-in page for `request` with `message` (escaped) above the form.
  net::HttpResponse signInPage(unsigned status, const AuthorizationRequest& request,
                               std::string_view message, std::string_view user = {}) const;
  // RFC 6749 §4.1.2.1: an error for a checked request, sent back to its redirect URI.
  net::HttpResponse errorRedirect(const AuthorizationRequest& request, std::string_view code,
                                  std::string_view description) const;

 private:
  struct Pending {
    std::string client_id;
    std::string redirect_uri;
    std::string code_challenge;
    std::string nonce;
    std::string user;
    Role role = Role::kNone;
    std::time_t expires_at = 0;
  };

  std::time_t now() const;
  bool registered(std::string_view redirect_uri) const;
  void purgeExpired(std::time_t now);

  PortalLoginOptions options_;
  Store& store_;
  LoginTokens& logins_;
  PasswordWorker& passwords_;
  mutable std::mutex mutex_;
  std::map<std::string, Pending, std::less<>> pending_;  // by code
};

}  // namespace warden::controlplane
