// Differential test: compiled evaluate() against a deliberately naive interpreter that
// walks the PolicyConfig with plain loops and string splitting. The two share no matching
// code, so a disagreement points at a bug in one of them. Inputs are generated from a fixed
// seed with a hand-rolled generator, so every run (and every platform) sees the same cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "identity/spiffe_id.h"
#include "policy/policy.h"

namespace warden::policy {
namespace {

// ---- the naive interpreter ----------------------------------------------------------------

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string current;
  for (const char c : text) {
    if (c == sep) {
      out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  out.push_back(current);
  return out;
}

// Splits "spiffe://td/a/b" into {"td", "a", "b"}.
std::vector<std::string> idParts(const std::string& id) {
  return split(id.substr(std::string("spiffe://").size()), '/');
}

bool naivePatternMatches(const std::string& pattern, const std::string& text) {
  const std::vector<std::string> want = split(pattern, '/');
  const std::vector<std::string> got = split(text, '/');
  if (want.size() != got.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "*") {
      if (got[i].empty()) return false;
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return true;
}

bool naivePathMatches(const PathMatchConfig& m, const std::string& path) {
  switch (m.kind) {
    case PathMatchConfig::Kind::kExact:
      return path == m.value;
    case PathMatchConfig::Kind::kPrefix: {
      if (path == m.value) return true;
      const std::string dir = m.value.back() == '/' ? m.value : m.value + "/";
      return path.rfind(dir, 0) == 0;
    }
    case PathMatchConfig::Kind::kPattern:
      return naivePatternMatches(m.value, path);
  }
  return false;
}

struct NaiveVerdict {
  bool allowed = false;
  std::string reason;
  std::string rule;
};

NaiveVerdict naiveEvaluate(const PolicyConfig& config, const std::string& caller,
                           const std::string& method, const std::string& path) {
  const CallerConfig* chosen = nullptr;
  for (const CallerConfig& c : config.callers) {
    if (!c.match.id.empty() && c.match.id == caller) chosen = &c;
  }
  if (chosen == nullptr) {
    for (const CallerConfig& c : config.callers) {
      if (!c.match.pattern.empty() && naivePatternMatches(c.match.pattern, caller)) {
        chosen = &c;
        break;
      }
    }
  }
  if (chosen == nullptr) {
    for (const CallerConfig& c : config.callers) {
      if (!c.match.trust_domain.empty() && idParts(caller)[0] == c.match.trust_domain) {
        chosen = &c;
        break;
      }
    }
  }
  if (chosen == nullptr) return {false, "no_caller_policy", ""};
  for (const RuleConfig& rule : chosen->rules) {
    bool method_ok = false;
    for (const std::string& m : rule.methods) method_ok = method_ok || m == "*" || m == method;
    if (!method_ok || !naivePathMatches(rule.path, path)) continue;
    if (rule.action == RuleAction::kAllow) return {true, "allowed", rule.id};
    return {false, "rule_denied", rule.id};
  }
  return {false, "no_matching_rule", ""};
}

// ---- deterministic generation -------------------------------------------------------------

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::uint64_t state_;
};

const std::vector<std::string> kTrustDomains = {"example.org", "other.org"};
const std::vector<std::string> kIdSegments = {"ns", "prod", "sa", "report", "x"};
const std::vector<std::string> kPathSegments = {"budget", "read", "items", "budgetx", "a"};
const std::vector<std::string> kStdMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                              "PATCH",   "OPTIONS", "CONNECT", "TRACE"};

std::string randomId(Gen& g) {
  std::string id = "spiffe://" + g.pick(kTrustDomains);
  const std::size_t n = 1 + g.below(3);
  for (std::size_t i = 0; i < n; ++i) id += "/" + g.pick(kIdSegments);
  return id;
}

std::string randomIdPattern(Gen& g) {
  std::string id = "spiffe://" + g.pick(kTrustDomains);
  const std::size_t n = 1 + g.below(3);
  const std::size_t star = g.below(n);  // at least one `*`, so it stays a pattern
  for (std::size_t i = 0; i < n; ++i) {
    id += "/" + ((i == star || g.below(4) == 0) ? std::string("*") : g.pick(kIdSegments));
  }
  return id;
}

std::string randomPath(Gen& g, bool allow_star) {
  std::string path;
  const std::size_t n = g.below(4);
  for (std::size_t i = 0; i < n; ++i) {
    path += "/" + ((allow_star && g.below(3) == 0) ? std::string("*") : g.pick(kPathSegments));
  }
  if (path.empty() || g.below(4) == 0) path += "/";
  return path;
}

PolicyConfig randomPolicy(Gen& g, int index) {
  PolicyConfig config;
  config.version = "gen-" + std::to_string(index);
  config.source_name = "generated";
  std::set<std::pair<int, std::string>> seen;  // (kind, text): duplicates are config errors
  const std::size_t callers = 3 + g.below(6);
  for (std::size_t i = 0; i < callers; ++i) {
    CallerConfig caller;
    const std::size_t kind = g.below(3);
    std::string text = kind == 0 ? randomId(g) : kind == 1 ? randomIdPattern(g)
                                                           : g.pick(kTrustDomains);
    if (!seen.emplace(static_cast<int>(kind), text).second) continue;
    (kind == 0 ? caller.match.id : kind == 1 ? caller.match.pattern : caller.match.trust_domain) =
        text;
    const std::size_t rules = 1 + g.below(6);
    for (std::size_t j = 0; j < rules; ++j) {
      RuleConfig rule;
      rule.id = "c" + std::to_string(i) + "r" + std::to_string(j);
      if (g.below(5) == 0) {
        rule.methods = {"*"};
      } else {
        std::set<std::string> methods;
        const std::size_t m = 1 + g.below(3);
        for (std::size_t k = 0; k < m; ++k) methods.insert(g.pick(kStdMethods));
        rule.methods.assign(methods.begin(), methods.end());
      }
      const std::size_t path_kind = g.below(3);
      rule.path.kind = path_kind == 0   ? PathMatchConfig::Kind::kExact
                       : path_kind == 1 ? PathMatchConfig::Kind::kPrefix
                                        : PathMatchConfig::Kind::kPattern;
      rule.path.value = randomPath(g, rule.path.kind == PathMatchConfig::Kind::kPattern);
      rule.action = g.below(2) == 0 ? RuleAction::kAllow : RuleAction::kDeny;
      const bool catch_all = rule.methods == std::vector<std::string>{"*"} &&
                             rule.path.kind == PathMatchConfig::Kind::kPrefix &&
                             rule.path.value == "/";
      caller.rules.push_back(std::move(rule));
      if (catch_all) break;  // anything after it would be (rightly) rejected as unreachable
    }
    config.callers.push_back(std::move(caller));
  }
  return config;
}

TEST(PolicyDifferentialTest, CompiledAgreesWithNaiveInterpreter) {
  Gen g(20261124);
  const std::vector<std::string> methods = {"GET",   "HEAD",    "POST",    "PUT",
                                            "DELETE", "PATCH",  "OPTIONS", "CONNECT",
                                            "TRACE", "PROPFIND", "get"};
  int compared = 0;
  int allowed = 0;
  for (int p = 0; p < 8; ++p) {
    const PolicyConfig config = randomPolicy(g, p);
    Result<std::shared_ptr<const PolicySnapshot>> compiled = compilePolicy(config);
    ASSERT_TRUE(compiled.ok()) << compiled.error().message;
    for (int r = 0; r < 600; ++r) {
      const std::string caller = randomId(g);
      const std::string& method = g.pick(methods);
      const std::string path = randomPath(g, false);
      const NaiveVerdict want = naiveEvaluate(config, caller, method, path);
      const Decision got = (*compiled)->evaluate(identity::SpiffeId::parse(caller).value(),
                                                 parseMethod(method), path);
      ASSERT_EQ(got.allowed, want.allowed) << "policy " << p << ": " << caller << " " << method
                                           << " " << path;
      ASSERT_EQ(got.reason, want.reason) << "policy " << p << ": " << caller << " " << method
                                         << " " << path;
      ASSERT_EQ(got.rule_id, want.rule) << "policy " << p << ": " << caller << " " << method
                                        << " " << path;
      ++compared;
      allowed += got.allowed ? 1 : 0;
    }
  }
  EXPECT_EQ(compared, 4800);
  // Guard against a generator that only ever exercises one branch.
  EXPECT_GT(allowed, 200);
  EXPECT_LT(allowed, compared - 200);
}

}  // namespace
}  // namespace warden::policy
