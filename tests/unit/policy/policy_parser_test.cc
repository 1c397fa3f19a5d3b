// Loading errors: every mistake is reported as "<source>:<line>:<col>: <field>: <message>"
// with the line and column of the offending element, whether parsePolicyYaml() (syntax,
// shape) or compilePolicy() (semantics) found it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "policy/policy.h"

namespace warden::policy {
namespace {

// Parses and compiles; returns the error message, or "" if the policy loaded.
std::string loadError(std::string_view yaml) {
  Result<PolicyConfig> config = parsePolicyYaml(yaml, "policy.yaml");
  if (!config.ok()) return config.error().message;
  Result<std::shared_ptr<const PolicySnapshot>> snapshot =
      compilePolicy(std::move(config).value());
  if (!snapshot.ok()) return snapshot.error().message;
  return "";
}

struct ErrorCase {
  std::string_view name;
  std::string_view yaml;
  std::string_view expected;  // whole message; a trailing "..." means "starts with"
};

void expectError(const ErrorCase& c) {
  SCOPED_TRACE(std::string(c.name));
  const std::string got = loadError(c.yaml);
  std::string_view want = c.expected;
  if (want.size() >= 3 && want.substr(want.size() - 3) == "...") {
    want.remove_suffix(3);
    EXPECT_EQ(got.substr(0, want.size()), want) << "full message: " << got;
  } else {
    EXPECT_EQ(got, want);
  }
}

constexpr std::string_view kValid = R"(version: "1"
allow:
  - id: spiffe://example.org/a
callers:
  - match: { id: spiffe://example.org/a }
    rules:
      - methods: [GET]
        path: { exact: /x }
        action: allow
)";

TEST(PolicyParserTest, ValidPolicyLoads) { EXPECT_EQ(loadError(kValid), ""); }

TEST(PolicyParserTest, SyntaxAndShapeErrors) {
  const ErrorCase cases[] = {
      {"yaml syntax", "version: \"1\"\nallow: [\n  - id: x\n",
       "policy.yaml:3:3: invalid YAML: ..."},
      {"unterminated flow", "version: \"1\"\nallow: []\ncallers: [ {match: {id: a}\n",
       "policy.yaml:..."},
      {"empty file", "", "policy.yaml: policy is empty"},
      {"not a mapping", "- a\n- b\n",
       "policy.yaml:1:1: a policy must be a mapping with keys version, target, allow, callers"},
      // Points at the "---" that starts the second document.
      {"two documents", "version: \"1\"\nallow: []\n---\nversion: \"2\"\nallow: []\n",
       "policy.yaml:3:1: only one YAML document is allowed per policy file"},
      {"missing version", "allow: []\n", "policy.yaml:1:1: version: required field is missing"},
      {"empty version", "version: \"\"\nallow: []\n",
       "policy.yaml:1:10: version: must not be empty"},
      {"null version", "version:\nallow: []\n", "policy.yaml:1:1: version: must not be empty"},
      {"version is a list", "version: [1]\nallow: []\n",
       "policy.yaml:1:10: version: must be a string"},
      {"unknown top-level key", "version: \"1\"\nallows: []\n",
       "policy.yaml:2:1: allows: unknown key \"allows\" (expected one of version, target, "
       "allow, callers, token)"},
      {"duplicate key", "version: \"1\"\nallow: []\nversion: \"2\"\n",
       "policy.yaml:3:1: version: duplicate key"},
      {"missing allow", "version: \"1\"\n",
       "policy.yaml:1:1: allow: required field is missing (use `allow: []` to admit nobody)"},
      {"allow not a list", "version: \"1\"\nallow: spiffe://example.org/a\n",
       "policy.yaml:2:8: allow: must be a list (use `allow: []` to admit nobody)"},
      {"allow entry with two forms",
       "version: \"1\"\nallow:\n  - id: spiffe://example.org/a\n    trust_domain: example.org\n",
       "policy.yaml:4:5: allow[0].trust_domain: only one of id, pattern, trust_domain may be "
       "set"},
      {"allow entry with no form", "version: \"1\"\nallow:\n  - {}\n",
       "policy.yaml:3:5: allow[0]: must set one of id, pattern, trust_domain"},
      {"allow entry unknown key", "version: \"1\"\nallow:\n  - prefix: spiffe://example.org/\n",
       "policy.yaml:3:5: allow[0].prefix: unknown key \"prefix\" (expected one of id, pattern, "
       "trust_domain)"},
      {"allow entry is a string", "version: \"1\"\nallow:\n  - spiffe://example.org/a\n",
       "policy.yaml:3:5: allow[0]: must be a mapping with one of id, pattern, trust_domain"},
      {"caller without match",
       "version: \"1\"\nallow: []\ncallers:\n  - rules: []\n",
       "policy.yaml:4:5: callers[0].match: required field is missing"},
      {"caller with empty rules",
       "version: \"1\"\nallow: []\ncallers:\n  - match: {id: spiffe://e.org/a}\n    rules: []\n",
       "policy.yaml:5:12: callers[0].rules: must not be empty (a caller without rules is "
       "denied every request)"},
  };
  for (const ErrorCase& c : cases) expectError(c);
}

// Builds a one-caller policy whose second rule has the given body (indented 8 spaces), so
// its first line is always line 11 of the file.
std::string withRule(std::string_view rule_body) {
  std::string yaml = R"(version: "1"
allow:
  - id: spiffe://example.org/a
callers:
  - match: { id: spiffe://example.org/a }
    rules:
      - id: first
        methods: [GET]
        path: { exact: /x }
        action: allow
)";
  yaml.append("      - ");
  yaml.append(rule_body);
  return yaml;
}

TEST(PolicyParserTest, RuleErrors) {
  const std::string unknown_method = withRule(
      "id: r\n        methods: [GET, GTE]\n        path: {exact: /y}\n        action: allow\n");
  const std::string lower_case = withRule(
      "methods:\n          - get\n        path: {exact: /y}\n        action: allow\n");
  const std::string star_and_more = withRule(
      "methods: [\"*\", GET]\n        path: {exact: /y}\n        action: allow\n");
  const std::string duplicate_method = withRule(
      "methods: [GET, POST, GET]\n        path: {exact: /y}\n        action: allow\n");
  const std::string methods_scalar = withRule(
      "methods: GET\n        path: {exact: /y}\n        action: allow\n");
  const std::string methods_empty = withRule(
      "methods: []\n        path: {exact: /y}\n        action: allow\n");
  const std::string two_paths = withRule(
      "methods: [GET]\n        path: {exact: /y, prefix: /y}\n        action: allow\n");
  const std::string dot_path = withRule(
      "methods: [GET]\n        path: {prefix: /budget/../admin}\n        action: allow\n");
  const std::string double_slash = withRule(
      "methods: [GET]\n        path: {exact: //budget}\n        action: allow\n");
  const std::string escaped = withRule(
      "methods: [GET]\n        path: {exact: /a%2Fb}\n        action: allow\n");
  const std::string query = withRule(
      "methods: [GET]\n        path: {exact: \"/a?b=1\"}\n        action: allow\n");
  const std::string relative = withRule(
      "methods: [GET]\n        path: {exact: budget}\n        action: allow\n");
  const std::string partial_star = withRule(
      "methods: [GET]\n        path: {pattern: /budget/a*/items}\n        action: allow\n");
  const std::string star_in_prefix = withRule(
      "methods: [GET]\n        path: {prefix: /budget/*}\n        action: allow\n");
  const std::string bad_action = withRule(
      "methods: [GET]\n        path: {exact: /y}\n        action: permit\n");
  const std::string missing_action = withRule("methods: [GET]\n        path: {exact: /y}\n");
  const std::string missing_path = withRule("methods: [GET]\n        action: allow\n");
  const std::string typo = withRule(
      "metods: [GET]\n        path: {exact: /y}\n        action: allow\n");
  const std::string empty_id = withRule(
      "id: \"\"\n        methods: [GET]\n        path: {exact: /y}\n        action: allow\n");

  const ErrorCase cases[] = {
      {"unknown method", unknown_method,
       "policy.yaml:12:24: callers[0].rules[1].methods[1]: unknown method \"GTE\" (expected "
       "one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT, TRACE, or \"*\" alone)"},
      {"methods are case-sensitive", lower_case,
       "policy.yaml:12:13: callers[0].rules[1].methods[0]: unknown method \"get\" (methods are "
       "case-sensitive; did you mean \"GET\"?)"},
      {"star with other methods", star_and_more,
       "policy.yaml:11:19: callers[0].rules[1].methods[0]: \"*\" must be the only method"},
      {"duplicate method", duplicate_method,
       "policy.yaml:11:30: callers[0].rules[1].methods[2]: duplicate method \"GET\""},
      {"methods not a list", methods_scalar,
       "policy.yaml:11:18: callers[0].rules[1].methods: must be a list, e.g. [GET, HEAD] or "
       "[\"*\"]"},
      {"methods empty", methods_empty,
       "policy.yaml:11:18: callers[0].rules[1].methods: must not be empty"},
      {"two path kinds", two_paths,
       "policy.yaml:12:27: callers[0].rules[1].path.prefix: only one of exact, prefix, pattern "
       "may be set"},
      {"dot segment in path", dot_path,
       "policy.yaml:12:24: callers[0].rules[1].path.prefix: must not contain \".\" or \"..\" "
       "segments (request paths are normalised, so it never matches)"},
      {"double slash in path", double_slash,
       "policy.yaml:12:23: callers[0].rules[1].path.exact: must not contain \"//\" (request "
       "paths are normalised, so it never matches)"},
      {"escape in path", escaped,
       "policy.yaml:12:23: callers[0].rules[1].path.exact: must not contain percent-escapes "
       "(write the decoded character)"},
      {"query in path", query,
       "policy.yaml:12:23: callers[0].rules[1].path.exact: must not contain a query or fragment "
       "(\"?\" or \"#\")"},
      {"relative path", relative,
       "policy.yaml:12:23: callers[0].rules[1].path.exact: must start with \"/\""},
      {"star inside a segment", partial_star,
       "policy.yaml:12:25: callers[0].rules[1].path.pattern: \"*\" must be a whole path "
       "segment, e.g. /a/*/b"},
      {"star in prefix", star_in_prefix,
       "policy.yaml:12:24: callers[0].rules[1].path.prefix: \"*\" is only allowed in `pattern` "
       "paths"},
      {"bad action", bad_action,
       "policy.yaml:13:17: callers[0].rules[1].action: must be \"allow\" or \"deny\", not "
       "\"permit\""},
      {"missing action", missing_action,
       "policy.yaml:11:9: callers[0].rules[1].action: required field is missing"},
      {"missing path", missing_path,
       "policy.yaml:11:9: callers[0].rules[1].path: required field is missing"},
      {"misspelt key", typo,
       "policy.yaml:11:9: callers[0].rules[1].metods: unknown key \"metods\" (expected one of "
       "id, methods, path, action, roles, claims)"},
      {"empty rule id", empty_id, "policy.yaml:11:13: callers[0].rules[1].id: must not be empty"},
  };
  for (const ErrorCase& c : cases) expectError(c);
}

TEST(PolicyParserTest, SemanticErrorsFromCompile) {
  const ErrorCase cases[] = {
      {"invalid target", "version: \"1\"\ntarget: http://example.org/x\nallow: []\n",
       "policy.yaml:2:9: target: ..."},
      {"invalid allow id", "version: \"1\"\nallow:\n  - id: spiffe://example.org/a\n"
                           "  - id: spiffe://Example.org/b\n",
       "policy.yaml:4:9: allow[1].id: ..."},
      {"invalid allow pattern", "version: \"1\"\nallow:\n  - pattern: spiffe://example.org/ns/a*\n",
       "policy.yaml:3:14: allow[0].pattern: ..."},
      {"invalid trust domain", "version: \"1\"\nallow:\n  - trust_domain: spiffe://example.org\n",
       "policy.yaml:3:19: allow[0].trust_domain: ..."},
      {"duplicate allow entry",
       "version: \"1\"\nallow:\n  - id: spiffe://example.org/a\n  - trust_domain: example.org\n"
       "  - id: spiffe://example.org/a\n",
       "policy.yaml:5:9: allow[2]: duplicate entry \"spiffe://example.org/a\" (same as allow[0])"},
      {"invalid caller id",
       "version: \"1\"\nallow: []\ncallers:\n  - match: {id: example.org/a}\n"
       "    rules: [{methods: [GET], path: {exact: /}, action: allow}]\n",
       "policy.yaml:4:17: callers[0].match.id: ..."},
      {"duplicate exact caller",
       "version: \"1\"\nallow: []\ncallers:\n"
       "  - match: {id: spiffe://example.org/a}\n"
       "    rules: [{methods: [GET], path: {exact: /}, action: allow}]\n"
       "  - match: {id: spiffe://example.org/a}\n"
       "    rules: [{methods: [GET], path: {exact: /}, action: deny}]\n",
       "policy.yaml:6:17: callers[1].match.id: duplicate caller \"spiffe://example.org/a\" "
       "(already matched by callers[0])"},
      {"duplicate rule id",
       "version: \"1\"\nallow: []\ncallers:\n"
       "  - match: {id: spiffe://example.org/a}\n"
       "    rules: [{id: read, methods: [GET], path: {exact: /}, action: allow}]\n"
       "  - match: {id: spiffe://example.org/b}\n"
       "    rules:\n"
       "      - {id: read, methods: [GET], path: {exact: /}, action: allow}\n",
       "policy.yaml:8:9: callers[1].rules[0].id: duplicate rule id \"read\" (first used by "
       "callers[0].rules[0])"},
      {"rule after catch-all",
       "version: \"1\"\nallow: []\ncallers:\n"
       "  - match: {id: spiffe://example.org/a}\n"
       "    rules:\n"
       "      - id: a-default-deny\n"
       "        methods: [\"*\"]\n"
       "        path: {prefix: /}\n"
       "        action: deny\n"
       "      - id: late\n"
       "        methods: [GET]\n"
       "        path: {exact: /x}\n"
       "        action: allow\n",
       "policy.yaml:10:9: callers[0].rules[1]: unreachable: rule \"a-default-deny\" "
       "(callers[0].rules[0]) before it matches every method and path"},
      {"bad rule id characters",
       "version: \"1\"\nallow: []\ncallers:\n"
       "  - match: {id: spiffe://example.org/a}\n"
       "    rules:\n"
       "      - id: read everything\n"
       "        methods: [GET]\n"
       "        path: {prefix: /}\n"
       "        action: allow\n",
       "policy.yaml:6:9: callers[0].rules[0].id: may contain only letters, digits and - . _ : / "
       "[ ]"},
  };
  for (const ErrorCase& c : cases) expectError(c);
}

TEST(PolicyParserTest, GeneratesRuleIdsAndKeepsMarks) {
  Result<PolicyConfig> config = parsePolicyYaml(kValid, "p.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->callers.size(), 1u);
  const RuleConfig& rule = config->callers[0].rules[0];
  EXPECT_EQ(rule.id, "callers[0].rules[0]");
  EXPECT_EQ(rule.mark.line, 7);
  EXPECT_EQ(rule.mark.column, 9);
  EXPECT_EQ(rule.path.mark.line, 8);
  EXPECT_EQ(config->allow[0].mark.line, 3);
  EXPECT_EQ(config->version, "1");
  EXPECT_EQ(config->source_name, "p.yaml");
}

// compilePolicy() accepts configs that never were YAML (the server builds them); their
// errors have no location but still name the field, and ids are generated when missing.
TEST(PolicyParserTest, CompileValidatesHandBuiltConfigs) {
  PolicyConfig config;
  config.version = "v";
  CallerConfig caller;
  caller.match.id = "spiffe://example.org/a";
  RuleConfig rule;
  rule.methods = {"GET", "get"};
  rule.path = {PathMatchConfig::Kind::kExact, "/x", {}};
  caller.rules.push_back(rule);
  config.callers.push_back(caller);
  Result<std::shared_ptr<const PolicySnapshot>> bad = compilePolicy(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "policy: callers[0].rules[0].methods[1]: unknown method \"get\" (methods are "
            "case-sensitive; did you mean \"GET\"?)");

  config.callers[0].rules[0].methods = {"GET"};
  Result<std::shared_ptr<const PolicySnapshot>> good = compilePolicy(config);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ((*good)->config().callers[0].rules[0].id, "callers[0].rules[0]");

  config.version.clear();
  EXPECT_EQ(compilePolicy(config).error().message, "policy: version: must not be empty");
}

TEST(PolicyParserTest, LoadPolicyFileReportsMissingFile) {
  Result<std::shared_ptr<const PolicySnapshot>> r = loadPolicyFile("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/nonexistent/policy.yaml: cannot open policy file");
}

}  // namespace
}  // namespace warden::policy
