// The portal's sign-in: a small OpenID Connect provider for one public client,
// `warden-portal`, with the authorization code grant and PKCE (RFC 6749 §4.1, RFC 7636,
// S256 only). The SPA sends the browser to /oauth2/authorize, the person types a local
// user's password into a server-rendered form, the browser comes back to the registered
// redirect URI with a one-time code, and the SPA trades code + verifier at /oauth2/token
// for a login token (LoginTokens, the same bearer token /api/v1/login issues) and an ID
// token. Tokens never travel in URLs: only the code does, and it is useless without the
// verifier that stays in the SPA.
//
// Code life:  authorize POST --(password ok)--> pending (60 s, in memory)
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
#include <vector>

#include "controlplane/login_throttle.h"
#include "controlplane/login_tokens.h"
#include "controlplane/store.h"
#include "net/https_server.h"

namespace warden::controlplane {

inline constexpr std::string_view kPortalClientId = "warden-portal";

struct PortalLoginOptions {
  std::string base_url;                    // the issuer; <base>/callback is registered
  std::vector<std::string> redirect_uris;  // extra exact redirect URIs (development)
  std::chrono::seconds token_ttl{3600};    // the access and ID tokens' lifetime
  std::chrono::seconds code_ttl{60};
  std::size_t max_pending = 10000;
  std::function<std::time_t()> now;  // the codes' clock; default: the system clock
};

class PortalLogin {
 public:
  PortalLogin(PortalLoginOptions options, Store& store, LoginTokens& logins, LoginThrottle& throttle);

  net::HttpResponse discovery() const;  // /.well-known/openid-configuration
  net::HttpResponse jwks() const;       // /oauth2/jwks
  net::HttpResponse loginCss() const;   // /oauth2/login.css
  // GET /oauth2/authorize: the sign-in form, an error page or an error redirect.
  net::HttpResponse authorizeForm(std::string_view encoded_query) const;
  // POST /oauth2/authorize (the form): a redirect with a code, or the form again (429
  // with Retry-After while the user name or `source` must wait, login_throttle.h).
  net::HttpResponse authorizeSubmit(std::string_view content_type, std::string_view body,
                                    std::string_view source);
  // POST /oauth2/token
  net::HttpResponse token(std::string_view content_type, std::string_view body);

  std::size_t pendingCodes() const;

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
  LoginThrottle& throttle_;
  mutable std::mutex mutex_;
  std::map<std::string, Pending, std::less<>> pending_;  // by code
};

}  // namespace warden::controlplane
