// Layer 3 revocations (token_revoked): tokens of a subject issued before its cut-off.
#include <gtest/gtest.h>

#include "token/revocations.h"

namespace warden::token {
namespace {

using nlohmann::json;

std::shared_ptr<const VerifiedToken> token(const std::string& sub, json iat,
                                           const std::string& client_id = "",
                                           const std::string& actor = "") {
  auto t = std::make_shared<VerifiedToken>();
  t->subject = sub;
  t->client_id = client_id;
  t->actor_subject = actor;
  t->claims = json{{"sub", sub}};
  if (!iat.is_null()) t->claims["iat"] = iat;
  return t;
}

TEST(RevocationSetTest, EmptyListBuildsNoSet) {
  EXPECT_EQ(RevocationSet::build({}), nullptr);
}

TEST(RevocationSetTest, TokensIssuedBeforeTheCutoffAreRevoked) {
  auto set = RevocationSet::build({{"spiffe://example.org/report", 1000}});
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->size(), 1u);
  auto before = set->check(token("spiffe://example.org/report", 999));
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->ok);
  EXPECT_EQ(before->http_status, 401);
  EXPECT_EQ(before->reason, "token_revoked");
  EXPECT_NE(before->www_authenticate.find("error=\"invalid_token\""), std::string::npos);
  EXPECT_NE(before->detail.find("issued before 1000"), std::string::npos);
  ASSERT_NE(before->token, nullptr);  // the audit keeps iss/sub
  EXPECT_EQ(before->token->subject, "spiffe://example.org/report");
  // Issued at or after the cut-off: a new session.
  EXPECT_FALSE(set->check(token("spiffe://example.org/report", 1000)).has_value());
  EXPECT_FALSE(set->check(token("spiffe://example.org/report", 1500.5)).has_value());
  EXPECT_TRUE(set->check(token("spiffe://example.org/report", 999.9)).has_value());
  // Another subject is untouched; comparison is exact.
  EXPECT_FALSE(set->check(token("spiffe://example.org/approval", 10)).has_value());
  EXPECT_FALSE(set->check(token("spiffe://example.org/report/", 10)).has_value());
  EXPECT_FALSE(set->check(nullptr).has_value());
}

TEST(RevocationSetTest, WithoutIatATokenCannotShowItIsNewer) {
  auto set = RevocationSet::build({{"client-7", 1000}});
  EXPECT_TRUE(set->check(token("client-7", json())).has_value());
  EXPECT_TRUE(set->check(token("client-7", "1500")).has_value());  // not a number
}

TEST(RevocationSetTest, ClientIdAndActorAreCheckedToo) {
  auto set = RevocationSet::build({{"client-7", 1000}, {"spiffe://example.org/actor", 2000}});
  EXPECT_TRUE(set->check(token("spiffe://example.org/x", 500, "client-7")).has_value());
  EXPECT_FALSE(set->check(token("spiffe://example.org/x", 1500, "client-7")).has_value());
  // A delegated token made by a revoked actor, for someone else.
  EXPECT_TRUE(set->check(token("user-1", 1500, "", "spiffe://example.org/actor")).has_value());
  EXPECT_FALSE(set->check(token("user-1", 2500, "", "spiffe://example.org/actor")).has_value());
  // The latest cut-off of the names the token carries decides.
  EXPECT_TRUE(set->check(token("client-7", 1500, "client-7", "spiffe://example.org/actor")).has_value());
}

TEST(RevocationSetTest, TheLatestCutoffOfASubjectWins) {
  auto set = RevocationSet::build({{"a", 1000}, {"a", 3000}, {"a", 2000}});
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(set->issuedBefore("a"), 3000);
  EXPECT_EQ(set->issuedBefore("b"), std::nullopt);
  EXPECT_EQ(set->issuedBefore(""), std::nullopt);
  EXPECT_TRUE(set->check(token("a", 2500)).has_value());
}

}  // namespace
}  // namespace warden::token
