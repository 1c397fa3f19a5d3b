// SpiffeId parser tests: every valid and invalid example of identity-standards §1 (test
// plan I1, §10.1), plus the 2048-byte ID and 255-byte trust domain boundaries.
#include "identity/spiffe_id.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace warden::identity {
namespace {

using ::testing::HasSubstr;

struct ValidCase {
  std::string text;
  std::string trust_domain;
  std::string path;
};

// identity-standards §1 "Parser tests (valid)".
TEST(SpiffeIdTest, ValidIdsFromSpec) {
  const ValidCase cases[] = {
      {"spiffe://example.org", "example.org", ""},
      {"spiffe://example.org/a/b_c-d.e", "example.org", "/a/b_c-d.e"},
      // IPv4-shaped names are ordinary opaque names (§1: no special handling).
      {"spiffe://1.2.3.4/x", "1.2.3.4", "/x"},
      // Paths are case-sensitive and may hold uppercase; the trust domain may hold '_'.
      {"spiffe://a_b.c-d/X", "a_b.c-d", "/X"},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.text);
    Result<SpiffeId> id = SpiffeId::parse(c.text);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->str(), c.text);
    EXPECT_EQ(id->trustDomain(), c.trust_domain);
    EXPECT_EQ(id->path(), c.path);
    EXPECT_EQ(id->hasPath(), !c.path.empty());
  }
}

struct InvalidCase {
  std::string text;
  std::string error;  // expected substring, go-spiffe wording where go-spiffe has one
};

constexpr const char* kTdChars =
    "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and "
    "underscores";
constexpr const char* kSegChars =
    "path segment characters are limited to letters, numbers, dots, dashes, and underscores";

// identity-standards §1 "Parser tests (invalid)".
TEST(SpiffeIdTest, InvalidIdsFromSpec) {
  const InvalidCase cases[] = {
      // Only the lowercase scheme is accepted (§1 "Case").
      {"SPIFFE://example.org/a", "scheme is missing or invalid"},
      {"spiffe://Example.org/a", kTdChars},
      {"spiffe://ex%41.org", kTdChars},
      // Port and userinfo must be absent.
      {"spiffe://example.org:8080/a", kTdChars},
      {"spiffe://user@example.org/a", kTdChars},
      {"spiffe:///a", "trust domain is missing"},
      {"spiffe://", "trust domain is missing"},
      {"spiffe://example.org/", "path cannot have a trailing slash"},
      {"spiffe://example.org//a", "path cannot contain empty segments"},
      {"spiffe://example.org/a/./b", "path cannot contain dot segments"},
      {"spiffe://example.org/a/..", "path cannot contain dot segments"},
      {"spiffe://example.org/a%2Fb", kSegChars},
      // Query and fragment fall to the character rules, with no special case.
      {"spiffe://example.org/a?x=1", kSegChars},
      {"spiffe://example.org/a#f", kSegChars},
      {"spiffe://[::1]/a", kTdChars},
      {"http://example.org/a", "scheme is missing or invalid"},
      {"spiffe:example.org/a", "scheme is missing or invalid"},
      // Not in the spec table, but cheap edges of the same rules.
      {"", "cannot be empty"},
      {"spiffe://example.org/a/", "path cannot have a trailing slash"},
      {"spiffe://example.org/.", "path cannot contain dot segments"},
      {"spiffe://example.org/a b", kSegChars},
      {"spiffe://example.org?x", kTdChars},
      {"spiffe://example.org#f", kTdChars},
      {std::string("spiffe://example.org/a\0b", 24), kSegChars},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.text);
    Result<SpiffeId> id = SpiffeId::parse(c.text);
    ASSERT_FALSE(id.ok());
    EXPECT_THAT(id.error().message, HasSubstr(c.error));
  }
}

// §1 "Length": accept up to 2048 bytes, reject a 2049-byte ID.
TEST(SpiffeIdTest, LengthBoundary2048) {
  const std::string prefix = "spiffe://example.org/";
  const std::string at_limit = prefix + std::string(kMaxSpiffeIdLength - prefix.size(), 'a');
  ASSERT_EQ(at_limit.size(), 2048u);
  Result<SpiffeId> ok = SpiffeId::parse(at_limit);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->path().size(), 2048u - prefix.size() + 1);

  const std::string over = at_limit + "a";
  Result<SpiffeId> bad = SpiffeId::parse(over);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("exceeds 2048 bytes"));
}

// §1 "Trust domain": at most 255 bytes (the RFC 3986 host limit).
TEST(SpiffeIdTest, TrustDomainBoundary255) {
  const std::string td255(kMaxTrustDomainLength, 'a');
  Result<SpiffeId> ok = SpiffeId::parse("spiffe://" + td255 + "/x");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->trustDomain(), td255);
  EXPECT_TRUE(validateTrustDomain(td255).ok());

  const std::string td256(kMaxTrustDomainLength + 1, 'a');
  Result<SpiffeId> bad = SpiffeId::parse("spiffe://" + td256 + "/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("trust domain exceeds 255 bytes"));
  EXPECT_FALSE(validateTrustDomain(td256).ok());
}

// §1: IDs compare byte for byte; the path is case-sensitive.
TEST(SpiffeIdTest, ComparesByteForByte) {
  Result<SpiffeId> a = SpiffeId::parse("spiffe://example.org/ns/a");
  Result<SpiffeId> a2 = SpiffeId::parse("spiffe://example.org/ns/a");
  Result<SpiffeId> upper = SpiffeId::parse("spiffe://example.org/ns/A");
  ASSERT_TRUE(a.ok() && a2.ok() && upper.ok());
  EXPECT_TRUE(*a == *a2);
  EXPECT_FALSE(*a == *upper);
}

TEST(SpiffeIdTest, DefaultConstructedIsEmptyPlaceholder) {
  const SpiffeId id;
  EXPECT_EQ(id.str(), "");
  EXPECT_EQ(id.trustDomain(), "");
  EXPECT_EQ(id.path(), "");
  EXPECT_FALSE(id.hasPath());
}

// validateTrustDomain applies §1's trust-domain rules to a bare name.
TEST(ValidateTrustDomainTest, Table) {
  for (const char* good : {"example.org", "1.2.3.4", "a_b.c-d", "a", "warden.local"}) {
    SCOPED_TRACE(good);
    EXPECT_TRUE(validateTrustDomain(good).ok());
  }
  const InvalidCase bad[] = {
      {"", "trust domain is missing"},
      {"Example.org", kTdChars},
      {"example.org:8080", kTdChars},
      {"user@example.org", kTdChars},
      {"ex%41.org", kTdChars},
      {"[::1]", kTdChars},
      {"spiffe://example.org", kTdChars},  // a bare name, not an ID
      {"example.org/a", kTdChars},
      {"*.example.org", kTdChars},
  };
  for (const InvalidCase& c : bad) {
    SCOPED_TRACE(c.text);
    Status s = validateTrustDomain(c.text);
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr(c.error));
  }
}

}  // namespace
}  // namespace warden::identity
