// Layer 3 in the policy file: trusted issuers per target, roles per rule (docs/policy.md).
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace warden::policy {
namespace {

const std::string kBase = R"(version: "t-1"
allow:
  - id: spiffe://example.org/budget-report
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
        roles: [Budget.Read]
      - id: rest
        methods: ["*"]
        path: { prefix: / }
        action: deny
)";

const std::string kToken = R"(token:
  issuers:
    - issuer: https://127.0.0.1:8444
      jwks_url: https://127.0.0.1:8444/jwks
      audiences: [api://budget-backend]
      algorithms: [ES256, RS256]
  binding: certificate
)";

Result<std::shared_ptr<const PolicySnapshot>> load(const std::string& text) {
  auto parsed = parsePolicyYaml(text, "p.yaml");
  if (!parsed.ok()) return parsed.error();
  return compilePolicy(std::move(parsed).value());
}

TEST(TokenPolicy, ParsesIssuersAndRulesRoles) {
  auto p = load(kBase + kToken);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const auto& token = (*p)->config().token;
  ASSERT_TRUE(token.has_value());
  ASSERT_EQ(token->issuers.size(), 1u);
  EXPECT_EQ(token->issuers[0].typ, "at+jwt") << "RFC 9068 typing by default";
  EXPECT_EQ(token->binding, TokenBinding::kCertificate);
  const auto id = identity::SpiffeId::parse("spiffe://example.org/budget-report").value();
  const Decision d = (*p)->evaluate(id, Method::kGet, "/budget/read");
  ASSERT_TRUE(d.allowed);
  ASSERT_NE(d.required_roles, nullptr);
  EXPECT_EQ(*d.required_roles, std::vector<std::string>{"Budget.Read"});
}

TEST(TokenPolicy, Errors) {
  struct Case {
    const char* name;
    std::string text;
    const char* expected;
  };
  const std::string no_roles_base = kBase;
  const Case cases[] = {
      {"roles without a token section", kBase, "add a `token` section"},
      {"alg none (RFC 8725 3.1)",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a], algorithms: [none]}\n",
       "\"none\" is not allowed"},
      {"HMAC (RFC 8725 3.2)",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a], algorithms: [HS256]}\n",
       "\"HS256\" is not allowed"},
      {"two key sources",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, jwks_url: 'https://x/', audiences: [a]}\n",
       "exactly one of discovery_url, jwks_url, jwks_file"},
      {"no audience", kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: []}\n",
       "at least one audience"},
      {"plain http off loopback",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_url: 'http://idp.example/jwks', audiences: [a]}\n",
       "must be https"},
      {"unknown binding",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a]}\n  binding: maybe\n",
       "none, subject or certificate"},
      {"unknown issuer key",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a], jku: x}\n",
       "unknown key \"jku\""},
  };
  for (const auto& c : cases) {
    auto p = load(c.text);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_NE(p.error().message.find(c.expected), std::string::npos)
        << c.name << ": " << p.error().message;
  }
}

TEST(TokenPolicy, RulesMayRequireClaims) {
  std::string text = kBase + kToken;
  text.replace(text.find("roles: [Budget.Read]"), 20,
               "roles: [Budget.Read]\n        claims: { tid: tenant-1, groups: finance }");
  auto p = load(text);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const auto id = identity::SpiffeId::parse("spiffe://example.org/budget-report").value();
  const Decision d = (*p)->evaluate(id, Method::kGet, "/budget/read");
  ASSERT_NE(d.required_claims, nullptr);
  ASSERT_EQ(d.required_claims->size(), 2u);
  EXPECT_EQ((*d.required_claims)[0], (std::pair<std::string, std::string>{"tid", "tenant-1"}));
  // Without a token section, claims are a configuration error like roles.
  std::string no_token = kBase;
  no_token.replace(no_token.find("        roles: [Budget.Read]\n"), 29, "        claims: { tid: t }\n");
  auto bad = load(no_token);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("claims are checked on the caller's token"), std::string::npos)
      << bad.error().message;
}

TEST(TokenPolicy, DenyRulesCannotRequireRoles) {
  std::string text = kBase + kToken;
  text.replace(text.find("action: deny"), 12, "action: deny\n        roles: [X]");
  auto p = load(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("only allow rules"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace warden::policy
