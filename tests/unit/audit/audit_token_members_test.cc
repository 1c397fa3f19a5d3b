// The audit line's `token` object: verified tokens carry it prerendered (TokenFacts::
// audit_members, so a cached token is not escaped again per request); the line must be
// byte-identical to rendering the facts at write time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "audit/audit_event.h"
#include "common/token_facts.h"

namespace warden::audit {
namespace {

TokenFacts facts() {
  TokenFacts t;
  t.issuer = "https://issuer.example/\"quoted\"";
  t.subject = "spiffe://example.org/budget-report";
  t.client_id = "client\x01with-control";
  t.audiences_csv = "api://budget-backend,api://other";
  t.roles_csv = "Budget.Read";
  // jti_digest left empty: absent members are left out.
  return t;
}

std::string lineWith(std::shared_ptr<const TokenFacts> token) {
  AuditEvent e;
  e.token_present = true;
  e.token = std::move(token);
  return toJsonLine(e);
}

TEST(AuditTokenMembersTest, PrerenderedMembersGiveTheSameLine) {
  auto plain = std::make_shared<TokenFacts>(facts());
  auto prerendered = std::make_shared<TokenFacts>(facts());
  renderAuditMembers(*prerendered);
  ASSERT_FALSE(prerendered->audit_members.empty());
  const std::string line = lineWith(plain);
  EXPECT_EQ(lineWith(prerendered), line);

  const auto parsed = nlohmann::json::parse(line);
  const auto& token = parsed.at("token");
  EXPECT_EQ(token.at("present"), true);
  EXPECT_EQ(token.at("iss"), "https://issuer.example/\"quoted\"");
  EXPECT_EQ(token.at("client_id"), "client\x01with-control");
  EXPECT_EQ(token.at("aud"), "api://budget-backend,api://other");
  EXPECT_EQ(token.at("roles"), "Budget.Read");
  EXPECT_FALSE(token.contains("jti_sha256"));
}

TEST(AuditTokenMembersTest, APresentTokenThatDidNotVerifyHasNoFacts) {
  const auto parsed = nlohmann::json::parse(lineWith(nullptr));
  EXPECT_EQ(parsed.at("token"), nlohmann::json({{"present", true}}));
}

}  // namespace
}  // namespace warden::audit
