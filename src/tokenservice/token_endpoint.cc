#include "tokenservice/token_endpoint.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "jose/base64url.h"
#include "tokenservice/token_validation.h"

namespace warden::tokenservice {
namespace {

using Outcome = TokenEndpoint::Outcome;

constexpr std::string_view kDefaultScopeSuffix = "/.default";

Outcome fail(OAuthErrorCode code, std::string description) {
  Outcome o;
  o.error = oauthError(code, std::move(description));
  return o;
}

Outcome authFailure(OAuthErrorCode code, std::string description) {
  Outcome o = fail(code, std::move(description));
  o.authentication_failed = true;
  return o;
}

// Whether `kid` names a JWT authority of any trusted trust domain.
bool signedByJwtAuthority(const std::map<std::string, identity::SpiffeBundle>& bundles,
                          const std::string& kid) {
  for (const auto& [td, bundle] : bundles) {
    for (const auto& authority : bundle.jwt_authorities) {
      if (authority.kid == kid) return true;
    }
  }
  return false;
}

std::string randomId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return {};
  return jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

// The scheme of an Authorization header, restricted to token characters so it can be
// echoed in WWW-Authenticate.
std::string authScheme(std::string_view authorization) {
  std::string scheme(authorization.substr(0, authorization.find(' ')));
  const bool token = !scheme.empty() && std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
  return token ? scheme : "Basic";
}

}  // namespace

std::vector<std::string> limiterKeys(const TokenHttpRequest& request) {
  std::vector<std::string> keys{"source:" + request.source};
  auto form = parseForm(request.body);
  if (!form) return keys;
  std::string client;
  if (const auto it = form->find("client_id"); it != form->end()) {
    client = it->second.front();
  } else if (const auto a = form->find("client_assertion"); a != form->end()) {
    // Unverified, and only used to pick a bucket: a forger can at most spend the
    // named client's failure budget, which the per-source bucket also bounds.
    if (auto peek = peekToken(a->second.front())) client = peek->sub;
  }
  if (!client.empty()) keys.push_back("client:" + client.substr(0, 512));
  return keys;
}

TokenEndpoint::TokenEndpoint(TokenEndpointOptions options, PolicyFn policy, BundlesFn jwt_bundles,
                             const issuer::JwtAuthority& signing_keys,
                             ExternalKeyCache& external_keys, ReplayCache& replay,
                             FailureLimiter& limiter, NowFn now)
    : options_(std::move(options)),
      policy_(std::move(policy)),
      jwt_bundles_(std::move(jwt_bundles)),
      signing_keys_(signing_keys),
      external_keys_(external_keys),
      replay_(replay),
      limiter_(limiter),
      now_(now ? std::move(now) : NowFn([] { return std::time(nullptr); })) {}

std::vector<std::string> TokenEndpoint::acceptedAudiences() const {
  return {options_.issuer, options_.token_endpoint};
}

SvidTokenCheck TokenEndpoint::svidCheck(std::time_t now, bool client_assertion) const {
  SvidTokenCheck check;
  check.audiences = acceptedAudiences();
  check.now = now;
  check.leeway = options_.leeway;
  check.client_assertion = client_assertion;
  check.own_issuer = options_.svid_issuer;
  check.own_trust_domain = options_.svid_trust_domain;
  return check;
}

HttpAnswer TokenEndpoint::handle(const TokenHttpRequest& request, Outcome* out) const {
  const auto keys = limiterKeys(request);
  const auto now = FailureLimiter::Clock::now();
  for (const auto& key : keys) {
    if (const auto wait = limiter_.blocked(key, now)) {
      OAuthError e = oauthError(OAuthErrorCode::kSlowDown,
                                "too many failed authentication attempts; retry later");
      e.retry_after_s = static_cast<int>(std::max<std::int64_t>(wait->count(), 1));
      HttpAnswer a;
      a.status = e.httpStatus();
      a.headers = {{"Content-Type", "application/json"},
                   {"Cache-Control", "no-store"},
                   {"Retry-After", std::to_string(*e.retry_after_s)}};
      a.body = e.body();
      if (out != nullptr) {
        out->error = std::move(e);
        out->authentication_failed = false;
      }
      return a;
    }
  }
  Outcome local;
  Outcome& outcome = out != nullptr ? *out : local;
  outcome = decide(request);
  HttpAnswer answer;
  answer.headers = {{"Content-Type", "application/json"},
                    {"Cache-Control", "no-store"},
                    {"Pragma", "no-cache"}};
  if (!outcome.error) {
    answer.status = 200;
    answer.body = outcome.response.dump();
    return answer;
  }
  if (outcome.authentication_failed) {
    for (const auto& key : keys) limiter_.recordFailure(key, now);
  }
  const OAuthError& e = *outcome.error;
  answer.status = e.httpStatus();
  if (!e.www_authenticate.empty()) answer.headers.emplace_back("WWW-Authenticate", e.www_authenticate);
  if (e.retry_after_s) answer.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_s));
  answer.body = e.body();
  return answer;
}

Outcome TokenEndpoint::decide(const TokenHttpRequest& http) const {
  if (!http.authorization.empty()) {
    // No client secrets exist here, so HTTP authentication can only be a mistake; RFC 6749
    // §5.2 still asks for a 401 naming the scheme the client used.
    Outcome o = authFailure(OAuthErrorCode::kInvalidClient,
                            "HTTP authentication (client secrets) is not supported; use "
                            "private_key_jwt or tls_client_auth");
    o.error->www_authenticate = authScheme(http.authorization) + " realm=\"warden-token-service\"";
    return o;
  }
  if (!isFormContentType(http.content_type)) {
    return fail(OAuthErrorCode::kInvalidRequest,
                "the body must be application/x-www-form-urlencoded");
  }
  auto form = parseForm(http.body);
  if (!form) return fail(OAuthErrorCode::kInvalidRequest, form.error().message);
  auto parsed = parseTokenRequest(*form);
  if (auto* error = std::get_if<OAuthError>(&parsed)) {
    Outcome o;
    o.error = std::move(*error);
    o.authentication_failed = o.error->code == OAuthErrorCode::kInvalidClient;
    return o;
  }
  const auto& request = std::get<TokenRequest>(parsed);
  const auto policy = policy_();
  if (!policy) return fail(OAuthErrorCode::kServerError, "no token policy loaded");
  const std::time_t now = now_();
  return request.grant == RequestedGrant::kClientCredentials
             ? clientCredentials(request, http, *policy, now)
             : tokenExchange(request, *policy, now);
}

Result<ValidatedExternalToken> TokenEndpoint::validateExternal(const std::string& token,
                                                               const TokenPeek& peek,
                                                               const TokenPolicy& policy,
                                                               std::time_t now) const {
  const ExternalIssuerConfig* issuer = policy.externalIssuer(peek.iss);
  if (issuer == nullptr) {
    return Error{"issuer " + peek.iss + " is not a trusted external issuer"};
  }
  const auto snapshot = external_keys_.get(issuer->issuer);
  if (!snapshot.keys) {
    return Error{"the keys of issuer " + issuer->issuer + " are unavailable" +
                 (snapshot.last_error.empty() ? "" : ": " + snapshot.last_error)};
  }
  ExternalTokenCheck check;
  check.issuer = issuer->issuer;
  check.algorithms = issuer->algorithms;
  check.now = now;
  check.leeway = options_.leeway;
  auto validated = validateExternalToken(token, *snapshot.keys, check);
  if (!validated) {
    std::string why = validated.error().message;
    if (why == "unknown kid") {
      why = "kid " + peek.kid + " is not in the JWKS of " + issuer->issuer;
      if (!snapshot.last_error.empty()) why += " (last fetch: " + snapshot.last_error + ")";
    }
    return Error{why};
  }
  return validated;
}

Outcome TokenEndpoint::clientCredentials(const TokenRequest& request, const TokenHttpRequest& http,
                                         const TokenPolicy& policy, std::time_t now) const {
  const Agent* named = nullptr;
  if (!request.client_id.empty()) {
    named = policy.agentByClientId(request.client_id);
    if (named == nullptr) {
      return authFailure(OAuthErrorCode::kInvalidClient, "unknown client_id " + request.client_id);
    }
  }
  const Agent* agent = nullptr;
  std::string method;
  std::optional<std::array<std::uint8_t, 32>> bound_to;
  if (!request.client_assertion.empty()) {
    auto peek = peekToken(request.client_assertion);
    if (!peek) {
      return authFailure(OAuthErrorCode::kInvalidClient,
                         "client_assertion is not a valid JWS: " + peek.error().message);
    }
    if (peek->external(options_.svid_issuer)) {
      auto external = validateExternal(request.client_assertion, *peek, policy, now);
      if (!external) {
        return authFailure(OAuthErrorCode::kInvalidClient,
                           "federated client assertion rejected: " + external.error().message);
      }
      auto match = policy.matchFederated(external->iss, external->sub, external->aud, named);
      if (!match) {
        return authFailure(OAuthErrorCode::kInvalidClient,
                           "federated client assertion rejected: " + match.error().message);
      }
      agent = match->agent;
      method = "federated_credential";
    } else {
      SvidTokenCheck check = svidCheck(now, /*client_assertion=*/true);
      check.max_lifetime = policy.config().max_assertion_ttl;
      const auto bundles = jwt_bundles_();
      auto svid = validateSvidToken(request.client_assertion, bundles, check);
      if (!svid) {
        std::string why = "client assertion rejected: " + svid.error().message;
        if (peek->names_certificate || !signedByJwtAuthority(bundles, peek->kid)) {
          // The usual cause: a sidecar with an SVID from files signing with its X.509 key.
          why += " (assertions here are JWT-SVIDs; with only an X509-SVID, use "
                 "tls_client_auth)";
        }
        return authFailure(OAuthErrorCode::kInvalidClient, why);
      }
      agent = policy.agentBySpiffeId(svid->spiffe_id.str());
      if (agent == nullptr) {
        return authFailure(OAuthErrorCode::kInvalidClient,
                           "no agent is registered for " + svid->spiffe_id.str());
      }
      if (named != nullptr && named != agent) {
        return authFailure(OAuthErrorCode::kInvalidClient,
                           "client_id does not name the assertion's subject");
      }
      // Checked last among the authentication steps, so that a rejected assertion does
      // not burn its jti; after this point the assertion has been used.
      switch (replay_.insert(svid->spiffe_id.str() + "\n" + svid->jti,
                             svid->exp + options_.leeway.count(), now)) {
        case ReplayCache::Outcome::kFresh:
          break;
        case ReplayCache::Outcome::kReplayed:
          return authFailure(OAuthErrorCode::kInvalidClient,
                             "client assertion rejected: jti has already been used");
        case ReplayCache::Outcome::kFull: {
          Outcome o = fail(OAuthErrorCode::kTemporarilyUnavailable,
                           "too many assertions in flight; retry shortly");
          o.error->retry_after_s = 5;
          return o;
        }
      }
      method = "private_key_jwt";
    }
  } else if (!request.client_id.empty()) {
    if (!http.client_cert.presented) {
      return authFailure(OAuthErrorCode::kInvalidClient,
                         "no client authentication: send a client_assertion (private_key_jwt) "
                         "or connect with a client certificate (tls_client_auth)");
    }
    if (!http.client_cert.svid) {
      return authFailure(OAuthErrorCode::kInvalidClient,
                         "the client certificate is not a trusted X509-SVID: " +
                             http.client_cert.error);
    }
    if (named->config.spiffe_id.empty() || named->config.spiffe_id != http.client_cert.svid->id.str()) {
      return authFailure(OAuthErrorCode::kInvalidClient,
                         "the client certificate's SPIFFE ID " + http.client_cert.svid->id.str() +
                             " is not the one registered for client " + request.client_id);
    }
    agent = named;
    method = "tls_client_auth";
    bound_to = http.client_cert.svid->cert_sha256;
  } else {
    return authFailure(OAuthErrorCode::kInvalidClient,
                       "client authentication is required (private_key_jwt or tls_client_auth)");
  }
  if (!agent->allows(GrantType::kClientCredentials)) {
    return fail(OAuthErrorCode::kUnauthorizedClient,
                "agent " + agent->config.name + " may not use client_credentials");
  }
  return issue(policy, *agent, nullptr, request, "client_credentials", method, bound_to, now);
}

Outcome TokenEndpoint::tokenExchange(const TokenRequest& request, const TokenPolicy& policy,
                                     std::time_t now) const {
  if (!request.client_assertion.empty()) {
    return fail(OAuthErrorCode::kInvalidRequest,
                "token exchange takes no client_assertion: the subject_token is the credential, "
                "and an acting agent is named by actor_token");
  }
  const Agent* named = nullptr;
  if (!request.client_id.empty()) {
    named = policy.agentByClientId(request.client_id);
    if (named == nullptr) {
      return authFailure(OAuthErrorCode::kInvalidClient, "unknown client_id " + request.client_id);
    }
  }
  const SvidTokenCheck svid_check = svidCheck(now, /*client_assertion=*/false);

  auto peek = peekToken(request.subject_token);
  if (!peek) {
    return authFailure(OAuthErrorCode::kInvalidRequest,
                       "subject_token is not a valid JWS: " + peek.error().message);
  }
  const Agent* subject = nullptr;
  std::string method;
  const bool external_subject = peek->external(options_.svid_issuer);
  if (external_subject) {
    auto external = validateExternal(request.subject_token, *peek, policy, now);
    if (!external) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "subject_token rejected: " + external.error().message);
    }
    auto match = policy.matchFederated(external->iss, external->sub, external->aud, named);
    if (!match) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "subject_token rejected: " + match.error().message);
    }
    subject = match->agent;
    method = "federated_credential";
  } else {
    auto svid = validateSvidToken(request.subject_token, jwt_bundles_(), svid_check);
    if (!svid) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "subject_token rejected: " + svid.error().message);
    }
    subject = policy.agentBySpiffeId(svid->spiffe_id.str());
    if (subject == nullptr) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "subject_token rejected: no agent is registered for " +
                             svid->spiffe_id.str());
    }
    method = "jwt_svid";
  }
  const Agent* actor = nullptr;
  if (!request.actor_token.empty()) {
    auto actor_peek = peekToken(request.actor_token);
    if (!actor_peek || actor_peek->external(options_.svid_issuer)) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "actor_token must be a JWT-SVID of the acting agent");
    }
    auto svid = validateSvidToken(request.actor_token, jwt_bundles_(), svid_check);
    if (!svid) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "actor_token rejected: " + svid.error().message);
    }
    actor = policy.agentBySpiffeId(svid->spiffe_id.str());
    if (actor == nullptr) {
      return authFailure(OAuthErrorCode::kInvalidRequest,
                         "actor_token rejected: no agent is registered for " + svid->spiffe_id.str());
    }
  }
  if (named != nullptr && !external_subject && named != (actor != nullptr ? actor : subject)) {
    return fail(OAuthErrorCode::kInvalidRequest,
                "client_id names neither the acting agent nor the subject");
  }
  for (const Agent* a : {subject, actor}) {
    if (a != nullptr && !a->allows(GrantType::kTokenExchange)) {
      return fail(OAuthErrorCode::kUnauthorizedClient,
                  "agent " + a->config.name + " may not use token exchange");
    }
  }
  Outcome o = issue(policy, *subject, actor, request, "token_exchange", method, std::nullopt, now);
  if (!o.error) o.response["issued_token_type"] = kTokenTypeAccessToken;
  return o;
}

Outcome TokenEndpoint::issue(const TokenPolicy& policy, const Agent& agent, const Agent* actor,
                             const TokenRequest& request, std::string grant,
                             std::string auth_method,
                             const std::optional<std::array<std::uint8_t, 32>>& cert_sha256,
                             std::time_t now) const {
  std::set<std::string> targets(request.resources.begin(), request.resources.end());
  targets.insert(request.audiences.begin(), request.audiences.end());
  if (!request.scope.empty()) {
    auto scopes = splitScope(request.scope);
    if (!scopes) return fail(OAuthErrorCode::kInvalidScope, scopes.error().message);
    for (const auto& s : *scopes) {
      if (!s.ends_with(kDefaultScopeSuffix) || s.size() == kDefaultScopeSuffix.size()) {
        return fail(OAuthErrorCode::kInvalidScope,
                    "scope " + s + " is not of the form <audience>/.default");
      }
      targets.insert(s.substr(0, s.size() - kDefaultScopeSuffix.size()));
    }
  }
  if (targets.empty()) {
    return fail(OAuthErrorCode::kInvalidTarget,
                "name the audience with resource, audience or scope <audience>/.default");
  }
  if (targets.size() > 1) {
    return fail(OAuthErrorCode::kInvalidTarget, "a token is issued for one audience only");
  }
  const Audience* audience = policy.audience(*targets.begin());
  if (audience == nullptr) {
    return fail(OAuthErrorCode::kInvalidTarget, "unknown audience " + *targets.begin());
  }
  const auto* roles = policy.roles(agent, *audience);
  if (roles == nullptr) {
    return fail(OAuthErrorCode::kInvalidTarget,
                "agent " + agent.config.name + " has no role assignment for " + audience->config.id);
  }
  std::vector<std::string> granted = *roles;
  if (actor != nullptr) {
    const auto* actor_roles = policy.roles(*actor, *audience);
    if (actor_roles == nullptr) {
      return fail(OAuthErrorCode::kInvalidTarget, "acting agent " + actor->config.name +
                                                      " has no role assignment for " +
                                                      audience->config.id);
    }
    // Delegation never grants more than either party holds.
    std::erase_if(granted, [&](const std::string& r) {
      return std::find(actor_roles->begin(), actor_roles->end(), r) == actor_roles->end();
    });
  }
  for (const Agent* a : {&agent, actor}) {
    if (a == nullptr) continue;
    if (auto denial = policy.governance(*a, *audience)) {
      return fail(OAuthErrorCode::kAccessDenied, denial->reason + ": " + denial->description);
    }
  }

  const auto ttl = policy.tokenTtl(*audience);
  const std::string jti = randomId();
  if (jti.empty()) return fail(OAuthErrorCode::kServerError, "no randomness for a jti");
  const std::string scope = audience->config.id + std::string(kDefaultScopeSuffix);
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", agent.subject()},
                           {"aud", audience->config.id},
                           {"client_id", actor != nullptr ? actor->clientId() : agent.clientId()},
                           {"iat", now},
                           {"exp", now + ttl.count()},
                           {"jti", jti},
                           {"scope", scope},
                           {"roles", granted}};
  if (cert_sha256) {
    claims["cnf"] = {{"x5t#S256", jose::base64UrlEncode(std::string_view(
                                      reinterpret_cast<const char*>(cert_sha256->data()),
                                      cert_sha256->size()))}};
  }
  if (actor != nullptr) claims["act"] = {{"sub", actor->subject()}};
  auto token = signing_keys_.sign({{"typ", "at+jwt"}}, claims);
  if (!token) return fail(OAuthErrorCode::kServerError, "cannot sign: " + token.error().message);

  Outcome o;
  o.response = {{"access_token", *token},
                {"token_type", "Bearer"},
                {"expires_in", ttl.count()},
                {"scope", scope}};
  o.issued = IssuedToken{agent.config.name, audience->config.id, std::move(grant),
                         std::move(auth_method), granted, cert_sha256.has_value(),
                         actor != nullptr ? actor->config.name : std::string()};
  return o;
}

}  // namespace warden::tokenservice
