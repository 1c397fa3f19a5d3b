// ETags of versioned objects and If-Match parsing (RFC 9110 §8.8.3, §13.1.1).
#include "controlplane/etag.h"

#include <gtest/gtest.h>

namespace warden::controlplane {
namespace {

TEST(Etag, FormatNamesKindObjectAndVersion) {
  EXPECT_EQ(etagFor("policy", "budget-backend", 7), "\"policy-budget-backend-v7\"");
  EXPECT_EQ(etagFor("governance", "a", 1), "\"governance-a-v1\"");
  EXPECT_EQ(etagFor("agent", "report", 12), "\"agent-report-v12\"");
}

TEST(Etag, VersionIsReadBackOnlyForTheSameObject) {
  EXPECT_EQ(etagVersion("\"policy-budget-backend-v7\"", "policy", "budget-backend"), 7u);
  EXPECT_EQ(
      etagVersion("\"policy-budget-backend-v18446744073709551615\"", "policy", "budget-backend"),
      18446744073709551615u);
  // Another object whose name is a prefix or suffix of this one's.
  EXPECT_FALSE(etagVersion("\"policy-budget-backend-v7\"", "policy", "budget"));
  EXPECT_FALSE(etagVersion("\"policy-budget-v7\"", "policy", "budget-backend"));
  EXPECT_FALSE(etagVersion("\"governance-budget-backend-v7\"", "policy", "budget-backend"));
  for (const char* bad :
       {"policy-budget-backend-v7", "\"policy-budget-backend-v\"", "\"policy-budget-backend-v07\"",
        "\"policy-budget-backend-v0\"", "\"policy-budget-backend-v7x\"",
        "\"policy-budget-backend-v-1\"", "\"policy-budget-backend-v18446744073709551616\"",
        "W/\"policy-budget-backend-v7\""}) {
    EXPECT_FALSE(etagVersion(bad, "policy", "budget-backend")) << bad;
  }
}

TEST(IfMatch, StarAndLists) {
  auto star = parseIfMatch(" * ");
  ASSERT_TRUE(star.ok());
  EXPECT_TRUE(star->any);
  EXPECT_TRUE(ifMatchAccepts(*star, "\"anything-v1\""));

  auto list = parseIfMatch("\"policy-a-v1\", W/\"policy-a-v2\" ,, \"policy-a-v3\"");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_FALSE(list->any);
  // The weak tag is dropped: If-Match compares strongly.
  EXPECT_EQ(list->tags, (std::vector<std::string>{"\"policy-a-v1\"", "\"policy-a-v3\""}));
  EXPECT_TRUE(ifMatchAccepts(*list, "\"policy-a-v3\""));
  EXPECT_FALSE(ifMatchAccepts(*list, "\"policy-a-v2\""));

  auto one = parseIfMatch("\"policy-a-v4\"");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(etagVersion(one->tags.at(0), "policy", "a"), 4u);
}

TEST(IfMatch, MalformedValuesAreErrors) {
  for (const char* bad : {"", " , ", "policy-a-v1", "\"policy-a-v1", "\"a\"b\"", "*, \"a\"",
                          "\"with space\"", "W/policy"}) {
    EXPECT_FALSE(parseIfMatch(bad).ok()) << "[" << bad << "]";
  }
}

}  // namespace
}  // namespace warden::controlplane
