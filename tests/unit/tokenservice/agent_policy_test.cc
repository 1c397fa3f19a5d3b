// The compiled token policy: subject patterns, federated-credential matching (Entra FIC
// semantics: exact, case-sensitive), governance and roles.
#include "tokenservice/agent_policy.h"

#include <gtest/gtest.h>

namespace warden::tokenservice {
namespace {

const std::string kGitHub = "https://token.actions.githubusercontent.com";
const std::string kFicAudience = "api://AzureADTokenExchange";

TEST(SubjectPattern, MatchesOneWholeSegment) {
  struct Case {
    std::string pattern, subject;
    bool match;
  } cases[] = {
      {"repo:octo/app:environment:prod", "repo:octo/app:environment:prod", true},
      {"repo:octo/app:environment:prod", "repo:octo/app:environment:Prod", false},
      {"repo:octo/app:environment:prod", "repo:Octo/app:environment:prod", false},
      {"repo:octo/app:environment:prod", "repo:octo/app:environment:prod ", false},
      {"repo:octo/app:environment:*", "repo:octo/app:environment:prod", true},
      {"repo:octo/app:environment:*", "repo:octo/app:environment:staging", true},
      {"repo:octo/app:environment:*", "repo:octo/app:environment:", false},
      {"repo:octo/app:environment:*", "repo:octo/app:environment:prod:x", false},
      {"repo:octo/app:environment:*", "repo:octo/app:ref:refs/heads/main", false},
      {"repo:octo/app:environment:*", "repo:octo/app2:environment:prod", false},
      {"repo:*:environment:prod", "repo:octo/app:environment:prod", true},
      {"repo:*:environment:prod", "repo:a:b:environment:prod", false},
      {"*:octo/app:pull_request", "repo:octo/app:pull_request", true},
  };
  for (const auto& c : cases) {
    auto p = SubjectPattern::parse(c.pattern);
    ASSERT_TRUE(p.ok()) << c.pattern << ": " << p.error().message;
    EXPECT_EQ(p->matches(c.subject), c.match) << c.pattern << " vs " << c.subject;
  }
}

TEST(SubjectPattern, RefusesGlobsThatAreNotOneWholeSegment) {
  for (const char* bad : {"", "*", "repo:octo/*", "repo:*:environment:*", "repo:oc*:x",
                          "repo::x", "repo:x:", ":repo"}) {
    EXPECT_FALSE(SubjectPattern::parse(bad).ok()) << bad;
  }
}

TokenPolicyConfig seedPolicy() {
  TokenPolicyConfig p;
  p.audiences = {{"api://budget-backend", std::nullopt, std::nullopt},
                 {"api://ledger", std::chrono::seconds(60), RiskLevel::kNone}};
  p.external_issuers = {{kGitHub, "", {jose::Alg::kRS256}}};
  AgentConfig report;
  report.name = "budget-report";
  report.spiffe_id = "spiffe://example.org/budget-report";
  report.roles["api://budget-backend"] = {"Budget.Read"};
  AgentConfig approval;
  approval.name = "budget-approval";
  approval.spiffe_id = "spiffe://example.org/budget-approval";
  approval.client_id = "budget-approval";
  approval.risk = RiskLevel::kLow;
  approval.roles["api://budget-backend"] = {"Budget.Read", "Budget.Submit"};
  approval.roles["api://ledger"] = {};
  approval.federated_credentials = {
      {"gha-prod", kGitHub, "repo:octo/app:environment:prod", "", kFicAudience}};
  AgentConfig ci;
  ci.name = "ci";
  ci.client_id = "ci-app";
  ci.federated_credentials = {{"any-env", kGitHub, "", "repo:octo/ci:environment:*", kFicAudience}};
  p.agents = {report, approval, ci};
  return p;
}

TEST(TokenPolicy, LooksAgentsUpByClientIdAndSpiffeId) {
  auto policy = TokenPolicy::compile(seedPolicy()).value();
  EXPECT_EQ(policy->agentByClientId("budget-approval")->config.name, "budget-approval");
  EXPECT_EQ(policy->agentByClientId("spiffe://example.org/budget-approval")->config.name,
            "budget-approval");
  EXPECT_EQ(policy->agentByClientId("spiffe://example.org/budget-report")->clientId(),
            "spiffe://example.org/budget-report");
  EXPECT_EQ(policy->agentBySpiffeId("budget-approval"), nullptr);
  EXPECT_EQ(policy->agentByClientId("ci-app")->subject(), "ci-app");
  EXPECT_EQ(policy->agentByClientId("nobody"), nullptr);
}

TEST(TokenPolicy, FederatedMatchIsExactOnIssuerSubjectAndAudience) {
  auto policy = TokenPolicy::compile(seedPolicy()).value();
  const std::vector<std::string> aud{kFicAudience};
  auto ok = policy->matchFederated(kGitHub, "repo:octo/app:environment:prod", aud, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->agent->config.name, "budget-approval");
  EXPECT_EQ(ok->credential->config.name, "gha-prod");
  auto pattern = policy->matchFederated(kGitHub, "repo:octo/ci:environment:dev", aud, nullptr);
  ASSERT_TRUE(pattern.ok());
  EXPECT_EQ(pattern->agent->config.name, "ci");

  EXPECT_FALSE(policy->matchFederated(kGitHub, "repo:octo/app:ref:refs/heads/dev", aud, nullptr).ok());
  EXPECT_FALSE(policy->matchFederated(kGitHub, "repo:octo/app:environment:Prod", aud, nullptr).ok());
  EXPECT_FALSE(policy->matchFederated(kGitHub + "/", "repo:octo/app:environment:prod", aud, nullptr).ok());
  EXPECT_FALSE(policy->matchFederated(kGitHub, "repo:octo/app:environment:prod",
                                      {"https://github.com/octo"}, nullptr).ok());
  // Restricted to one agent: another agent's rule does not count.
  const Agent* ci = policy->agentByClientId("ci-app");
  EXPECT_FALSE(policy->matchFederated(kGitHub, "repo:octo/app:environment:prod", aud, ci).ok());
  // An aud array that contains the rule's audience matches.
  EXPECT_TRUE(policy->matchFederated(kGitHub, "repo:octo/app:environment:prod",
                                     {"x", kFicAudience}, nullptr).ok());
}

TEST(TokenPolicy, AmbiguousFederatedMatchNeedsAClientId) {
  auto config = seedPolicy();
  config.agents[0].federated_credentials = {
      {"same", kGitHub, "repo:octo/app:environment:prod", "", kFicAudience}};
  auto policy = TokenPolicy::compile(config).value();
  const std::vector<std::string> aud{kFicAudience};
  auto both = policy->matchFederated(kGitHub, "repo:octo/app:environment:prod", aud, nullptr);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("client_id"), std::string::npos);
  auto chosen = policy->matchFederated(kGitHub, "repo:octo/app:environment:prod", aud,
                                       policy->agentByClientId("budget-approval"));
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->agent->config.name, "budget-approval");
}

TEST(TokenPolicy, GovernanceStateAndRisk) {
  auto config = seedPolicy();
  config.agents[0].state = AgentState::kDisabled;
  config.agents[2].state = AgentState::kQuarantined;
  config.agents[2].roles["api://budget-backend"] = {};
  auto policy = TokenPolicy::compile(config).value();
  const Audience& backend = *policy->audience("api://budget-backend");
  const Audience& ledger = *policy->audience("api://ledger");
  EXPECT_EQ(policy->governance(*policy->agentByClientId("spiffe://example.org/budget-report"), backend)
                ->reason,
            "agent_disabled");
  EXPECT_EQ(policy->governance(*policy->agentByClientId("ci-app"), backend)->reason,
            "agent_quarantined");
  const Agent& approval = *policy->agentByClientId("budget-approval");
  EXPECT_FALSE(policy->governance(approval, backend).has_value()) << "low <= medium (default)";
  auto denial = policy->governance(approval, ledger);
  ASSERT_TRUE(denial.has_value()) << "ledger allows risk none only";
  EXPECT_EQ(denial->reason, "risk_too_high");
  EXPECT_NE(denial->description.find("budget-approval has risk low"), std::string::npos);
}

TEST(TokenPolicy, RolesAndTtlPerAudience) {
  auto policy = TokenPolicy::compile(seedPolicy()).value();
  const Audience& backend = *policy->audience("api://budget-backend");
  const Audience& ledger = *policy->audience("api://ledger");
  const Agent& report = *policy->agentByClientId("spiffe://example.org/budget-report");
  const Agent& approval = *policy->agentByClientId("budget-approval");
  EXPECT_EQ(*policy->roles(report, backend), std::vector<std::string>{"Budget.Read"});
  EXPECT_EQ(*policy->roles(approval, backend),
            (std::vector<std::string>{"Budget.Read", "Budget.Submit"}));
  EXPECT_EQ(policy->roles(report, ledger), nullptr);
  EXPECT_TRUE(policy->roles(approval, ledger)->empty());
  EXPECT_EQ(policy->tokenTtl(backend), std::chrono::minutes(5));
  EXPECT_EQ(policy->tokenTtl(ledger), std::chrono::seconds(60));
}

}  // namespace
}  // namespace warden::tokenservice
