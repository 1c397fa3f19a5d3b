// Signing in to the portal at an external OpenID Provider (Entra, Keycloak, Okta, ...),
// with `warden server` as the relying party: the "connector" model of Dex and
// oauth2-proxy. The portal's SPA keeps talking to the server's own provider
// (portal_login.h); only the person's proof of identity comes from elsewhere. So the SPA
// needs no change beyond a button on the server-rendered sign-in page, the external
// provider needs no CORS, and its tokens never reach the browser or a URL.
//
//   browser                      warden server                         provider
//   POST /oauth2/authorize/upstream (the portal's request + provider)
//                               checkRequest (as the password form)
//                               pending{state, nonce, verifier, request}
//   <-- 302 authorization_endpoint?code, state, nonce, S256 challenge
//   --------------------------------------------------------------------> sign in
//   <-------------------------------------------------- 302 /oauth2/callback/<name>?code&state
//   GET /oauth2/callback/<name>  take(state) (single use, expiry, this provider)
//                               POST token_endpoint (client_secret_basic, verifier) -->
//                               ID token: signature by the JWKS, iss, aud, azp, alg, exp,
//                               iat, nonce (upstream_id_token.h); role from role_claim
//                               PortalLogin::issueCode(request, "<name>:<subject>", role)
//   <-- 302 the portal's redirect_uri?code&state&iss (the portal's own code + PKCE)
//
// Failures: an unknown, used, expired or foreign state is an error page, never a redirect
// (no checked redirect URI belongs to it); an error from the provider goes back to the
// portal's redirect URI as access_denied (RFC 6749 §4.1.2.1) with the portal's state; a
// refused code or ID token shows the sign-in page again (401/502); an account without a
// mapped value of role_claim gets the sign-in page with "no Warden role" (403), and no
// code. Nothing here counts in the password throttle (login_throttle.h): these are not
// password guesses, and the provider throttles its own sign-ins; refusals are logged at
// info without tokens.
//
// Metadata (authorization and token endpoints, advertised ID token algorithms) is fetched
// at start (prefetch) and again on use once older than `metadata_refresh`; a failed
// refresh keeps the last good document. Keys come from token::JwksSource (its own thread,
// background refresh). A provider that cannot be reached gives a page saying so.
//
// Trust posture: every parameter comes from anyone on the network; the provider's answers
// come over the configured TLS (or loopback http) and its ID token counts only after the
// checks above.
// Thread-safety: create() and prefetch() before serving; begin() and callback() run on the
// API's I/O thread (coroutines); buttons() from any thread (metadata is locked).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "controlplane/portal_login.h"
#include "controlplane/sign_in_provider_config.h"
#include "controlplane/upstream_pending.h"
#include "net/https_server.h"

namespace warden::controlplane {

struct UpstreamSignInOptions {
  std::string base_url;  // the callback is <base_url>/oauth2/callback/<name>
  std::chrono::seconds state_ttl{std::chrono::minutes(10)};  // time to sign in upstream
  std::size_t max_pending = 10000;
  std::chrono::seconds metadata_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::function<std::time_t()> now;  // default: the system clock
};

class UpstreamSignIn {
 public:
  // Reads the client secrets, prepares TLS and starts fetching keys. Errors name the field.
  static Result<std::unique_ptr<UpstreamSignIn>> create(
      const std::vector<SignInProviderConfig>& providers, UpstreamSignInOptions options,
      PortalLogin& portal, const std::string& field = "control_plane.portal.sign_in_providers");
  ~UpstreamSignIn();
  UpstreamSignIn(const UpstreamSignIn&) = delete;
  UpstreamSignIn& operator=(const UpstreamSignIn&) = delete;

  // Fetches every provider's metadata and waits for its keys, up to `timeout` in all (on
  // the calling thread). True when all are ready; otherwise the laggards are retried on use.
  bool prefetch(std::chrono::milliseconds timeout);
  std::vector<SignInButton> buttons() const;

  // POST /oauth2/authorize/upstream
  boost::asio::awaitable<net::HttpResponse> begin(std::string content_type, std::string body);
  // GET /oauth2/callback/<name>
  boost::asio::awaitable<net::HttpResponse> callback(std::string name, std::string encoded_query,
                                                     std::string source);

  std::size_t pending() const { return pending_.size(); }

  struct Provider;

 private:
  UpstreamSignIn(UpstreamSignInOptions options, PortalLogin& portal);
  std::time_t now() const;
  Provider* find(std::string_view name) const;

  UpstreamSignInOptions options_;
  PortalLogin& portal_;
  PendingUpstreamStore pending_;
  std::vector<std::unique_ptr<Provider>> providers_;
};

}  // namespace warden::controlplane
