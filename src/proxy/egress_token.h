// Egress layer 3: for every egress route with a `token:` block, an OAuth2 access token for
// the target's audience, obtained with this workload's own SVID, held in memory, refreshed
// in the background before it expires, and attached by the egress session. The app never
// handles a credential (docs/sidecar.md, "Egress tokens").
//
// Client authentication at the token endpoint (identity-standards §7.1, §7.3):
//   private_key_jwt, Workload API mode: the client assertion is a JWT-SVID for
//       audience = `issuer` (or `assertion_audience`), fetched from the Workload API for
//       each token request (FetchJWTSVID; the agent mints a fresh one, with its own jti).
//   private_key_jwt, files mode: the sidecar signs the assertion itself with its X509-SVID's
//       private key (ES256 for P-256; kid = the RFC 7638 thumbprint, x5t#S256 = the leaf's
//       hash; iss = sub = client_id, aud, random jti, iat, exp = iat + 60 s). The token
//       endpoint must know that public key (a JWKS registered for the client, or the
//       certificate).
//   tls_client_auth: no assertion; the current X509-SVID is presented on the TLS connection
//       to the token endpoint.
//   none, with `subject_token_file` (RFC 8693 §2.1 token exchange): the subject token, an
//       external OIDC token that the platform writes to the file and rotates, is the
//       credential. The file is re-read for every request and never logged; after a failed
//       exchange a change of the file triggers the next attempt (polled every file_poll).
// The endpoint itself is authenticated by RFC 6125 against the system roots or `ca_file`,
// or as an X509-SVID with the sidecar's bundles and `server_spiffe_id`.
//
// Schedule per route (its own coroutine on the fetchers' thread):
//
//   fetch ──ok──> hold it; wait (lifetime - refresh_before) ──────────────────┐
//     ^    └fail─> keep the held token until it expires; wait retry backoff ──┤
//     └──── timer fires, or identityChanged() (a new SVID) kicks it ──────────┘
//
// Rotation with certificate-bound tokens (tls_client_auth) is make-before-break: the held
// token names the credentials it is bound to (HeldToken::bound_identity) and the egress
// session connects with those, so until the new SVID's token arrives the old pair is used
// together, and afterwards the new pair; connections made with the old certificate are
// never reused for the new token (pools are keyed by TlsContexts::generation).
//
// refresh_before: configured, or min(60 s, 20% of the lifetime). A refresh_before at least
// as long as the lifetime refreshes at half the lifetime instead, and no wait is below
// 200 ms, so a short-lived token cannot cause a fetch storm. Retries double from 500 ms to
// 30 s with jitter over the upper half.
//
// Thread-safety: fetching runs on one thread owned by EgressTokens (blocking Workload API
// calls included, bounded by their deadline). current() is lock-free and may be called from
// any worker on the request path: one atomic shared_ptr load (libstdc++ holds a spin bit
// for one reference-count increment), no allocation. status(), ready() and
// identityChanged() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "proxy/sidecar_config.h"
#include "proxy/tls_contexts.h"

namespace warden::proxy {

// What the request path needs: the ready-made header value and when it stops being usable.
struct HeldToken {
  std::string authorization;  // "Bearer <access token>"
  std::chrono::steady_clock::time_point expires_at;
  std::int64_t expires_unix = 0;
  // tls_client_auth: the credentials the token was requested with. The token is bound to
  // that certificate (RFC 8705 §3, cnf.x5t#S256), so it must travel on connections made
  // with them, also in the moments after a rotation before its successor arrives; it is
  // not used past that certificate's expiry. Null for unbound tokens.
  std::shared_ptr<const TlsContexts> bound_identity;
  bool usableAt(std::chrono::steady_clock::time_point now) const { return now < expires_at; }
};

struct EgressTokenStatus {
  std::string route;  // "host" or "host/prefix"
  std::string token_endpoint;
  std::string grant;               // "client_credentials" or "token_exchange"
  std::string client_auth;         // "none" for token exchange
  std::string subject_token_file;  // token exchange: the path, never the content
  bool ok = false;                 // an unexpired token is held
  std::int64_t expires_unix = 0;
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
  std::string last_error;  // empty after a success
  std::int64_t last_success_unix = 0;
  std::chrono::milliseconds next_fetch_in{0};
};

struct EgressTokenTiming {
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};
  std::chrono::milliseconds min_wait{200};
  std::chrono::seconds assertion_lifetime{60};
  // Token exchange after a failure: how often the subject token file is checked for change.
  std::chrono::milliseconds file_poll{std::chrono::seconds(1)};
};

class EgressTokens {
 public:
  // The sidecar's SVID material in force (null until the Workload API delivered one).
  using IdentityFn = std::function<std::shared_ptr<const TlsContexts>()>;

  // Prepares one fetcher per route with a `token:` block (ca_file is loaded here); nothing
  // is fetched before start(). `identity_config` tells Workload API mode from files.
  static Result<std::unique_ptr<EgressTokens>> create(const EgressConfig& egress,
                                                      const IdentityConfig& identity_config,
                                                      IdentityFn identity,
                                                      EgressTokenTiming timing = {});
  ~EgressTokens();  // stops and joins; a fetch in flight is abandoned
  EgressTokens(const EgressTokens&) = delete;
  EgressTokens& operator=(const EgressTokens&) = delete;

  void start();

  // The token held for route `route` (index into egress.routes), or nullptr when none is
  // held or the route has no `token:` block. The caller checks usableAt().
  std::shared_ptr<const HeldToken> current(std::size_t route) const;

  // The last fetch error of route `route` ("" after a success); takes the route's mutex
  // (the 503 path only).
  std::string lastError(std::size_t route) const;

  // A new SVID is in force: routes without a usable token, routes whose last attempt failed
  // and tls_client_auth routes (their tokens may be bound to the old certificate) fetch now.
  void identityChanged();

  // Every configured route holds an unexpired token.
  bool ready() const;
  std::vector<EgressTokenStatus> status() const;

  struct Impl;

 private:
  EgressTokens();
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::proxy
