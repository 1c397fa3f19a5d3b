// Request-target normalisation through a real ingress sidecar (report's credential, the
// seed policy: report may GET /budget/read exactly and GET/POST anything under /stream).
//
// The property: the path the policy evaluated (the audit event's path) is exactly the
// path the app receives; a target that cannot be normalised safely never reaches either.
// The unit table for normalizeRequestTarget is tests/unit/policy/request_path_test.cc;
// this one checks that the sidecar wires it between the policy and the upstream.
//
// References: RFC 9112 §3.2 (request-target forms; origin-form only at a reverse proxy),
// RFC 3986 §2.3 and §6.2.2.2 (decoding unreserved escapes), §5.2.4 (remove_dot_segments).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

struct PathCase {
  const char* name;  // gtest-safe test name
  const char* method;
  const char* target;  // sent verbatim on the request line
  int status;
  // 200: the target the app must receive; 403: the normalised path the policy evaluated;
  // 400: unused.
  const char* normalised;
  const char* error;  // 4xx: the "error" code in the JSON body
  const char* rule;   // 200/403: the rule that decided
};

std::ostream& operator<<(std::ostream& os, const PathCase& c) {
  return os << c.method << " " << c.target;
}

const PathCase kCases[] = {
    // Dot segments are resolved before policy (RFC 3986 §5.2.4), so "read/.." cannot
    // reach "submit" under the "read" rule.
    {"DotDotEscapesTheAllowedPath", "GET", "/budget/read/../submit", 403, "/budget/submit",
     "rule_denied", "report-default-deny"},
    // "%2e%2e" is ".." once the unreserved escapes are decoded (§2.3, §6.2.2.2), and a
    // ".." directly under "/budget" removes it: "/submit".
    {"EncodedDotDotIsResolvedToo", "GET", "/budget/%2e%2e/submit", 403, "/submit", "rule_denied",
     "report-default-deny"},
    {"DuplicateSlashesAreMerged", "GET", "//budget/read", 200, "/budget/read", nullptr,
     "report-read"},
    {"DuplicateSlashesInsideAreMerged", "GET", "/budget//read", 200, "/budget/read", nullptr,
     "report-read"},
    // A trailing slash names a different resource to most apps, and so to policy.
    {"TrailingSlashIsADifferentPath", "GET", "/budget/read/", 403, "/budget/read/", "rule_denied",
     "report-default-deny"},
    {"EncodedSlashIsRefused", "GET", "/budget/%2Fsubmit", 400, nullptr, "invalid_path", nullptr},
    {"EncodedSlashLowerCaseIsRefused", "GET", "/budget%2fread", 400, nullptr, "invalid_path",
     nullptr},
    {"EncodedUnreservedIsDecoded", "GET", "/budget/re%61d", 200, "/budget/read", nullptr,
     "report-read"},
    {"SingleDotSegmentIsRemoved", "GET", "/budget/./read", 200, "/budget/read", nullptr,
     "report-read"},
    {"DotDotAboveTheRootStaysAtTheRoot", "GET", "/../budget/read", 200, "/budget/read", nullptr,
     "report-read"},
    // The query is validated but forwarded verbatim: apps parse queries their own way.
    {"QueryIsForwardedVerbatim", "GET", "/budget/read?x=%2F", 200, "/budget/read?x=%2F", nullptr,
     "report-read"},
    {"DotSegmentsInTheQueryAreNotPathSegments", "GET", "/budget/read?next=/../submit", 200,
     "/budget/read?next=/../submit", nullptr, "report-read"},
    {"StreamPrefixAfterNormalisation", "POST", "/stream/a/../b", 200, "/stream/b", nullptr,
     "report-stream"},
    // Escaping out of the allowed prefix: "/stream/../budget/submit" is "/budget/submit".
    {"DotDotOutOfTheAllowedPrefix", "POST", "/stream/../budget/submit", 403, "/budget/submit",
     "rule_denied", "report-default-deny"},
    {"RawBackslashIsRefused", "GET", "/budget\\read", 400, nullptr, "invalid_path", nullptr},
    {"EncodedBackslashIsRefused", "GET", "/budget%5Cread", 400, nullptr, "invalid_path", nullptr},
    {"EncodedNulIsRefused", "GET", "/budget/read%00", 400, nullptr, "invalid_path", nullptr},
    {"MalformedEscapeIsRefused", "GET", "/budget/re%6", 400, nullptr, "invalid_path", nullptr},
    // RFC 9112 §3.2.2: absolute-form is for forward proxies; §3.2.4: "*" is server-wide.
    {"AbsoluteFormIsRefused", "GET", "http://budget-backend/budget/read", 400, nullptr,
     "invalid_path", nullptr},
    {"AsteriskFormIsRefused", "GET", "*", 400, nullptr, "invalid_path", nullptr},
};

class PathNormalizationTest : public ::testing::TestWithParam<PathCase> {
 protected:
  Mesh mesh;
};

TEST_P(PathNormalizationTest, AppSeesExactlyWhatPolicyEvaluated) {
  const PathCase& c = GetParam();
  std::string error;
  auto conn = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report, &error);
  ASSERT_NE(conn, nullptr) << error;
  const std::string body = std::string(c.method) == "POST" ? "hello" : "";
  ASSERT_TRUE(conn->send(makeRequest(c.method, c.target, "", body)));
  auto res = conn->read();
  ASSERT_TRUE(res) << "no response: " << conn->lastError();
  ASSERT_EQ(res->status, c.status) << res->body;

  ASSERT_TRUE(mesh.backendAudit().waitFor(1));
  const auto events = mesh.backendAudit().events();
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.status, c.status);
  EXPECT_EQ(e.method, c.method);

  if (c.status == 200) {
    EXPECT_TRUE(e.allowed);
    EXPECT_EQ(e.rule_id, c.rule);
    ASSERT_EQ(mesh.app.requestCount(), 1u);
    const auto seen = mesh.app.requests()[0];
    EXPECT_EQ(seen.method, c.method);
    EXPECT_EQ(seen.target, c.normalised);
    // The key property: the path part of what the app received is the path that policy
    // evaluated, byte for byte; only the (verbatim) query may follow it.
    const std::string seen_path = seen.target.substr(0, seen.target.find('?'));
    EXPECT_EQ(seen_path, e.path) << "app and policy saw different paths";
    EXPECT_EQ(nlohmann::json::parse(res->body)["path"], c.normalised);
    EXPECT_EQ(seen.body_bytes, body.size());
    return;
  }

  const auto json = nlohmann::json::parse(res->body);
  EXPECT_EQ(json["error"], c.error) << res->body;
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.reason, c.error);
  EXPECT_EQ(mesh.app.requestCount(), 0u) << "a refused target reached the app";
  if (c.status == 403) {
    EXPECT_EQ(json["layer"], "rbac");
    EXPECT_EQ(e.path, c.normalised) << "policy evaluated something else than the normalised path";
    EXPECT_EQ(e.rule_id, c.rule);
  } else {
    // An unnormalisable target is a protocol error: answered, audited with the raw target,
    // and the connection closed (RFC 9112 §3.2: 400 for an invalid request-line).
    EXPECT_EQ(json["layer"], "proxy");
    EXPECT_EQ(e.layer, "proxy");
    EXPECT_EQ(e.path, c.target);
    EXPECT_FALSE(res->keep_alive);
    EXPECT_TRUE(conn->waitClosed());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, PathNormalizationTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<PathCase>& test_info) {
                           return std::string(test_info.param.name);
                         });

}  // namespace
}  // namespace warden::testing
