// The `token_service:` section: strict parsing with file:line: field-path errors, and
// whole-policy validation (cross references, uniqueness, federated-credential rules).
#include "tokenservice/config.h"

#include <gtest/gtest.h>

#include "common/https_url.h"

namespace warden::tokenservice {
namespace {

constexpr const char* kGood = R"(trust_domain: example.org
state_dir: state
token_service:
  listen: 127.0.0.1:8443
  issuer: https://127.0.0.1:8443
  tls:
    svid: token-service
  token_ttl: 5m
  key_ttl: 12h
  max_risk: low
  failed_auth_limit:
    burst: 5
    refill_every: 10s
  audiences:
    - api://budget-backend
    - id: api://ledger
      token_ttl: 1m
      max_risk: none
  external_issuers:
    - issuer: https://token.actions.githubusercontent.com
      ca_file: gh-ca.pem
      algorithms: [RS256]
  agents:
    - name: budget-report
      spiffe_id: spiffe://example.org/budget-report
      roles:
        api://budget-backend: [Budget.Read]
    - name: budget-approval
      spiffe_id: spiffe://example.org/budget-approval
      client_id: budget-approval
      risk: low
      roles:
        api://budget-backend: [Budget.Submit, Budget.Read]
    - name: deployer
      client_id: 11111111-2222-3333-4444-555555555555
      state: disabled
      grant_types: [token_exchange]
      roles:
        api://ledger: []
      federated_credentials:
        - name: gha-prod
          issuer: https://token.actions.githubusercontent.com
          subject: repo:octo/app:environment:prod
        - name: gha-any-env
          issuer: https://token.actions.githubusercontent.com
          subject_pattern: repo:octo/app:environment:*
          audience: api://warden
)";

TEST(TokenServiceConfig, ParsesAFullSection) {
  auto parsed = parseTokenServiceConfig(kGood, "/etc/warden/server.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->has_value());
  const TokenServiceConfig& c = **parsed;
  EXPECT_EQ(c.listen_port, 8443);
  EXPECT_EQ(c.tls_svid_entry, "token-service");
  EXPECT_EQ(c.key_ttl, std::chrono::hours(12));
  EXPECT_EQ(c.failed_auth.burst, 5u);
  EXPECT_EQ(c.failed_auth.refill_every, std::chrono::seconds(10));
  EXPECT_EQ(c.policy.max_risk, RiskLevel::kLow);
  ASSERT_EQ(c.policy.audiences.size(), 2u);
  EXPECT_EQ(c.policy.audiences[1].token_ttl, std::chrono::minutes(1));
  EXPECT_EQ(c.policy.audiences[1].max_risk, RiskLevel::kNone);
  EXPECT_EQ(c.policy.external_issuers[0].ca_file, "/etc/warden/gh-ca.pem");
  ASSERT_EQ(c.policy.agents.size(), 3u);
  EXPECT_EQ(c.policy.agents[1].roles.at("api://budget-backend"),
            (std::vector<std::string>{"Budget.Read", "Budget.Submit"}));
  EXPECT_EQ(c.policy.agents[2].state, AgentState::kDisabled);
  EXPECT_EQ(c.policy.agents[2].grant_types, std::vector<GrantType>{GrantType::kTokenExchange});
  EXPECT_EQ(c.policy.agents[2].federated_credentials[0].audience, "api://AzureADTokenExchange");
  EXPECT_EQ(c.policy.agents[2].federated_credentials[1].subject_pattern,
            "repo:octo/app:environment:*");
}

TEST(TokenServiceConfig, AbsentSectionIsNotAnError) {
  auto parsed = parseTokenServiceConfig("trust_domain: example.org\n", "s.yaml");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
}

std::string errorFor(const std::string& from, const std::string& to) {
  std::string text = kGood;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  auto parsed = parseTokenServiceConfig(text, "s.yaml");
  return parsed.ok() ? "ok" : parsed.error().message;
}

TEST(TokenServiceConfig, ErrorsNameTheFieldPath) {
  struct Case {
    std::string from, to, expect;
  } cases[] = {
      {"  token_ttl: 5m", "  token_tll: 5m", "token_service.token_tll: unknown key"},
      {"  token_ttl: 5m", "  token_ttl: 300", "token_service.token_ttl"},
      {"  max_risk: low", "  max_risk: severe", "token_service.max_risk: expected none, low"},
      {"  issuer: https://127.0.0.1:8443", "  issuer: http://127.0.0.1:8443",
       "token_service.issuer: must use https"},
      {"  issuer: https://127.0.0.1:8443", "  issuer: https://127.0.0.1:8443/",
       "token_service.issuer: must not end with '/'"},
      {"  issuer: https://127.0.0.1:8443", "  issuer: https://127.0.0.1:8443/?x=1",
       "token_service.issuer"},
      // Boost.URL parses these; the port must still name 1..65535 (RFC 3986 §3.2.3).
      {"  issuer: https://127.0.0.1:8443", "  issuer: https://127.0.0.1:99999",
       "token_service.issuer: has an invalid port"},
      {"  issuer: https://127.0.0.1:8443", "  issuer: https://127.0.0.1:0",
       "token_service.issuer: has an invalid port"},
      {"    svid: token-service", "    cert: a.pem", "token_service.tls: cert and key go together"},
      {"    svid: token-service", "    svid: x\n    cert: a.pem\n    key: a.key",
       "token_service.tls: give either svid"},
      {"    - api://budget-backend\n", "    - api://budget-backend\n    - api://budget-backend\n",
       "token_service.audiences[1].id: duplicate audience"},
      {"    - api://budget-backend\n", "    - budget backend\n",
       "token_service.audiences[0].id: must be an absolute URI"},
      {"      roles:\n        api://budget-backend: [Budget.Read]\n",
       "      roles:\n        api://nowhere: [Budget.Read]\n",
       "token_service.agents[0].roles.api://nowhere: is not a configured audience"},
      {"      spiffe_id: spiffe://example.org/budget-report",
       "      spiffe_id: spiffe://example.org/budget-approval",
       "token_service.agents[1].spiffe_id: spiffe://example.org/budget-approval already"},
      {"      client_id: budget-approval", "      client_id: spiffe://example.org/budget-report",
       "token_service.agents[1].client_id: spiffe://example.org/budget-report already"},
      {"      spiffe_id: spiffe://example.org/budget-report",
       "      spiffe_id: spiffe://Example.org/budget-report", "token_service.agents[0].spiffe_id"},
      {"      state: disabled", "      state: off", "token_service.agents[2].state"},
      {"      grant_types: [token_exchange]", "      grant_types: [password]",
       "token_service.agents[2].grant_types[0]"},
      {"          subject: repo:octo/app:environment:prod\n", "",
       "token_service.agents[2].federated_credentials[0]: exactly one of subject and "
       "subject_pattern"},
      {"          subject: repo:octo/app:environment:prod\n",
       "          subject: repo:octo/app:environment:prod\n          subject_pattern: repo:*:x\n",
       "exactly one of subject and subject_pattern"},
      {"subject_pattern: repo:octo/app:environment:*", "subject_pattern: repo:octo/*",
       "token_service.agents[2].federated_credentials[1].subject_pattern: '*' must be a whole"},
      {"subject_pattern: repo:octo/app:environment:*", "subject_pattern: repo:*:environment:*",
       "one '*' only"},
      {"          issuer: https://token.actions.githubusercontent.com\n          subject:",
       "          issuer: https://gitlab.example\n          subject:",
       "token_service.agents[2].federated_credentials[0].issuer: https://gitlab.example is not in"},
      {"- name: gha-any-env", "- name: gha-prod",
       "token_service.agents[2].federated_credentials[1].name: duplicate name"},
      {"      algorithms: [RS256]", "      algorithms: [HS256]",
       "token_service.external_issuers[0].algorithms[0]"},
      {"      algorithms: [RS256]", "      algorithms: [none]",
       "token_service.external_issuers[0].algorithms[0]"},
      {"    - issuer: https://token.actions.githubusercontent.com\n      ca_file",
       "    - issuer: http://token.actions.githubusercontent.com\n      ca_file",
       "token_service.external_issuers[0].issuer: must use https"},
      {"    burst: 5", "    burst: 0", "token_service.failed_auth_limit.burst"},
  };
  for (const auto& c : cases) {
    const auto message = errorFor(c.from, c.to);
    EXPECT_NE(message.find(c.expect), std::string::npos)
        << "replacing \"" << c.from << "\": got: " << message;
    EXPECT_EQ(message.rfind("s.yaml:", 0), 0u) << message;
  }
}

TEST(TokenServiceConfig, AgentWithoutSpiffeIdNeedsFederatedCredentials) {
  TokenPolicyConfig p;
  AgentConfig a;
  a.name = "x";
  a.client_id = "x";
  p.agents.push_back(a);
  const auto st = validateTokenPolicy(p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("token_service.agents[0]"), std::string::npos) << st.message();
}

// With `jwt_issuer` set, JWT-SVIDs carrying it are verified as JWT-SVIDs (the trust
// domain's keys, agents by spiffe_id); an external issuer of the same URL would be dead
// configuration and is refused, naming the entry. Other URLs, and no jwt_issuer, are fine.
TEST(TokenServiceConfig, TheEmbeddedIssuersJwtIssuerIsNoExternalIssuer) {
  auto parsed = parseTokenServiceConfig(kGood, "s.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const auto& policy = (*parsed)->policy;
  EXPECT_TRUE(validateAgainstJwtIssuer(policy, "").ok());
  EXPECT_TRUE(validateAgainstJwtIssuer(policy, "https://oidc.example.org").ok());
  EXPECT_TRUE(validateAgainstJwtIssuer(policy, "https://token.actions.githubusercontent.com/").ok())
      << "compared exactly";
  const auto st = validateAgainstJwtIssuer(policy, "https://token.actions.githubusercontent.com");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("token_service.external_issuers[0].issuer: "
                               "https://token.actions.githubusercontent.com is this server's "
                               "jwt_issuer",
                               0),
            0u)
      << st.message();
}

TEST(TokenServiceConfig, IssuerIdentifiers) {
  EXPECT_TRUE(validateIssuerUrl("https://auth.example.com").ok());
  EXPECT_TRUE(validateIssuerUrl("https://auth.example.com/tenant/1").ok());
  EXPECT_FALSE(validateIssuerUrl("https://auth.example.com/").ok());
  EXPECT_FALSE(validateIssuerUrl("https://u@auth.example.com").ok());
  EXPECT_FALSE(validateIssuerUrl("https://auth.example.com#x").ok());
  EXPECT_FALSE(validateIssuerUrl("auth.example.com").ok());
}

}  // namespace
}  // namespace warden::tokenservice
