// A local stand-in for an external OIDC issuer shaped like GitHub Actions', so the demo mesh
// can show the token service exchanging a workflow's token (federated credentials,
// docs/token-service.md) without GitHub. It serves over HTTPS (the local Web PKI's leaf):
//   GET /.well-known/openid-configuration   discovery (issuer, jwks_uri, ...)
//   GET /.well-known/jwks                   the one RS256 public key
//   GET /token?audience=AUD                 GitHub's job token request: needs
//                                           `Authorization: Bearer <request token>`,
//                                           answers {"count":1,"value":"<jwt>"}
// and keeps a token in `token_file`, rewritten every `refresh` (as Kubernetes projects a
// service-account token, or AZURE_FEDERATED_TOKEN_FILE: a reader re-reads it at each use).
//
// Tokens: header {alg RS256, kid, typ JWT}; claims as GitHub issues them (iss, sub, aud,
// jti, iat, nbf back-dated a few seconds, exp, repository, repository_owner, ref, workflow,
// event_name, run_id, runner_environment). repository/ref/environment are read from the
// subject (`repo:ORG/REPO:ref:REF` or `repo:ORG/REPO:environment:NAME`).
// Keys: an RSA-2048 key made at start and held in memory only: a restart is a key rotation
// at the issuer, which verifiers handle by refetching the JWKS on an unknown kid.
//
// Trust posture: a demo fixture, not an identity provider. Anyone who can reach the
// port reads discovery and JWKS; a token for any audience goes to whoever holds the request
// token (32 random bytes at start, in `request_token_file`, 0600, compared in constant
// time), so it is exactly as protected as that file. The token file is 0600 too.
// Thread-safety: start() returns a running issuer with one I/O thread; the public members
// may be called from any thread; the destructor stops and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace warden::demo {

inline constexpr char kGithubLikeDefaultSubject[] = "repo:acme/budget-tools:ref:refs/heads/main";
inline constexpr char kFederatedDefaultAudience[] = "api://AzureADTokenExchange";

struct OidcStandinOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::string cert_file;   // PEM, leaf first (local_web_pki.h's server.pem)
  std::string key_file;
  // Empty: https://127.0.0.1:<port>. Scheme, host and port only: the endpoints live at
  // fixed paths, and a path in the issuer would move them.
  std::string issuer;
  std::string subject = kGithubLikeDefaultSubject;
  std::string audience = kFederatedDefaultAudience;  // of the token file, and of /token by default
  std::chrono::seconds token_ttl{300};
  std::string token_file;  // empty: none written
  std::chrono::seconds refresh{60};
  // Empty: the request token is not written anywhere, so /token admits no one.
  std::string request_token_file;
};

class OidcStandin {
 public:
  static Result<std::unique_ptr<OidcStandin>> start(OidcStandinOptions options);
  ~OidcStandin();
  OidcStandin(const OidcStandin&) = delete;
  OidcStandin& operator=(const OidcStandin&) = delete;

  std::uint16_t port() const;
  const std::string& issuer() const;
  const std::string& kid() const;
  // A freshly signed token for `audience` (the configured one when empty).
  Result<std::string> mint(const std::string& audience = {}) const;
  // Rewrites the token file now (the refresh timer does so every `refresh`).
  Status writeTokenFile() const;
  void stop();

  struct Impl;

 private:
  OidcStandin();
  std::unique_ptr<Impl> impl_;
};

// `warden oidc-standin`: starts the stand-in, prints `oidc stand-in: issuer <url>` on
// stdout once it serves, and runs until SIGINT or SIGTERM (SIGHUP rewrites the token file).
// Returns 0 after a signal, 2 when it cannot start (the reason on stderr).
int runOidcStandin(const OidcStandinOptions& options);

}  // namespace warden::demo
