// Layer 3 in the policy file: trusted issuers per target, roles per rule (docs/policy.md).
#include <gtest/gtest.h>

#include <map>
#include <string>

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

// Entra's tokens name the client by app GUID (azp/appid) and service principal object id
// (sub), never by SPIFFE ID: `client_ids` maps them for `binding: subject`.
const std::string kEntraToken = R"yaml(token:
  issuers:
    - issuer: https://login.microsoftonline.com/5b0c1a7e-3f2d-4c8a-9e61-2d4b7f80c3a1/v2.0
      jwks_file: entra.json
      audiences: [6e74172b-be56-4843-9ff4-e66a39bb12e3]
      algorithms: [RS256]
      typ: ""
  binding: subject
  binding_claim: azp
  client_ids:
    0b8f6e5c-1d2e-4a7b-9c3d-5e6f7a8b9c0d: spiffe://example.org/budget-report
    "budget report (legacy)": spiffe://example.org/budget-report
    9d3c5a1e-7b2f-4e8d-a6c4-1f0e2d3b4a59: spiffe://example.org/budget-approval
)yaml";

TEST(TokenPolicy, ClientIdsMapClientIdsToSpiffeIds) {
  auto p = load(kBase + kEntraToken);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const auto& token = (*p)->config().token;
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->binding, TokenBinding::kSubject);
  EXPECT_EQ(token->binding_claim, "azp");
  EXPECT_EQ(token->client_ids,
            (std::map<std::string, std::string>{
                {"0b8f6e5c-1d2e-4a7b-9c3d-5e6f7a8b9c0d", "spiffe://example.org/budget-report"},
                {"budget report (legacy)", "spiffe://example.org/budget-report"},
                {"9d3c5a1e-7b2f-4e8d-a6c4-1f0e2d3b4a59", "spiffe://example.org/budget-approval"}}));
  // Absent: empty, and nothing else changes.
  auto plain = load(kBase + kToken);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_TRUE((*plain)->config().token->client_ids.empty());
}

// Errors name the field path and the line of the offending entry (file:line:col: field:).
TEST(TokenPolicy, ClientIdsErrorsNameTheEntryAndItsLine) {
  // kBase is 15 lines: `token:` is line 16 and `client_ids:` line 21.
  const std::string head = kBase + R"(token:
  issuers:
    - {issuer: i, jwks_file: k.json, audiences: [a]}
  binding: subject
  binding_claim: azp
  client_ids:
)";
  struct Case {
    const char* name;
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"not a SPIFFE ID",
       head + "    app-1: spiffe://example.org/a\n    app-2: https://example.org/b\n",
       "p.yaml:23:12: token.client_ids[\"app-2\"]: "},
      {"a SPIFFE ID with a dot segment", head + "    app-1: spiffe://example.org/a/../b\n",
       "p.yaml:22:12: token.client_ids[\"app-1\"]: "},
      {"empty SPIFFE ID", head + "    app-1:\n",
       "p.yaml:22:5: token.client_ids[\"app-1\"]: must not be empty"},
      {"SPIFFE ID not a string", head + "    app-1: [spiffe://example.org/a]\n",
       "p.yaml:22:12: token.client_ids[\"app-1\"]: must be a string"},
      {"empty client id", head + "    \"\": spiffe://example.org/a\n",
       "p.yaml:22:5: token.client_ids[\"\"]: a client id must not be empty"},
      {"control character in a client id", head + "    \"app\\t1\": spiffe://example.org/a\n",
       "p.yaml:22:5: token.client_ids[\"app\t1\"]: a client id is printable ASCII"},
      {"duplicate client id",
       head + "    app-1: spiffe://example.org/a\n    app-1: spiffe://example.org/b\n",
       "p.yaml:23:5: token.client_ids[\"app-1\"]: duplicate key"},
      {"not a map", head.substr(0, head.size() - 1) + " [app-1]\n",
       "p.yaml:21:15: token.client_ids: must be a mapping of client id to SPIFFE ID"},
      {"with binding: certificate",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a]}\n"
               "  binding: certificate\n  client_ids:\n    app-1: spiffe://example.org/a\n",
       "p.yaml:20:3: token.client_ids: only used with binding: subject"},
      {"binding left at none",
       kBase + "token:\n  issuers:\n    - {issuer: i, jwks_file: k.json, audiences: [a]}\n"
               "  client_ids: {app-1: spiffe://example.org/a}\n",
       "p.yaml:19:3: token.client_ids: only used with binding: subject"},
  };
  for (const auto& c : cases) {
    auto p = load(c.text);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.error().message.rfind(c.expected, 0), 0u) << c.name << ": " << p.error().message;
  }
}

// Configs built in code (not YAML) get the same checks from the compiler.
TEST(TokenPolicy, ClientIdsAreValidatedForConfigsBuiltInCode) {
  TokenPolicyConfig token;
  token.issuers.push_back({});
  token.issuers[0].issuer = "i";
  token.issuers[0].jwks_file = "k.json";
  token.issuers[0].audiences = {"a"};
  token.binding = TokenBinding::kSubject;
  token.client_ids = {{"app-1", "spiffe://example.org/a"}};
  EXPECT_TRUE(validateTokenPolicy(token).ok());
  token.client_ids["app-2"] = "example.org/b";
  auto st = validateTokenPolicy(token);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("client_ids[\"app-2\"]: ", 0), 0u) << st.message();
  token.client_ids.erase("app-2");
  token.client_ids[std::string(257, 'x')] = "spiffe://example.org/a";
  st = validateTokenPolicy(token);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("at most 256 bytes"), std::string::npos) << st.message();
  token.client_ids.erase(std::string(257, 'x'));
  token.binding = TokenBinding::kNone;
  st = validateTokenPolicy(token);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "client_ids: only used with binding: subject");
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
