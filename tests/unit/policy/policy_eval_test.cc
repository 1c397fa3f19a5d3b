// Layer 1 (allowsPeer) and layer 2 (evaluate) on compiled policies. Every layer-2 case goes
// through one helper: a request (caller, method, raw target) in, the verdict, reason and
// deciding rule out. The raw target is normalised first, as the proxy does.
#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "identity/spiffe_id.h"
#include "policy/decision.h"
#include "policy/policy.h"
#include "policy/request_path.h"

namespace warden::policy {
namespace {

using Snapshot = std::shared_ptr<const PolicySnapshot>;

Snapshot compileYaml(std::string_view yaml) {
  Result<PolicyConfig> config = parsePolicyYaml(yaml, "test.yaml");
  if (!config.ok()) {
    ADD_FAILURE() << config.error().message;
    return nullptr;
  }
  Result<Snapshot> snapshot = compilePolicy(std::move(config).value());
  if (!snapshot.ok()) {
    ADD_FAILURE() << snapshot.error().message;
    return nullptr;
  }
  return snapshot.value();
}

identity::SpiffeId id(std::string_view text) {
  Result<identity::SpiffeId> parsed = identity::SpiffeId::parse(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << text << ": " << parsed.error().message;
    return identity::SpiffeId::parse("spiffe://invalid.test/x").value();
  }
  return parsed.value();
}

struct Case {
  std::string_view caller;
  std::string_view method;
  std::string_view target;  // raw request target, normalised by the helper
  bool allowed;
  std::string_view reason;
  std::string_view rule;  // expected Decision::rule_id ("" = none)
};

constexpr bool kAllow = true;
constexpr bool kDeny = false;

void expectDecisions(const Snapshot& policy, std::initializer_list<Case> cases) {
  ASSERT_NE(policy, nullptr);
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.caller) + " " + std::string(c.method) + " " +
                 std::string(c.target));
    Result<NormalizedTarget> target = normalizeRequestTarget(c.target);
    ASSERT_TRUE(target.ok()) << target.error().message;
    const Decision d = policy->evaluate(id(c.caller), parseMethod(c.method), target->path);
    EXPECT_EQ(d.allowed, c.allowed);
    EXPECT_EQ(d.layer, Layer::kRbac);
    EXPECT_EQ(d.reason, c.allowed ? reason::kAllowed : c.reason);
    EXPECT_EQ(d.status, c.allowed ? 0 : 403);
    EXPECT_EQ(d.rule_id, c.rule);
  }
}

std::string examplePolicyPath() {
  // Not __FILE__: compiler caches may make it relative to the build directory.
  return std::string(WARDEN_SOURCE_DIR) + "/examples/standalone/policy.yaml";
}

constexpr std::string_view kReport = "spiffe://example.org/budget-report";
constexpr std::string_view kApproval = "spiffe://example.org/budget-approval";
constexpr std::string_view kGoogle = "spiffe://gcp.example/google-budget-reader";

// The seed's enforcement matrix, against the shipped example file.
TEST(PolicyEvalTest, ExamplePolicySeedMatrix) {
  Result<Snapshot> loaded = loadPolicyFile(examplePolicyPath());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Snapshot& policy = loaded.value();
  EXPECT_EQ(policy->version(), "2026-11-24.1");
  EXPECT_EQ(policy->config().target, "spiffe://example.org/budget-backend");

  expectDecisions(policy, {
      {kReport, "GET", "/budget/read", kAllow, "", "budget-report-read"},
      {kReport, "HEAD", "/budget/read", kAllow, "", "budget-report-read"},
      {kReport, "POST", "/budget/submit", kDeny, reason::kRuleDenied,
       "budget-report-default-deny"},
      {kReport, "GET", "/budget/read/", kDeny, reason::kRuleDenied, "budget-report-default-deny"},
      {kReport, "GET", "/budget/read/../submit", kDeny, reason::kRuleDenied,
       "budget-report-default-deny"},
      {kReport, "GET", "/budget/x/../read", kAllow, "", "budget-report-read"},
      {kReport, "GET", "//budget/read?x=1", kAllow, "", "budget-report-read"},
      {kReport, "get", "/budget/read", kDeny, reason::kRuleDenied, "budget-report-default-deny"},
      {kApproval, "GET", "/budget/read", kAllow, "", "budget-approval-read"},
      {kApproval, "HEAD", "/budget/read", kDeny, reason::kRuleDenied,
       "budget-approval-default-deny"},
      {kApproval, "POST", "/budget/submit", kAllow, "", "budget-approval-submit"},
      {kApproval, "POST", "/budget/%73ubmit", kAllow, "", "budget-approval-submit"},
      {kApproval, "PUT", "/budget/submit", kDeny, reason::kRuleDenied,
       "budget-approval-default-deny"},
      {kGoogle, "GET", "/budget/read", kAllow, "", "google-budget-reader-read"},
      {kGoogle, "POST", "/budget/submit", kDeny, reason::kRuleDenied,
       "google-budget-reader-default-deny"},
      {"spiffe://example.org/mallory", "GET", "/budget/read", kDeny, reason::kNoCallerPolicy, ""},
      {"spiffe://gcp.example/budget-report", "GET", "/budget/read", kDeny,
       reason::kNoCallerPolicy, ""},
  });

  EXPECT_TRUE(policy->allowsPeer(id(kReport)));
  EXPECT_TRUE(policy->allowsPeer(id(kApproval)));
  EXPECT_TRUE(policy->allowsPeer(id(kGoogle)));
  EXPECT_FALSE(policy->allowsPeer(id("spiffe://example.org/budget-backend")));
  EXPECT_FALSE(policy->allowsPeer(id("spiffe://example.org/budget-report/x")));
  EXPECT_FALSE(policy->allowsPeer(id("spiffe://gcp.example/google-budget-reader2")));
}

TEST(PolicyEvalTest, AllowList) {
  const Snapshot policy = compileYaml(R"(version: "1"
allow:
  - id: spiffe://example.org/exact
  - pattern: spiffe://example.org/ns/*/sa/approval
  - trust_domain: partner.example
)");
  ASSERT_NE(policy, nullptr);
  struct Peer {
    std::string_view id;
    bool allowed;
  };
  const Peer peers[] = {
      {"spiffe://example.org/exact", true},
      {"spiffe://example.org/exact/child", false},
      {"spiffe://example.org/exactly", false},
      {"spiffe://example.org/ns/prod/sa/approval", true},
      {"spiffe://example.org/ns/dev/sa/approval", true},
      {"spiffe://example.org/ns/a/b/sa/approval", false},  // `*` is one segment
      {"spiffe://example.org/ns/prod/sa/approval2", false},
      {"spiffe://example.org/ns/prod/sa/approval/x", false},
      {"spiffe://other.org/ns/prod/sa/approval", false},  // trust domain is literal
      {"spiffe://partner.example/anything", true},
      {"spiffe://partner.example/a/b/c", true},
      {"spiffe://sub.partner.example/a", false},
      {"spiffe://example.org/other", false},
  };
  for (const Peer& p : peers) EXPECT_EQ(policy->allowsPeer(id(p.id)), p.allowed) << p.id;

  const Snapshot nobody = compileYaml("version: \"1\"\nallow: []\n");
  ASSERT_NE(nobody, nullptr);
  EXPECT_FALSE(nobody->allowsPeer(id("spiffe://example.org/exact")));
  // No callers at all: every request is denied.
  expectDecisions(nobody, {{"spiffe://example.org/exact", "GET", "/", kDeny,
                            reason::kNoCallerPolicy, ""}});
}

// Exact entry, else first matching pattern in file order, else first matching trust domain,
// regardless of where each sits in the file.
TEST(PolicyEvalTest, CallerPrecedence) {
  const Snapshot policy = compileYaml(R"(version: "1"
allow: []
callers:
  - match: { trust_domain: example.org }
    rules: [{ id: td, methods: ["*"], path: { prefix: / }, action: allow }]
  - match: { trust_domain: other.org }
    rules: [{ id: td-other, methods: ["*"], path: { prefix: / }, action: allow }]
  - match: { pattern: spiffe://example.org/ns/*/sa/report }
    rules: [{ id: pattern-1, methods: ["*"], path: { prefix: / }, action: allow }]
  - match: { pattern: spiffe://example.org/ns/prod/sa/* }
    rules: [{ id: pattern-2, methods: ["*"], path: { prefix: / }, action: allow }]
  - match: { id: spiffe://example.org/ns/prod/sa/report }
    rules: [{ id: exact, methods: ["*"], path: { prefix: / }, action: deny }]
)");
  expectDecisions(policy, {
      {"spiffe://example.org/ns/prod/sa/report", "GET", "/", kDeny, reason::kRuleDenied, "exact"},
      {"spiffe://example.org/ns/dev/sa/report", "GET", "/", kAllow, "", "pattern-1"},
      {"spiffe://example.org/ns/prod/sa/other", "GET", "/", kAllow, "", "pattern-2"},
      {"spiffe://example.org/ns/dev/sa/other", "GET", "/", kAllow, "", "td"},
      {"spiffe://example.org/x", "GET", "/", kAllow, "", "td"},
      {"spiffe://other.org/ns/prod/sa/report", "GET", "/", kAllow, "", "td-other"},
      {"spiffe://third.org/ns/prod/sa/report", "GET", "/", kDeny, reason::kNoCallerPolicy, ""},
  });
}

TEST(PolicyEvalTest, FirstMatchingRuleDecides) {
  const Snapshot policy = compileYaml(R"(version: "1"
allow: []
callers:
  - match: { id: spiffe://example.org/a }
    rules:
      - id: deny-admin
        methods: ["*"]
        path: { prefix: /budget/admin }
        action: deny
      - id: allow-budget
        methods: [GET, POST]
        path: { prefix: /budget }
        action: allow
      - id: never-wins
        methods: [GET]
        path: { exact: /budget/read }
        action: deny
      - methods: [DELETE]
        path: { exact: /budget/read }
        action: allow
)");
  constexpr std::string_view a = "spiffe://example.org/a";
  expectDecisions(policy, {
      {a, "GET", "/budget/admin", kDeny, reason::kRuleDenied, "deny-admin"},
      {a, "GET", "/budget/admin/users", kDeny, reason::kRuleDenied, "deny-admin"},
      {a, "GET", "/budget/x/../admin", kDeny, reason::kRuleDenied, "deny-admin"},
      {a, "GET", "/budget/%61dmin", kDeny, reason::kRuleDenied, "deny-admin"},
      {a, "GET", "/budget/administrator", kAllow, "", "allow-budget"},
      {a, "GET", "/budget/read", kAllow, "", "allow-budget"},
      {a, "POST", "/budget/read", kAllow, "", "allow-budget"},
      {a, "DELETE", "/budget/read", kAllow, "", "callers[0].rules[3]"},
      {a, "PUT", "/budget/read", kDeny, reason::kNoMatchingRule, ""},
      {a, "GET", "/other", kDeny, reason::kNoMatchingRule, ""},
  });
}

TEST(PolicyEvalTest, MethodsAreABitmask) {
  const Snapshot policy = compileYaml(R"(version: "1"
allow: []
callers:
  - match: { id: spiffe://example.org/a }
    rules:
      - { id: get, methods: [GET], path: { exact: /get }, action: allow }
      - { id: head, methods: [HEAD], path: { exact: /head }, action: allow }
      - { id: writes, methods: [PUT, PATCH, DELETE], path: { exact: /w }, action: allow }
      - { id: misc, methods: [OPTIONS, CONNECT, TRACE, POST], path: { exact: /m }, action: allow }
      - { id: any, methods: ["*"], path: { exact: /any }, action: allow }
)");
  constexpr std::string_view a = "spiffe://example.org/a";
  expectDecisions(policy, {
      {a, "GET", "/get", kAllow, "", "get"},
      {a, "HEAD", "/get", kDeny, reason::kNoMatchingRule, ""},  // HEAD is not GET
      {a, "HEAD", "/head", kAllow, "", "head"},
      {a, "GET", "/head", kDeny, reason::kNoMatchingRule, ""},
      {a, "PUT", "/w", kAllow, "", "writes"},
      {a, "PATCH", "/w", kAllow, "", "writes"},
      {a, "DELETE", "/w", kAllow, "", "writes"},
      {a, "POST", "/w", kDeny, reason::kNoMatchingRule, ""},
      {a, "OPTIONS", "/m", kAllow, "", "misc"},
      {a, "CONNECT", "/m", kAllow, "", "misc"},
      {a, "TRACE", "/m", kAllow, "", "misc"},
      {a, "POST", "/m", kAllow, "", "misc"},
      {a, "GET", "/m", kDeny, reason::kNoMatchingRule, ""},
      {a, "PROPFIND", "/any", kAllow, "", "any"},  // extension methods match only "*"
      {a, "PROPFIND", "/get", kDeny, reason::kNoMatchingRule, ""},
      {a, "get", "/get", kDeny, reason::kNoMatchingRule, ""},  // case-sensitive
      {a, "TRACE", "/any", kAllow, "", "any"},
  });
  EXPECT_EQ(parseMethod("GET"), Method::kGet);
  EXPECT_EQ(parseMethod("HEAD"), Method::kHead);
  EXPECT_EQ(parseMethod("PATCH"), Method::kPatch);
  EXPECT_EQ(parseMethod("Get"), Method::kOther);
  EXPECT_EQ(parseMethod(""), Method::kOther);
  EXPECT_EQ(parseMethod("GET "), Method::kOther);
}

TEST(PolicyEvalTest, PathMatchers) {
  const Snapshot policy = compileYaml(R"(version: "1"
allow: []
callers:
  - match: { id: spiffe://example.org/prefix }
    rules:
      - { id: budget, methods: [GET], path: { prefix: /budget }, action: allow }
      - { id: reports-dir, methods: [GET], path: { prefix: /reports/ }, action: allow }
  - match: { id: spiffe://example.org/root }
    rules:
      - { id: root, methods: [GET], path: { prefix: / }, action: allow }
  - match: { id: spiffe://example.org/exact }
    rules:
      - { id: exact, methods: [GET], path: { exact: /budget/read }, action: allow }
      - { id: exact-root, methods: [GET], path: { exact: / }, action: allow }
  - match: { id: spiffe://example.org/pattern }
    rules:
      - { id: items, methods: [GET], path: { pattern: /budget/*/items }, action: allow }
      - { id: items-dir, methods: [GET], path: { pattern: "/budget/*/items/*/" }, action: allow }
      - { id: top, methods: [GET], path: { pattern: "/*" }, action: allow }
)");
  constexpr std::string_view p = "spiffe://example.org/prefix";
  constexpr std::string_view r = "spiffe://example.org/root";
  constexpr std::string_view e = "spiffe://example.org/exact";
  constexpr std::string_view t = "spiffe://example.org/pattern";
  expectDecisions(policy, {
      // prefix is segment-aware
      {p, "GET", "/budget", kAllow, "", "budget"},
      {p, "GET", "/budget/", kAllow, "", "budget"},
      {p, "GET", "/budget/x", kAllow, "", "budget"},
      {p, "GET", "/budget/x/y/", kAllow, "", "budget"},
      {p, "GET", "/budgetx", kDeny, reason::kNoMatchingRule, ""},
      {p, "GET", "/budget.json", kDeny, reason::kNoMatchingRule, ""},
      {p, "GET", "/", kDeny, reason::kNoMatchingRule, ""},
      // a prefix ending in "/" covers the directory and below, not the bare name
      {p, "GET", "/reports/", kAllow, "", "reports-dir"},
      {p, "GET", "/reports/q3", kAllow, "", "reports-dir"},
      {p, "GET", "/reports", kDeny, reason::kNoMatchingRule, ""},
      {p, "GET", "/reportsx", kDeny, reason::kNoMatchingRule, ""},
      {r, "GET", "/", kAllow, "", "root"},
      {r, "GET", "/anything/at/all/", kAllow, "", "root"},
      // exact is a byte compare on the normalised path
      {e, "GET", "/budget/read", kAllow, "", "exact"},
      {e, "GET", "/budget/./read", kAllow, "", "exact"},
      {e, "GET", "/budget/read?q=1", kAllow, "", "exact"},
      {e, "GET", "/budget/read/", kDeny, reason::kNoMatchingRule, ""},
      {e, "GET", "/budget/rea", kDeny, reason::kNoMatchingRule, ""},
      {e, "GET", "/Budget/read", kDeny, reason::kNoMatchingRule, ""},
      {e, "GET", "/", kAllow, "", "exact-root"},
      // pattern: `*` is exactly one whole non-empty segment
      {t, "GET", "/budget/42/items", kAllow, "", "items"},
      {t, "GET", "/budget/a.b-c/items", kAllow, "", "items"},
      {t, "GET", "/budget/items", kDeny, reason::kNoMatchingRule, ""},
      {t, "GET", "/budget/a/b/items", kDeny, reason::kNoMatchingRule, ""},
      {t, "GET", "/budget//items", kDeny, reason::kNoMatchingRule, ""},  // "//" merged
      {t, "GET", "/budget/42/items/", kDeny, reason::kNoMatchingRule, ""},
      {t, "GET", "/budget/42/items/x", kDeny, reason::kNoMatchingRule, ""},
      {t, "GET", "/budget/42/items/x/", kAllow, "", "items-dir"},
      {t, "GET", "/budget", kAllow, "", "top"},
      {t, "GET", "/budget/", kDeny, reason::kNoMatchingRule, ""},
      {t, "GET", "/", kDeny, reason::kNoMatchingRule, ""},
  });
}

TEST(PolicyEvalTest, RuleIdsLiveInTheSnapshot) {
  Snapshot policy = compileYaml(R"(version: "v9"
allow: []
callers:
  - match: { id: spiffe://example.org/a }
    rules: [{ methods: [GET], path: { prefix: / }, action: allow }]
)");
  ASSERT_NE(policy, nullptr);
  const Decision d = policy->evaluate(id("spiffe://example.org/a"), Method::kGet, "/x");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule_id, "callers[0].rules[0]");
  EXPECT_EQ(policy->version(), "v9");
  // A path that was never normalised matches nothing: evaluate() fails closed.
  EXPECT_FALSE(policy->evaluate(id("spiffe://example.org/a"), Method::kGet, "").allowed);
  EXPECT_FALSE(policy->evaluate(id("spiffe://example.org/a"), Method::kGet, "x").allowed);
}

TEST(DecisionTest, LayerNames) {
  EXPECT_EQ(toString(Layer::kTransport), "transport");
  EXPECT_EQ(toString(Layer::kRisk), "risk");
  EXPECT_EQ(toString(Layer::kTags), "tags");
  EXPECT_EQ(toString(Layer::kRbac), "rbac");
  EXPECT_EQ(toString(Layer::kToken), "token");
  EXPECT_EQ(toString(Layer::kProxy), "proxy");
  const Decision deny = Decision::deny(Layer::kRbac, reason::kNoMatchingRule, 403);
  EXPECT_FALSE(deny.allowed);
  EXPECT_TRUE(deny.rule_id.empty());
}

}  // namespace
}  // namespace warden::policy

namespace warden::policy {
namespace {

// Found by fuzz/policy_fuzz: a `pattern` entry without `*` keeps its place among the
// patterns (file order), it is not promoted to the exact tier.
TEST(PolicyRegressionTest, PatternWithoutWildcardStaysInPatternTier) {
  auto compiled = compilePolicy(*parsePolicyYaml(R"(version: "1"
allow: []
callers:
  - match: { pattern: spiffe://td/* }
    rules: [{ id: first, methods: [GET], path: { prefix: / }, action: allow }]
  - match: { pattern: spiffe://td/a }
    rules: [{ id: second, methods: [GET], path: { prefix: / }, action: deny }]
)", "p.yaml"));
  ASSERT_TRUE(compiled.ok()) << compiled.error().message;
  const auto d = (*compiled)->evaluate(*identity::SpiffeId::parse("spiffe://td/a"), Method::kGet, "/");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule_id, "first");
}

// Found by fuzz/policy_fuzz: yaml-cpp 0.7's LoadAll never returned on this input.
TEST(PolicyRegressionTest, MalformedStreamIsAnErrorNotAHang) {
  auto parsed = parsePolicyYaml(",\n", "p.yaml");
  EXPECT_FALSE(parsed.ok());
}

}  // namespace
}  // namespace warden::policy
