// normalizeRequestTarget(): the one path that both policy and the app see.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "policy/request_path.h"

namespace warden::policy {
namespace {

struct Ok {
  std::string_view in;
  std::string_view path;
  std::string_view query;  // only checked when has_query
  bool has_query = false;
};

TEST(RequestPathTest, Normalises) {
  const Ok cases[] = {
      {"/", "/", "", false},
      {"/budget/read", "/budget/read", "", false},
      // RFC 3986 §5.2.4: dot segments, including ones hidden behind escapes of "."
      {"/budget/read/../submit", "/budget/submit", "", false},
      {"/budget/read/%2e%2e/submit", "/budget/submit", "", false},
      {"/budget/read/%2E%2E/submit", "/budget/submit", "", false},
      {"/budget/read/.%2e/submit", "/budget/submit", "", false},
      // "%2e%2e" is "..": it removes "budget" exactly as a literal ".." would, because the
      // app decodes it too (the issue listed "/budget/submit" here; RFC 3986 §5.2.4 and
      // the literal case above both say "/submit").
      {"/budget/%2e%2e/submit", "/submit", "", false},
      {"/budget/../submit", "/submit", "", false},
      {"/a/./b", "/a/b", "", false},
      {"/..", "/", "", false},
      {"/../../x", "/x", "", false},
      {"/a/b/..", "/a/", "", false},
      {"/a/b/.", "/a/b/", "", false},
      {"/a/..", "/", "", false},
      {"/a/...", "/a/...", "", false},
      {"/a/.b/..c", "/a/.b/..c", "", false},
      // duplicate slashes merged before dot removal
      {"//budget/submit", "/budget/submit", "", false},
      {"/budget///submit//", "/budget/submit/", "", false},
      {"/a//../b", "/b", "", false},
      // trailing slash is significant
      {"/budget/submit/", "/budget/submit/", "", false},
      // unreserved escapes decoded (RFC 3986 §2.3, §6.2.2.2), others kept upper-cased
      {"/%7e", "/~", "", false},
      {"/%41", "/A", "", false},
      {"/%c3%a9", "/%C3%A9", "", false},
      {"/a%20b", "/a%20b", "", false},  // "%20" kept as is
      {"/%25", "/%25", "", false},
      {"/%3f", "/%3F", "", false},
      {"/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;=", "", false},
      // the query is kept verbatim
      {"/x?a=%2F", "/x", "a=%2F", true},
      {"/x?", "/x", "", true},
      {"/x?a=1&b=/c?d", "/x", "a=1&b=/c?d", true},
      {"/a/../b?x=../y", "/b", "x=../y", true},
  };
  for (const Ok& c : cases) {
    SCOPED_TRACE(std::string(c.in));
    Result<NormalizedTarget> r = normalizeRequestTarget(c.in);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->path, c.path);
    EXPECT_EQ(r->has_query, c.has_query);
    if (c.has_query) {
      EXPECT_EQ(r->query, c.query);
    }
  }
}

TEST(RequestPathTest, RejectsWithShortMessages) {
  struct Bad {
    std::string_view in;
    std::string_view message;
  };
  const Bad cases[] = {
      {"", "empty request target"},
      {"*", "request target must be an absolute path"},
      {"http://h/x", "request target must be an absolute path"},
      {"h:80", "request target must be an absolute path"},
      {"budget", "request target must be an absolute path"},
      {"/budget/%2Fsubmit", "encoded '/' in path is not allowed"},
      {"/budget/%2fsubmit", "encoded '/' in path is not allowed"},
      {"/a%5Cb", "encoded '\\' in path is not allowed"},
      {"/a%5cb", "encoded '\\' in path is not allowed"},
      {"/a%00", "encoded control character in path is not allowed"},
      {"/a%0a", "encoded control character in path is not allowed"},
      {"/a%7F", "encoded control character in path is not allowed"},
      {"/a\\b", "'\\' in path is not allowed"},
      {"/a%zz", "malformed percent-escape in path"},
      {"/a%4", "malformed percent-escape in path"},
      {"/a%", "malformed percent-escape in path"},
      {"/a%4g", "malformed percent-escape in path"},
      {"/a#frag", "fragment in request target is not allowed"},
      {"/a?b#frag", "fragment in request target is not allowed"},
      {"/a b", "space in request target"},
      {std::string_view("/a\0b", 4), "control character in request target"},
      {"/a\tb", "control character in request target"},
      {"/a\x7f", "control character in request target"},
      {"/caf\xc3\xa9", "invalid character in request target"},
      {"/a<b>", "invalid character in request target"},
      {"/a\"", "invalid character in request target"},
      {"/a[0]", "invalid character in request target"},
      {"/a{b}", "invalid character in request target"},
      {"/a|b", "invalid character in request target"},
      {"/a^b", "invalid character in request target"},
      {"/a`b", "invalid character in request target"},
      {"/x?a=%zz", "malformed percent-escape in query"},
      {"/x?a=%2", "malformed percent-escape in query"},
      {"/x?a b", "space in request target"},
      {"/x?a\\b", "'\\' in path is not allowed"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(std::string(c.in));
    Result<NormalizedTarget> r = normalizeRequestTarget(c.in);
    ASSERT_FALSE(r.ok()) << r->path;
    EXPECT_EQ(r.error().message, c.message);
  }
}

TEST(RequestPathTest, TargetRebuildsWhatIsSentUpstream) {
  EXPECT_EQ(normalizeRequestTarget("/a/../b?x=%2F")->target(), "/b?x=%2F");
  EXPECT_EQ(normalizeRequestTarget("/a?")->target(), "/a?");
  EXPECT_EQ(normalizeRequestTarget("//a/./b/")->target(), "/a/b/");
}

// Normalising twice changes nothing: the app (which may normalise again) sees the path that
// policy judged.
TEST(RequestPathTest, IsIdempotent) {
  const std::string_view inputs[] = {"/a/%2e%2e/b", "//x//y/", "/%c3%a9/%7e", "/a/b/..",
                                     "/q?x=%2f", "/a/./b/../c/"};
  for (const std::string_view in : inputs) {
    Result<NormalizedTarget> once = normalizeRequestTarget(in);
    ASSERT_TRUE(once.ok());
    Result<NormalizedTarget> twice = normalizeRequestTarget(once->target());
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ(twice->target(), once->target()) << in;
  }
}

}  // namespace
}  // namespace warden::policy
