// The token endpoint's decisions, without sockets: a parsed HTTP request in, an HTTP
// answer out (RFC 6749 §3.2, §4.4, §5; RFC 7523; RFC 8693; RFC 8705; RFC 8707; RFC 9068).
//
// Grants and client authentication:
//   client_credentials
//     private_key_jwt   client_assertion = the agent's JWT-SVID (token_validation.h);
//                       client_id optional (the SPIFFE ID or the agent's client id, and
//                       then it must name the same agent)
//     federated         client_assertion = an external OIDC token (`iss` neither `sub`
//                       nor our `svid_issuer`) that a
//                       federated credential of the agent admits (Entra's FIC contract:
//                       client_id names the agent, or the only agent whose rule matches)
//     tls_client_auth   no assertion; client_id names the agent; the connection's client
//                       certificate is an X509-SVID for exactly the agent's SPIFFE ID
//                       (RFC 8705 §2.1.2, tls_client_auth_san_uri). The token is then
//                       certificate-bound: cnf.x5t#S256 (RFC 8705 §3).
//     Every failure here is 401 invalid_client.
//   token exchange (RFC 8693), for callers outside the mesh
//     no client authentication (the subject token is the credential; a client_assertion
//     is refused so that nobody mistakes it for delegation); client_id optional, naming
//     the agent whose federated credentials to try.
//     subject_token: an external OIDC token admitted by a federated credential, or a
//     JWT-SVID (aud = this server) of an agent. actor_token (optional): a JWT-SVID of the
//     acting agent, recorded as `act: {sub}`; the token's roles are then those both the
//     subject and the actor hold for the audience.
//     A bad subject or actor token is 400 invalid_request (RFC 8693 §2.2.2).
// Target: `resource` (RFC 8707), `audience` (RFC 8693) or a `<audience>/.default` scope,
// one audience per token; unknown, several, or not assigned to the agent: invalid_target.
// Governance: a disabled or quarantined agent, or one riskier than the audience allows,
// gets 403 access_denied with the reason in error_description.
// Failed client authentication (and rejected subject/actor tokens) feed FailureLimiter
// per source address and per claimed client; a blocked key gets 429 slow_down.
//
// Issued tokens are RFC 9068 JWTs: header {typ: at+jwt, alg: ES256, kid}; claims iss,
// sub, aud, client_id, iat, exp, jti, scope, roles, and cnf / act when they apply.
//
// Trust posture: the request is attacker-controlled; the client certificate outcome was
// produced by our own TLS layer; policy, bundles and external keys are trusted inputs.
// Thread-safety: handle() may be called from any thread; state (replay cache, limiter,
// key caches) is internally locked and the policy is an immutable snapshot per request.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "identity/spiffe_bundle.h"
#include "identity/svid_verifier.h"
#include "issuer/jwt_authority.h"
#include "tokenservice/agent_policy.h"
#include "tokenservice/external_keys.h"
#include "tokenservice/guards.h"
#include "tokenservice/oauth_error.h"
#include "tokenservice/token_request.h"
#include "tokenservice/token_validation.h"

namespace warden::tokenservice {

struct ClientCertificate {
  bool presented = false;
  std::optional<identity::VerifiedPeer> svid;  // set when it verified as an X509-SVID
  std::string error;                           // why it did not, when presented
};

struct TokenHttpRequest {
  std::string content_type;
  std::string authorization;  // the Authorization header, if any
  std::string body;
  std::string source;  // peer address, for rate limiting
  ClientCertificate client_cert;
};

struct HttpAnswer {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// One issued token, for audit and tests.
struct IssuedToken {
  std::string agent;
  std::string audience;
  std::string grant;
  std::string auth_method;
  std::vector<std::string> roles;
  bool bound = false;
  std::string actor;
};

struct TokenEndpointOptions {
  std::string issuer;          // our issuer identifier
  std::string token_endpoint;  // our token endpoint URL
  std::chrono::seconds leeway{60};
  // The embedded SPIFFE issuer's `jwt_issuer` (empty: none) and trust domain: JWT-SVIDs of
  // that trust domain carrying it as `iss` are JWT-SVIDs here, not external tokens
  // (token_validation.h).
  std::string svid_issuer;
  std::string svid_trust_domain;
};

class TokenEndpoint {
 public:
  using PolicyFn = std::function<std::shared_ptr<const TokenPolicy>()>;
  using BundlesFn = std::function<std::map<std::string, identity::SpiffeBundle>()>;
  using NowFn = std::function<std::time_t()>;

  TokenEndpoint(TokenEndpointOptions options, PolicyFn policy, BundlesFn jwt_bundles,
                const issuer::JwtAuthority& signing_keys, ExternalKeyCache& external_keys,
                ReplayCache& replay, FailureLimiter& limiter, NowFn now = {});

  struct Outcome;
  // `outcome`, when given, receives the decision (for logs and tests).
  HttpAnswer handle(const TokenHttpRequest& request, Outcome* outcome = nullptr) const;
  struct Outcome {
    std::optional<OAuthError> error;
    nlohmann::json response;  // the success body
    IssuedToken issued;
    bool authentication_failed = false;  // feeds the FailureLimiter
  };
  Outcome decide(const TokenHttpRequest& request) const;

  const TokenEndpointOptions& options() const { return options_; }

 private:
  Outcome clientCredentials(const TokenRequest& request, const TokenHttpRequest& http,
                            const TokenPolicy& policy, std::time_t now) const;
  Outcome tokenExchange(const TokenRequest& request, const TokenPolicy& policy,
                        std::time_t now) const;
  Outcome issue(const TokenPolicy& policy, const Agent& agent, const Agent* actor,
                const TokenRequest& request, std::string grant, std::string auth_method,
                const std::optional<std::array<std::uint8_t, 32>>& cert_sha256,
                std::time_t now) const;
  std::vector<std::string> acceptedAudiences() const;
  SvidTokenCheck svidCheck(std::time_t now, bool client_assertion) const;
  Result<ValidatedExternalToken> validateExternal(const std::string& token, const TokenPeek& peek,
                                                  const TokenPolicy& policy, std::time_t now) const;

  TokenEndpointOptions options_;
  PolicyFn policy_;
  BundlesFn jwt_bundles_;
  const issuer::JwtAuthority& signing_keys_;
  ExternalKeyCache& external_keys_;
  ReplayCache& replay_;
  FailureLimiter& limiter_;
  NowFn now_;
};

// The limiter keys of a request (source address, claimed client), derived without
// verifying anything; used before and after a decision.
std::vector<std::string> limiterKeys(const TokenHttpRequest& request);

}  // namespace warden::tokenservice
