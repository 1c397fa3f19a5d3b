// IdMatcher tests: exact, trust-domain and one-segment `*` patterns (id_matcher.h), with
// the SPIFFE-ID §1 rules applied to every literal part of a pattern.
#include "identity/id_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warden::identity {
namespace {

using ::testing::HasSubstr;

SpiffeId id(const std::string& text) {
  Result<SpiffeId> parsed = SpiffeId::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
  return parsed.ok() ? std::move(parsed).value() : SpiffeId();
}

struct MatchCase {
  std::string id;
  bool expected;
};

// One helper for every table: build, then check each ID.
void expectMatches(const Result<IdMatcher>& matcher, const std::vector<MatchCase>& cases) {
  ASSERT_TRUE(matcher.ok()) << matcher.error().message;
  for (const MatchCase& c : cases) {
    SCOPED_TRACE(matcher->text() + " vs " + c.id);
    EXPECT_EQ(matcher->matches(id(c.id)), c.expected);
  }
}

TEST(IdMatcherTest, Exact) {
  Result<IdMatcher> m = IdMatcher::exact("spiffe://example.org/ns/prod/sa/report");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind(), IdMatcher::Kind::kExact);
  EXPECT_EQ(m->text(), "spiffe://example.org/ns/prod/sa/report");
  expectMatches(m, {
                       {"spiffe://example.org/ns/prod/sa/report", true},
                       // Byte-for-byte: the path is case-sensitive (SPIFFE-ID §1).
                       {"spiffe://example.org/ns/prod/sa/Report", false},
                       {"spiffe://example.org/ns/prod/sa/report/x", false},
                       {"spiffe://example.org/ns/prod/sa", false},
                       {"spiffe://other.org/ns/prod/sa/report", false},
                       {"spiffe://example.org", false},
                   });
}

TEST(IdMatcherTest, ExactRejectsInvalidIds) {
  for (const char* bad : {"spiffe://Example.org/a", "spiffe://example.org/a/", "example.org/a",
                          "spiffe://example.org/a*", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(IdMatcher::exact(bad).ok());
  }
  // A trust-domain ID names a signing authority and can never be a peer (SPIFFE-ID §1).
  Result<IdMatcher> no_path = IdMatcher::exact("spiffe://example.org");
  ASSERT_FALSE(no_path.ok());
  EXPECT_THAT(no_path.error().message, HasSubstr("trust_domain"));
}

TEST(IdMatcherTest, TrustDomain) {
  Result<IdMatcher> m = IdMatcher::trustDomain("example.org");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind(), IdMatcher::Kind::kTrustDomain);
  expectMatches(m, {
                       {"spiffe://example.org/a", true},
                       {"spiffe://example.org/ns/prod/sa/report", true},
                       {"spiffe://example.org", true},
                       {"spiffe://other.org/a", false},
                       // No suffix or prefix semantics: names are opaque (SPIFFE-ID §1).
                       {"spiffe://sub.example.org/a", false},
                       {"spiffe://example.org.evil/a", false},
                       {"spiffe://example.or/a", false},
                   });
}

TEST(IdMatcherTest, TrustDomainRejectsInvalidNames) {
  for (const char* bad :
       {"", "Example.org", "spiffe://example.org", "*", "**", "*.example.org", "example.org:443"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(IdMatcher::trustDomain(bad).ok());
  }
}

TEST(IdMatcherTest, PatternOneWildcard) {
  Result<IdMatcher> m = IdMatcher::pattern("spiffe://example.org/ns/*/sa/report");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind(), IdMatcher::Kind::kPattern);
  EXPECT_EQ(m->text(), "spiffe://example.org/ns/*/sa/report");
  expectMatches(m, {
                       {"spiffe://example.org/ns/prod/sa/report", true},
                       {"spiffe://example.org/ns/dev/sa/report", true},
                       // `*` matches exactly one segment: not zero, not two.
                       {"spiffe://example.org/ns/sa/report", false},
                       {"spiffe://example.org/ns/a/b/sa/report", false},
                       {"spiffe://example.org/ns/prod/sa/report/extra", false},
                       {"spiffe://example.org/ns/prod/sa", false},
                       {"spiffe://example.org/ns/prod/sa/reporter", false},
                       {"spiffe://example.org", false},
                       // The trust domain is always literal.
                       {"spiffe://other.org/ns/prod/sa/report", false},
                   });
}

TEST(IdMatcherTest, PatternTwoWildcards) {
  Result<IdMatcher> m = IdMatcher::pattern("spiffe://example.org/ns/*/sa/*");
  expectMatches(m, {
                       {"spiffe://example.org/ns/prod/sa/report", true},
                       {"spiffe://example.org/ns/a/sa/b", true},
                       {"spiffe://example.org/ns/prod/sa", false},
                       {"spiffe://example.org/ns/prod/sa/report/x", false},
                       {"spiffe://example.org/ns/prod/xx/report", false},
                       {"spiffe://other.org/ns/prod/sa/report", false},
                   });
}

TEST(IdMatcherTest, PatternWildcardOnly) {
  Result<IdMatcher> m = IdMatcher::pattern("spiffe://example.org/*");
  expectMatches(m, {
                       {"spiffe://example.org/a", true},
                       {"spiffe://example.org/a/b", false},
                       {"spiffe://example.org", false},
                       {"spiffe://other.org/a", false},
                   });
}

TEST(IdMatcherTest, PatternWithoutWildcardBecomesExact) {
  Result<IdMatcher> m = IdMatcher::pattern("spiffe://example.org/ns/prod");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind(), IdMatcher::Kind::kExact);
  expectMatches(m, {
                       {"spiffe://example.org/ns/prod", true},
                       {"spiffe://example.org/ns/dev", false},
                   });
}

TEST(IdMatcherTest, InvalidPatternsRejected) {
  const struct {
    const char* pattern;
    const char* error;
  } cases[] = {
      // Partial globs would admit "agent-evil" (id_matcher.h).
      {"spiffe://example.org/agent*", "whole path segment"},
      {"spiffe://example.org/*agent", "whole path segment"},
      {"spiffe://example.org/**", "whole path segment"},
      {"spiffe://example.org/ns/**/x", "whole path segment"},
      {"spiffe://*/a", "trust domain"},
      {"spiffe://**/a", "trust domain"},
      {"spiffe://*.example.org/a", "trust domain"},
      {"spiffe://example.*/a", "trust domain"},
      {"spiffe://example.org", "at least one path segment"},
      {"spiffe://*", "trust domain"},
      // Every literal part follows SPIFFE-ID §1.
      {"spiffe://example.org/", "trailing slash"},
      {"spiffe://example.org/*/", "trailing slash"},
      {"spiffe://example.org//*", "empty segments"},
      {"spiffe://example.org/*/../x", "dot segments"},
      {"spiffe://example.org/./*", "dot segments"},
      {"spiffe://example.org/a%2F/*", "path segment characters"},
      {"spiffe://example.org/*?x=1", "whole path segment"},
      {"spiffe://example.org/a?x/*", "path segment characters"},
      {"spiffe://Example.org/*", "trust domain characters"},
      {"spiffe://example.org:8443/*", "trust domain characters"},
      {"spiffe:///*", "trust domain is missing"},
      {"SPIFFE://example.org/*", "scheme"},
      {"http://example.org/*", "scheme"},
      {"", "scheme"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pattern);
    Result<IdMatcher> m = IdMatcher::pattern(c.pattern);
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(m.error().message, HasSubstr(c.error));
  }
}

TEST(IdMatcherTest, PatternLengthBoundary) {
  const std::string prefix = "spiffe://example.org/*/";
  const std::string at_limit = prefix + std::string(kMaxSpiffeIdLength - prefix.size(), 'a');
  EXPECT_TRUE(IdMatcher::pattern(at_limit).ok());
  EXPECT_FALSE(IdMatcher::pattern(at_limit + "a").ok());
}

}  // namespace
}  // namespace warden::identity
