// The token endpoint's decisions without sockets: grants, client authentication, the
// error mapping (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707), governance, rate limiting, and
// the RFC 9068 shape of what it issues.
#include "tokenservice/token_endpoint.h"

#include <gtest/gtest.h>

#include "jose/base64url.h"
#include "test_tokens.h"

namespace warden::tokenservice {
namespace {

using testing::RsaIssuer;

const std::string kIssuer = "https://127.0.0.1:8443";
const std::string kReport = "spiffe://example.org/budget-report";
const std::string kApproval = "spiffe://example.org/budget-approval";
const std::string kBackend = "api://budget-backend";
const std::string kExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
const std::string kJwtType = "urn:ietf:params:oauth:token-type:jwt";
const std::string kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// The embedded SPIFFE issuer's `jwt_issuer`: the `iss` of every JWT-SVID it mints.
const std::string kJwtIssuer = "https://oidc.example.org";

std::string encode(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) out += (out.empty() ? "" : "&") + encode(k) + "=" + encode(v);
  return out;
}

nlohmann::json payloadOf(const std::string& jwt) {
  const auto first = jwt.find('.');
  const auto second = jwt.find('.', first + 1);
  return nlohmann::json::parse(*jose::base64UrlDecode(jwt.substr(first + 1, second - first - 1)));
}

nlohmann::json headerOf(const std::string& jwt) {
  return nlohmann::json::parse(*jose::base64UrlDecode(jwt.substr(0, jwt.find('.'))));
}

class TokenEndpointTest : public ::testing::Test {
 protected:
  TokenEndpointTest() { setPolicy(seed()); }

  TokenPolicyConfig seed() {
    TokenPolicyConfig p;
    p.audiences = {{kBackend, std::nullopt, std::nullopt},
                   {"api://ledger", std::chrono::seconds(60), RiskLevel::kNone}};
    p.external_issuers = {{gh_.issuer, "", {jose::Alg::kRS256}}};
    AgentConfig report;
    report.name = "budget-report";
    report.spiffe_id = kReport;
    report.roles[kBackend] = {"Budget.Read"};
    AgentConfig approval;
    approval.name = "budget-approval";
    approval.spiffe_id = kApproval;
    approval.client_id = "budget-approval";
    approval.risk = RiskLevel::kLow;
    approval.roles[kBackend] = {"Budget.Read", "Budget.Submit"};
    approval.roles["api://ledger"] = {"Ledger.Read"};
    approval.federated_credentials = {
        {"gha-prod", gh_.issuer, "repo:octo/app:environment:prod", "", "api://AzureADTokenExchange"}};
    p.agents = {report, approval};
    return p;
  }
  void setPolicy(TokenPolicyConfig config) {
    auto compiled = TokenPolicy::compile(std::move(config));
    ASSERT_TRUE(compiled.ok()) << compiled.error().message;
    policy_ = *compiled;
  }

  std::string assertion(const std::string& id, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json c = {{"iss", id}, {"sub", id}, {"aud", kIssuer}, {"iat", now_},
                        {"exp", now_ + 60}, {"jti", "jti-" + std::to_string(++counter_)}};
    c.update(extra);
    return svid_keys_->sign({}, c).value();
  }
  std::string svid(const std::string& id) {
    return svid_keys_->sign({}, {{"sub", id}, {"aud", kIssuer}, {"exp", now_ + 300}}).value();
  }

  TokenEndpoint::Outcome run(const std::string& body, ClientCertificate cert = {},
                             std::string content_type = "application/x-www-form-urlencoded",
                             std::string authorization = {}) {
    TokenHttpRequest r;
    r.content_type = std::move(content_type);
    r.authorization = std::move(authorization);
    r.body = body;
    r.source = "192.0.2.1";
    r.client_cert = std::move(cert);
    TokenEndpoint::Outcome o;
    last_ = endpoint_in_use_->handle(r, &o);
    return o;
  }
  // Our own endpoint; `svid_issuer` is the embedded issuer's jwt_issuer (empty: none).
  static TokenEndpointOptions options(const std::string& svid_issuer = "") {
    TokenEndpointOptions o;
    o.issuer = kIssuer;
    o.token_endpoint = kIssuer + "/token";
    o.leeway = std::chrono::seconds(60);
    o.svid_issuer = svid_issuer;
    o.svid_trust_domain = "example.org";
    return o;
  }
  // An endpoint sharing this fixture's keys, policy and guards, with other options.
  TokenEndpoint endpointWith(TokenEndpointOptions o) {
    return TokenEndpoint(std::move(o), [this] { return policy_; },
                         [this] { return bundles_(); }, *token_keys_, external_, replay_,
                         limiter_, [this] { return now_; });
  }
  static std::string code(const TokenEndpoint::Outcome& o) {
    return o.error ? std::string(o.error->name()) : "ok";
  }
  std::string clientCredentials(const std::string& assertion_jwt, const std::string& extra = "") {
    return form({{"grant_type", "client_credentials"},
                 {"client_assertion_type", kAssertionType},
                 {"client_assertion", assertion_jwt},
                 {"scope", kBackend + "/.default"}}) + extra;
  }

  std::time_t now_ = std::time(nullptr);
  int counter_ = 0;
  RsaIssuer gh_;
  std::unique_ptr<issuer::JwtAuthority> svid_keys_ = testing::memoryAuthority();
  std::unique_ptr<issuer::JwtAuthority> token_keys_ = testing::memoryAuthority();
  std::shared_ptr<const TokenPolicy> policy_;
  ExternalKeyCache external_;
  ReplayCache replay_;
  FailureLimiter limiter_{5, std::chrono::hours(1)};
  std::function<std::map<std::string, identity::SpiffeBundle>()> bundles_ = [this] {
    return testing::bundlesOf(*svid_keys_);
  };
  TokenEndpoint endpoint_{options(),
                          [this] { return policy_; },
                          [this] { return bundles_(); },
                          *token_keys_,
                          external_,
                          replay_,
                          limiter_,
                          [this] { return now_; }};
  const TokenEndpoint* endpoint_in_use_ = &endpoint_;
  HttpAnswer last_;
};

TEST_F(TokenEndpointTest, PrivateKeyJwtIssuesAnRfc9068Token) {
  auto o = run(clientCredentials(assertion(kReport)));
  ASSERT_EQ(code(o), "ok") << o.error->description;
  EXPECT_EQ(last_.status, 200u);
  const auto token = o.response["access_token"].get<std::string>();
  EXPECT_EQ(o.response["token_type"], "Bearer");
  EXPECT_EQ(o.response["expires_in"], 300);
  EXPECT_EQ(o.response["scope"], kBackend + "/.default");
  const auto header = headerOf(token);
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["kid"], token_keys_->activeKid());
  const auto claims = payloadOf(token);
  EXPECT_EQ(claims["iss"], kIssuer);
  EXPECT_EQ(claims["sub"], kReport);
  EXPECT_EQ(claims["aud"], kBackend);
  EXPECT_EQ(claims["client_id"], kReport);
  EXPECT_EQ(claims["roles"], nlohmann::json({"Budget.Read"}));
  EXPECT_EQ(claims["iat"], now_);
  EXPECT_EQ(claims["exp"], now_ + 300);
  EXPECT_TRUE(claims["jti"].is_string());
  EXPECT_FALSE(claims.contains("cnf")) << "not bound without mTLS";
  bool no_store = false;
  for (const auto& [k, v] : last_.headers) no_store = no_store || (k == "Cache-Control" && v == "no-store");
  EXPECT_TRUE(no_store);
}

TEST_F(TokenEndpointTest, ApprovalGetsReadAndSubmitAndItsClientId) {
  auto o = run(clientCredentials(assertion(kApproval), "&client_id=budget-approval&resource=" +
                                                           encode(kBackend)));
  ASSERT_EQ(code(o), "ok") << o.error->description;
  const auto claims = payloadOf(o.response["access_token"]);
  EXPECT_EQ(claims["roles"], nlohmann::json({"Budget.Read", "Budget.Submit"}));
  EXPECT_EQ(claims["client_id"], "budget-approval");
  EXPECT_EQ(claims["sub"], kApproval);
}

TEST_F(TokenEndpointTest, ReplayedJtiIsInvalidClient) {
  const auto a = assertion(kReport);
  EXPECT_EQ(code(run(clientCredentials(a))), "ok");
  auto again = run(clientCredentials(a));
  EXPECT_EQ(code(again), "invalid_client");
  EXPECT_EQ(last_.status, 401u);
  EXPECT_NE(again.error->description.find("jti"), std::string::npos);
}

TEST_F(TokenEndpointTest, ClientAuthenticationFailuresAre401InvalidClient) {
  struct Case {
    std::string what, body;
  } cases[] = {
      {"missing jti", clientCredentials(assertion(kReport, {{"jti", nullptr}}))},
      {"aud another server", clientCredentials(assertion(kReport, {{"aud", "https://other"}}))},
      {"aud array", clientCredentials(assertion(kReport, {{"aud", {kIssuer, "https://other"}}}))},
      {"expired", clientCredentials(assertion(kReport, {{"exp", now_ - 600}}))},
      {"iss != sub", clientCredentials(assertion(kReport, {{"iss", kApproval}}))},
      {"alg none", clientCredentials(testing::unsecuredJws({{"sub", kReport}}))},
      {"unregistered SPIFFE ID", clientCredentials(assertion("spiffe://example.org/rogue"))},
      {"client_id of another agent",
       clientCredentials(assertion(kReport), "&client_id=budget-approval")},
      {"unknown client_id", clientCredentials(assertion(kReport), "&client_id=nobody")},
      {"no authentication", form({{"grant_type", "client_credentials"}, {"scope", kBackend + "/.default"}})},
      {"client_id without certificate",
       form({{"grant_type", "client_credentials"}, {"client_id", kReport}, {"scope", kBackend + "/.default"}})},
      {"garbage assertion", clientCredentials("a.b.c")},
  };
  for (const auto& c : cases) {
    auto o = run(c.body);
    EXPECT_EQ(code(o), "invalid_client") << c.what;
    EXPECT_EQ(last_.status, 401u) << c.what;
    limiter_.clear();  // these cases are not about limiting
  }
}

TEST_F(TokenEndpointTest, HttpBasicIsRefusedWithWwwAuthenticate) {
  auto o = run(form({{"grant_type", "client_credentials"}}), {}, "application/x-www-form-urlencoded",
               "Basic YTpi");
  EXPECT_EQ(code(o), "invalid_client");
  EXPECT_EQ(last_.status, 401u);
  bool www = false;
  for (const auto& [k, v] : last_.headers) www = www || (k == "WWW-Authenticate" && v.starts_with("Basic realm="));
  EXPECT_TRUE(www);
}

TEST_F(TokenEndpointTest, TlsClientAuthBindsTheToken) {
  ClientCertificate cert;
  cert.presented = true;
  identity::VerifiedPeer peer;
  peer.id = identity::SpiffeId::parse(kApproval).value();
  peer.cert_sha256.fill(0xab);
  cert.svid = peer;
  auto o = run(form({{"grant_type", "client_credentials"}, {"client_id", "budget-approval"},
                     {"scope", kBackend + "/.default"}}),
               cert);
  ASSERT_EQ(code(o), "ok") << o.error->description;
  const auto claims = payloadOf(o.response["access_token"]);
  EXPECT_EQ(claims["cnf"]["x5t#S256"],
            jose::base64UrlEncode(std::string(32, static_cast<char>(0xab))));
  EXPECT_TRUE(o.issued.bound);
  EXPECT_EQ(o.issued.auth_method, "tls_client_auth");

  // The certificate of another agent, or an unverified one, authenticates nobody.
  auto other = run(form({{"grant_type", "client_credentials"}, {"client_id", kReport},
                         {"scope", kBackend + "/.default"}}),
                   cert);
  EXPECT_EQ(code(other), "invalid_client");
  ClientCertificate bad;
  bad.presented = true;
  bad.error = "untrusted_certificate: unknown CA";
  auto untrusted = run(form({{"grant_type", "client_credentials"}, {"client_id", "budget-approval"},
                             {"scope", kBackend + "/.default"}}),
                       bad);
  EXPECT_EQ(code(untrusted), "invalid_client");
  EXPECT_NE(untrusted.error->description.find("unknown CA"), std::string::npos);
}

TEST_F(TokenEndpointTest, TargetErrors) {
  const auto body = [&](const std::string& extra) {
    return form({{"grant_type", "client_credentials"}, {"client_assertion_type", kAssertionType},
                 {"client_assertion", assertion(kReport)}}) + extra;
  };
  EXPECT_EQ(code(run(body(""))), "invalid_target") << "no audience named";
  EXPECT_EQ(code(run(body("&resource=api%3A%2F%2Fnowhere"))), "invalid_target");
  EXPECT_EQ(code(run(body("&scope=api%3A%2F%2Fnowhere%2F.default"))), "invalid_target");
  EXPECT_EQ(code(run(body("&resource=" + encode(kBackend) + "&resource=api%3A%2F%2Fledger"))),
            "invalid_target")
      << "one audience per token";
  EXPECT_EQ(code(run(body("&resource=api%3A%2F%2Fledger"))), "invalid_target")
      << "budget-report has no assignment for the ledger";
  EXPECT_EQ(code(run(body("&scope=openid"))), "invalid_scope");
  EXPECT_EQ(code(run(body("&scope=" + encode(kBackend + "/Budget.Read")))), "invalid_scope");
  EXPECT_EQ(code(run(body("&resource=" + encode(kBackend) + "&scope=" + encode(kBackend + "/.default")))),
            "ok")
      << "resource and scope naming the same audience agree";
  EXPECT_EQ(last_.status, 200u);
}

TEST_F(TokenEndpointTest, GovernanceDeniesDisabledAndRiskyAgents) {
  auto config = seed();
  config.agents[0].state = AgentState::kDisabled;
  setPolicy(config);
  auto disabled = run(clientCredentials(assertion(kReport)));
  EXPECT_EQ(code(disabled), "access_denied");
  EXPECT_EQ(last_.status, 403u);
  EXPECT_NE(disabled.error->description.find("agent_disabled: agent budget-report is disabled"),
            std::string::npos);

  config = seed();
  config.agents[1].risk = RiskLevel::kHigh;
  setPolicy(config);
  auto risky = run(clientCredentials(assertion(kApproval)));
  EXPECT_EQ(code(risky), "access_denied");
  EXPECT_NE(risky.error->description.find("risk_too_high"), std::string::npos);
  // The ledger allows risk none only; budget-approval is low.
  setPolicy(seed());
  auto ledger = run(form({{"grant_type", "client_credentials"}, {"client_assertion_type", kAssertionType},
                          {"client_assertion", assertion(kApproval)}, {"resource", "api://ledger"}}));
  EXPECT_EQ(code(ledger), "access_denied");
}

TEST_F(TokenEndpointTest, UnauthorizedClientAndUnsupportedGrant) {
  auto config = seed();
  config.agents[0].grant_types = {GrantType::kTokenExchange};
  setPolicy(config);
  EXPECT_EQ(code(run(clientCredentials(assertion(kReport)))), "unauthorized_client");
  EXPECT_EQ(code(run("grant_type=password&username=a&password=b")), "unsupported_grant_type");
  EXPECT_EQ(code(run("grant_type=client_credentials", {}, "application/json")), "invalid_request");
  EXPECT_EQ(code(run("grant_type=client_credentials&grant_type=client_credentials")),
            "invalid_request");
}

TEST_F(TokenEndpointTest, FailedAuthenticationIsRateLimited) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(code(run(clientCredentials("a.b.c"))), "invalid_client");
  auto limited = run(clientCredentials(assertion(kReport)));
  EXPECT_EQ(code(limited), "slow_down") << "an empty bucket refuses good credentials too";
  EXPECT_EQ(last_.status, 429u);
  bool retry_after = false;
  for (const auto& [k, v] : last_.headers) retry_after = retry_after || k == "Retry-After";
  EXPECT_TRUE(retry_after);
}

TEST_F(TokenEndpointTest, FederatedClientAssertionFollowsTheFicContract) {
  external_.storeKeys(gh_.keySet(), ExternalKeyCache::Clock::now());
  const auto fic = [&](const std::string& token) {
    return form({{"grant_type", "client_credentials"}, {"client_id", "budget-approval"},
                 {"client_assertion_type", kAssertionType}, {"client_assertion", token},
                 {"scope", kBackend + "/.default"}});
  };
  auto ok = run(fic(gh_.mint(gh_.claims(now_))));
  ASSERT_EQ(code(ok), "ok") << ok.error->description;
  EXPECT_EQ(payloadOf(ok.response["access_token"])["sub"], kApproval);
  EXPECT_EQ(ok.issued.auth_method, "federated_credential");

  struct Case {
    std::string what;
    nlohmann::json claims;
  } cases[] = {
      {"another branch", gh_.claims(now_, "repo:octo/app:ref:refs/heads/dev")},
      {"another case", gh_.claims(now_, "repo:octo/app:environment:Prod")},
      {"another audience", gh_.claims(now_, "repo:octo/app:environment:prod", "https://github.com/octo")},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(code(run(fic(gh_.mint(c.claims)))), "invalid_client") << c.what;
  }
  auto slash = gh_.claims(now_);
  slash["iss"] = gh_.issuer + "/";
  EXPECT_EQ(code(run(fic(gh_.mint(slash)))), "invalid_client");
  auto expired = gh_.claims(now_);
  expired["exp"] = now_ - 600;
  EXPECT_EQ(code(run(fic(gh_.mint(expired)))), "invalid_client");
  limiter_.clear();  // six refusals so far; this test is not about limiting
  auto unknown = run(fic(gh_.mint(gh_.claims(now_), "other-kid")));
  EXPECT_EQ(code(unknown), "invalid_client");
  EXPECT_NE(unknown.error->description.find("not in the JWKS"), std::string::npos);
}

TEST_F(TokenEndpointTest, ExternalIssuerWithoutKeysExplainsWhy) {
  external_.storeFailure(gh_.issuer, "discovery document names issuer \"https://evil\"");
  auto o = run(form({{"grant_type", kExchange}, {"subject_token", gh_.mint(gh_.claims(now_))},
                     {"subject_token_type", kJwtType}, {"audience", kBackend}}));
  EXPECT_EQ(code(o), "invalid_request");
  EXPECT_NE(o.error->description.find("discovery document names issuer"), std::string::npos);
}

TEST_F(TokenEndpointTest, TokenExchangeOfAnExternalToken) {
  external_.storeKeys(gh_.keySet(), ExternalKeyCache::Clock::now());
  const auto exchange = [&](const std::string& subject, const std::string& extra = "") {
    return form({{"grant_type", kExchange}, {"subject_token", subject},
                 {"subject_token_type", kJwtType}}) + extra;
  };
  auto ok = run(exchange(gh_.mint(gh_.claims(now_)), "&audience=" + encode(kBackend)));
  ASSERT_EQ(code(ok), "ok") << ok.error->description;
  EXPECT_EQ(ok.response["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(ok.response["token_type"], "Bearer");
  EXPECT_EQ(ok.response["expires_in"], 300);
  EXPECT_FALSE(payloadOf(ok.response["access_token"]).contains("act"));

  EXPECT_EQ(code(run(exchange(gh_.mint(gh_.claims(now_, "repo:octo/app:ref:refs/heads/x")),
                              "&audience=" + encode(kBackend)))),
            "invalid_request");
  EXPECT_EQ(last_.status, 400u);
  EXPECT_EQ(code(run(exchange("not-a-jwt", "&audience=" + encode(kBackend)))), "invalid_request");
  EXPECT_EQ(code(run(exchange(gh_.mint(gh_.claims(now_)), "&audience=api%3A%2F%2Fnowhere"))),
            "invalid_target");
  EXPECT_EQ(code(run(exchange(gh_.mint(gh_.claims(now_)),
                              "&audience=" + encode(kBackend) + "&client_assertion_type=" +
                                  encode(kAssertionType) + "&client_assertion=" +
                                  encode(assertion(kReport))))),
            "invalid_request")
      << "no client authentication on token exchange";
}

TEST_F(TokenEndpointTest, TokenExchangeWithAnActorRecordsActAndIntersectsRoles) {
  const auto body = form({{"grant_type", kExchange}, {"subject_token", svid(kApproval)},
                          {"subject_token_type", kJwtType}, {"actor_token", svid(kReport)},
                          {"actor_token_type", kJwtType}, {"resource", kBackend}});
  auto o = run(body);
  ASSERT_EQ(code(o), "ok") << o.error->description;
  const auto claims = payloadOf(o.response["access_token"]);
  EXPECT_EQ(claims["sub"], kApproval);
  EXPECT_EQ(claims["act"]["sub"], kReport);
  EXPECT_EQ(claims["client_id"], kReport);
  EXPECT_EQ(claims["roles"], nlohmann::json({"Budget.Read"})) << "report cannot submit";

  const auto bad_actor = form({{"grant_type", kExchange}, {"subject_token", svid(kApproval)},
                               {"subject_token_type", kJwtType},
                               {"actor_token", svid("spiffe://example.org/rogue")},
                               {"actor_token_type", kJwtType}, {"resource", kBackend}});
  EXPECT_EQ(code(run(bad_actor)), "invalid_request");
  auto config = seed();
  config.agents[0].state = AgentState::kQuarantined;
  setPolicy(config);
  auto quarantined_actor = run(body);
  EXPECT_EQ(code(quarantined_actor), "access_denied");
}

// `warden server` with `jwt_issuer`: every JWT-SVID its issuer mints carries
// iss = jwt_issuer and sub = the SPIFFE ID. RFC 7523 §3 wants iss = sub for a client that
// signs its own assertion; a JWT-SVID's signer is its trust domain's authority, so its
// issuer URL is accepted in `iss`, with the same keys as a JWT-SVID without `iss`.
TEST_F(TokenEndpointTest, JwtSvidsOfTheEmbeddedIssuerWithJwtIssuerAuthenticate) {
  const TokenEndpoint own = endpointWith(options(kJwtIssuer));
  endpoint_in_use_ = &own;
  auto o = run(clientCredentials(assertion(kReport, {{"iss", kJwtIssuer}})));
  ASSERT_EQ(code(o), "ok") << o.error->description;
  EXPECT_EQ(o.issued.auth_method, "private_key_jwt") << "a JWT-SVID, not a federated credential";
  EXPECT_EQ(payloadOf(o.response["access_token"])["sub"], kReport);
  // Without iss, and with iss = sub, as before.
  const auto no_iss = svid_keys_->sign({}, {{"sub", kReport}, {"aud", kIssuer}, {"iat", now_},
                                            {"exp", now_ + 60}, {"jti", "no-iss"}}).value();
  EXPECT_EQ(code(run(clientCredentials(no_iss))), "ok");
  EXPECT_EQ(code(run(clientCredentials(assertion(kReport)))), "ok");

  // Subject and actor tokens (RFC 8693) of the same issuer.
  const auto svid_of = [&](const std::string& id) {
    return svid_keys_
        ->sign({}, {{"iss", kJwtIssuer}, {"sub", id}, {"aud", kIssuer}, {"exp", now_ + 300}})
        .value();
  };
  auto exchanged = run(form({{"grant_type", kExchange}, {"subject_token", svid_of(kApproval)},
                             {"subject_token_type", kJwtType}, {"actor_token", svid_of(kReport)},
                             {"actor_token_type", kJwtType}, {"resource", kBackend}}));
  ASSERT_EQ(code(exchanged), "ok") << exchanged.error->description;
  EXPECT_EQ(exchanged.issued.auth_method, "jwt_svid");
  EXPECT_EQ(payloadOf(exchanged.response["access_token"])["act"]["sub"], kReport);
}

// Fail closed: the same keys under any other `iss` are no JWT-SVID of ours. Such a token is
// an external issuer's, and no external issuer of that name is configured: 401
// invalid_client (RFC 7523 §3.1, RFC 6749 §5.2); as a subject token, 400 invalid_request
// (RFC 8693 §2.2.2). Nor may a federated trust domain's JWT-SVID claim our issuer.
TEST_F(TokenEndpointTest, AnyOtherIssOnAJwtSvidIsRefused) {
  const TokenEndpoint own = endpointWith(options(kJwtIssuer));
  endpoint_in_use_ = &own;
  const std::vector<std::string> others = {
      kJwtIssuer + "/",         kJwtIssuer + "/other",      "https://oidc.example.org:443",
      "https://OIDC.example.org", "https://attacker.example", kApproval};
  for (const std::string& iss : others) {
    auto o = run(clientCredentials(assertion(kReport, {{"iss", iss}})));
    EXPECT_EQ(code(o), "invalid_client") << iss;
    EXPECT_EQ(last_.status, 401u) << iss;
    limiter_.clear();
  }
  auto o = run(clientCredentials(assertion(kReport, {{"iss", "https://attacker.example"}})));
  EXPECT_NE(o.error->description.find("not a trusted external issuer"), std::string::npos)
      << o.error->description;
  limiter_.clear();
  const auto subject = svid_keys_->sign({}, {{"iss", kJwtIssuer + "/other"}, {"sub", kApproval},
                                             {"aud", kIssuer}, {"exp", now_ + 300}}).value();
  EXPECT_EQ(code(run(form({{"grant_type", kExchange}, {"subject_token", subject},
                           {"subject_token_type", kJwtType}, {"resource", kBackend}}))),
            "invalid_request");
  limiter_.clear();

  // A federated trust domain (other.org, its own JWT authority, in the bundles) whose
  // JWT-SVID names our jwt_issuer.
  auto federated = testing::memoryAuthority("other.org");
  bundles_ = [&] {
    auto b = testing::bundlesOf(*svid_keys_);
    b.merge(testing::bundlesOf(*federated, "other.org"));
    return b;
  };
  auto config = seed();
  config.agents[0].spiffe_id = "spiffe://other.org/budget-report";
  setPolicy(config);
  const auto foreign = [&](const nlohmann::json& iss) {
    return federated->sign({}, {{"iss", iss}, {"sub", "spiffe://other.org/budget-report"},
                                {"aud", kIssuer}, {"iat", now_}, {"exp", now_ + 60},
                                {"jti", "f-" + std::to_string(++counter_)}}).value();
  };
  EXPECT_EQ(code(run(clientCredentials(foreign("spiffe://other.org/budget-report")))), "ok")
      << "the federated agent itself authenticates";
  auto claimed = run(clientCredentials(foreign(kJwtIssuer)));
  EXPECT_EQ(code(claimed), "invalid_client");
  EXPECT_NE(claimed.error->description.find("JWT-SVID issuer of trust domain example.org"),
            std::string::npos)
      << claimed.error->description;
}

// Without jwt_issuer nothing changes: a JWT-SVID naming an issuer URL is an external token.
TEST_F(TokenEndpointTest, WithoutJwtIssuerAnIssuerUrlIsAnExternalToken) {
  auto o = run(clientCredentials(assertion(kReport, {{"iss", kJwtIssuer}})));
  EXPECT_EQ(code(o), "invalid_client");
  EXPECT_NE(o.error->description.find("not a trusted external issuer"), std::string::npos)
      << o.error->description;
}

TEST(Guards, ReplayCacheForgetsOnlyAfterExpiryAndFailsClosedWhenFull) {
  ReplayCache cache(2);
  EXPECT_EQ(cache.insert("a", 100, 50), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.insert("a", 100, 99), ReplayCache::Outcome::kReplayed);
  EXPECT_EQ(cache.insert("b", 200, 60), ReplayCache::Outcome::kFresh);
  EXPECT_EQ(cache.insert("c", 200, 60), ReplayCache::Outcome::kFull);
  EXPECT_EQ(cache.insert("c", 200, 150), ReplayCache::Outcome::kFresh) << "a expired and was dropped";
  EXPECT_EQ(cache.size(), 2u);
}

TEST(Guards, FailureLimiterRefills) {
  FailureLimiter limiter(2, std::chrono::seconds(10));
  const auto t0 = FailureLimiter::Clock::now();
  EXPECT_FALSE(limiter.blocked("k", t0));
  limiter.recordFailure("k", t0);
  EXPECT_FALSE(limiter.blocked("k", t0));
  limiter.recordFailure("k", t0);
  auto wait = limiter.blocked("k", t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->count(), 10);
  EXPECT_FALSE(limiter.blocked("other", t0));
  EXPECT_FALSE(limiter.blocked("k", t0 + std::chrono::seconds(10)));
}

TEST(Guards, FailureLimiterBoundsItsKeys) {
  FailureLimiter limiter(1, std::chrono::hours(1), 3);
  const auto t0 = FailureLimiter::Clock::now();
  for (int i = 0; i < 10; ++i) {
    limiter.recordFailure("k" + std::to_string(i), t0 + std::chrono::milliseconds(i));
  }
  EXPECT_FALSE(limiter.blocked("k0", t0)) << "the stalest key was dropped";
  EXPECT_TRUE(limiter.blocked("k9", t0 + std::chrono::milliseconds(9)).has_value());
}

}  // namespace
}  // namespace warden::tokenservice
