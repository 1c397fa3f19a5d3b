// Fuzz target: policy::parsePolicyYaml + compilePolicy on arbitrary text, and a
// differential check of the compiled snapshot against a deliberately naive interpreter.
//
// Input layout (text, so seeds are readable and editable):
//
//     <policy YAML>
//     #-- requests
//     <caller SPIFFE ID> <method> <request target>
//     ...
//
// Everything before the first "\n#-- requests\n" line is the policy (the whole input when
// there is none); it is a YAML comment, so a seed file is itself a valid policy file. Each
// request line is split on spaces; the target goes through normalizeRequestTarget() first,
// as on the data plane.
//
// Checked, beyond "does not crash":
//   - parse and compile never throw (an escaping exception fails the run); every error is
//     a non-empty message in the "<source>[:line:col]: ..." shape;
//   - a parsed config only holds methods and paths that pass the shared validators;
//   - when the policy compiles, evaluate() and allowsPeer() agree with the naive
//     interpreter below (verdict, reason, rule id, status) on the request lines and on
//     requests derived from the policy itself (each caller matcher instantiated, each rule
//     path and its near misses: parent, child, sibling with a suffix, trailing "/").
//
// The interpreter shares no matching code with src/policy: it walks PolicyConfig with
// string splitting, exactly as docs/policy.md ("Evaluation") reads.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "fuzz_check.h"
#include "identity/spiffe_id.h"
#include "policy/policy.h"
#include "policy/request_path.h"

namespace {

using warden::policy::CallerConfig;
using warden::policy::PathMatchConfig;
using warden::policy::PeerMatcherConfig;
using warden::policy::PolicyConfig;
using warden::policy::RuleAction;
using warden::policy::RuleConfig;

constexpr std::string_view kSeparator = "\n#-- requests\n";
constexpr std::string_view kSource = "fuzz.yaml";

// Bounds on the derived requests, to keep one execution in the millisecond range.
constexpr std::size_t kMaxCallers = 8;
constexpr std::size_t kMaxPaths = 16;
constexpr std::size_t kMaxMethods = 4;
constexpr std::size_t kMaxRequestLines = 32;

// ---- the naive interpreter ------------------------------------------------------------------

std::vector<std::string> split(std::string_view text, char sep) {
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

// "*" is any one non-empty part; the part counts must be equal. Used for ID patterns (the
// trust domain and "spiffe:" parts compare literally) and for path patterns alike.
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

std::string naiveTrustDomain(const std::string& id) {
  return split(id.substr(std::string_view("spiffe://").size()), '/')[0];
}

bool naivePeerMatches(const PeerMatcherConfig& m, const std::string& id) {
  if (!m.id.empty()) return m.id == id;
  if (!m.pattern.empty()) return naivePatternMatches(m.pattern, id);
  return naiveTrustDomain(id) == m.trust_domain;
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

// docs/policy.md "Evaluation": an `id` entry equal to the caller; else the first `pattern`
// entry in file order that matches; else the first `trust_domain` entry that matches. Then
// the first rule whose methods contain the method ("*" = all) and whose path matches.
//
// A `pattern` entry keeps its place among the patterns even without any `*`
// (docs/policy.md: the entry kind the operator wrote decides the tier).
bool actsAsExact(const PeerMatcherConfig& m) { return !m.id.empty(); }

NaiveVerdict naiveEvaluate(const PolicyConfig& config, const std::string& caller,
                           const std::string& method, const std::string& path) {
  const CallerConfig* chosen = nullptr;
  for (const CallerConfig& c : config.callers) {
    if (actsAsExact(c.match) && naivePeerMatches(c.match, caller)) chosen = &c;
  }
  for (const CallerConfig& c : config.callers) {
    if (chosen != nullptr) break;
    if (!c.match.pattern.empty() && !actsAsExact(c.match) &&
        naivePatternMatches(c.match.pattern, caller)) {
      chosen = &c;
    }
  }
  for (const CallerConfig& c : config.callers) {
    if (chosen != nullptr) break;
    if (!c.match.trust_domain.empty() && naiveTrustDomain(caller) == c.match.trust_domain) {
      chosen = &c;
    }
  }
  if (chosen == nullptr) return {false, "no_caller_policy", ""};
  for (std::size_t j = 0; j < chosen->rules.size(); ++j) {
    const RuleConfig& rule = chosen->rules[j];
    bool method_ok = false;
    for (const std::string& m : rule.methods) method_ok = method_ok || m == "*" || m == method;
    if (!method_ok || !naivePathMatches(rule.path, path)) continue;
    if (rule.action == RuleAction::kAllow) return {true, "allowed", rule.id};
    return {false, "rule_denied", rule.id};
  }
  return {false, "no_matching_rule", ""};
}

bool naiveAllowsPeer(const PolicyConfig& config, const std::string& peer) {
  return std::any_of(config.allow.begin(), config.allow.end(),
                     [&peer](const PeerMatcherConfig& m) { return naivePeerMatches(m, peer); });
}

// ---- requests ----------------------------------------------------------------------------

void addUnique(std::vector<std::string>& list, std::string value, std::size_t cap) {
  if (list.size() >= cap) return;
  if (std::find(list.begin(), list.end(), value) != list.end()) return;
  list.push_back(std::move(value));
}

std::string replaceStars(const std::string& text, std::string_view with) {
  std::string out;
  bool first = true;
  for (const std::string& part : split(text, '/')) {
    if (!first) out.push_back('/');
    first = false;
    out.append(part == "*" ? std::string(with) : part);
  }
  return out;
}

// Callers that hit each entry, and its near misses (one segment more, another domain).
void deriveCallers(const PolicyConfig& config, std::vector<std::string>& out) {
  const auto add = [&out](const PeerMatcherConfig& m) {
    if (!m.id.empty()) {
      addUnique(out, m.id, kMaxCallers);
      addUnique(out, m.id + "/x", kMaxCallers);
    } else if (!m.pattern.empty()) {
      addUnique(out, replaceStars(m.pattern, "x"), kMaxCallers);
      addUnique(out, replaceStars(m.pattern, "x") + "/x", kMaxCallers);
    } else {
      addUnique(out, "spiffe://" + m.trust_domain + "/x", kMaxCallers);
    }
  };
  for (const CallerConfig& c : config.callers) add(c.match);
  for (const PeerMatcherConfig& m : config.allow) add(m);
  addUnique(out, "spiffe://fuzz.invalid/nobody", kMaxCallers);
}

// Each rule's path and the paths right around it.
void derivePaths(const PolicyConfig& config, std::vector<std::string>& out) {
  for (const CallerConfig& c : config.callers) {
    for (const RuleConfig& r : c.rules) {
      const std::string v = replaceStars(r.path.value, "x");
      addUnique(out, v, kMaxPaths);
      addUnique(out, v.back() == '/' ? v + "x" : v + "/", kMaxPaths);
      addUnique(out, v + "x", kMaxPaths);
      addUnique(out, v.substr(0, std::max<std::size_t>(1, v.rfind('/'))), kMaxPaths);
    }
  }
  addUnique(out, "/", kMaxPaths);
}

void deriveMethods(const PolicyConfig& config, std::vector<std::string>& out) {
  for (const CallerConfig& c : config.callers) {
    for (const RuleConfig& r : c.rules) {
      for (const std::string& m : r.methods) {
        if (m != "*") addUnique(out, m, kMaxMethods - 2);
      }
    }
  }
  // Always an extension method and a lower-case one: both only match "*".
  addUnique(out, "PROPFIND", kMaxMethods);
  addUnique(out, "get", kMaxMethods);
}

// ---- the comparison ------------------------------------------------------------------------

void compareOne(const warden::policy::PolicySnapshot& snapshot, const PolicyConfig& config,
                const std::string& caller, const std::string& method, const std::string& path) {
  const warden::Result<warden::identity::SpiffeId> id =
      warden::identity::SpiffeId::parse(caller);
  if (!id.ok()) return;  // evaluate() only ever sees verified, parsed IDs
  const warden::policy::Decision got =
      snapshot.evaluate(id.value(), warden::policy::parseMethod(method), path);
  const NaiveVerdict want = naiveEvaluate(config, caller, method, path);
  const std::string request = caller + " " + method + " " + path;
  FUZZ_CHECK(got.allowed == want.allowed, "allowed differs: " + request);
  FUZZ_CHECK(got.reason == want.reason,
             request + ": compiled " + std::string(got.reason) + ", naive " + want.reason);
  FUZZ_CHECK(got.rule_id == want.rule,
             request + ": compiled rule " + std::string(got.rule_id) + ", naive " + want.rule);
  FUZZ_CHECK(got.layer == warden::policy::Layer::kRbac, request);
  FUZZ_CHECK(got.status == (got.allowed ? 0 : 403), request);
}

void differential(const warden::policy::PolicySnapshot& snapshot, const PolicyConfig& config,
                  std::string_view request_text) {
  std::vector<std::string> callers;
  std::vector<std::string> paths;
  std::vector<std::string> methods;
  deriveCallers(config, callers);
  derivePaths(config, paths);
  deriveMethods(config, methods);

  for (const std::string& caller : callers) {
    const warden::Result<warden::identity::SpiffeId> id =
        warden::identity::SpiffeId::parse(caller);
    if (!id.ok()) continue;
    FUZZ_CHECK(snapshot.allowsPeer(id.value()) == naiveAllowsPeer(config, caller),
               "allowsPeer differs for " + caller);
    for (const std::string& method : methods) {
      for (const std::string& path : paths) compareOne(snapshot, config, caller, method, path);
    }
  }

  // Explicit request lines: the caller and method as written, the target normalised.
  const std::vector<std::string> lines = split(request_text, '\n');
  for (std::size_t i = 0; i < lines.size() && i < kMaxRequestLines; ++i) {
    const std::vector<std::string> words = split(lines[i], ' ');
    if (words.size() != 3) continue;
    const warden::Result<warden::policy::NormalizedTarget> target =
        warden::policy::normalizeRequestTarget(words[2]);
    if (!target.ok()) continue;
    const warden::Result<warden::identity::SpiffeId> id =
        warden::identity::SpiffeId::parse(words[0]);
    if (id.ok()) {
      FUZZ_CHECK(snapshot.allowsPeer(id.value()) == naiveAllowsPeer(config, words[0]),
                 "allowsPeer differs for " + words[0]);
    }
    compareOne(snapshot, config, words[0], words[1], target->path);
    // The same request from every derived caller, and every derived method.
    for (const std::string& caller : callers) {
      compareOne(snapshot, config, caller, words[1], target->path);
    }
    for (const std::string& method : methods) {
      compareOne(snapshot, config, words[0], method, target->path);
    }
  }
}

void checkErrorShape(const warden::Error& error) {
  FUZZ_CHECK(!error.message.empty(), "empty error message");
  FUZZ_CHECK(error.message.rfind(kSource, 0) == 0, "error does not name the source: " +
                                                       error.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find(kSeparator);
  const std::string_view policy_text = input.substr(0, cut);
  const std::string_view request_text =
      cut == std::string_view::npos ? std::string_view{} : input.substr(cut + kSeparator.size());


  warden::Result<PolicyConfig> parsed = warden::policy::parsePolicyYaml(policy_text, kSource);
  if (!parsed.ok()) {
    checkErrorShape(parsed.error());
    return 0;
  }
  const PolicyConfig& config = parsed.value();
  FUZZ_CHECK(!config.version.empty(), "parsed policy without version");
  for (const CallerConfig& c : config.callers) {
    FUZZ_CHECK(!c.rules.empty(), "parsed caller without rules");
    for (const RuleConfig& r : c.rules) {
      FUZZ_CHECK(!r.id.empty() && !r.methods.empty(), "parsed rule without id or methods");
      for (const std::string& m : r.methods) {
        FUZZ_CHECK(warden::policy::validateMethodToken(m).ok(), "parsed bad method " + m);
      }
      FUZZ_CHECK(warden::policy::validatePathMatch(r.path.kind, r.path.value).ok(),
                 "parsed bad path " + r.path.value);
    }
  }

  warden::Result<std::shared_ptr<const warden::policy::PolicySnapshot>> compiled =
      warden::policy::compilePolicy(config);  // a copy: `config` stays for the interpreter
  if (!compiled.ok()) {
    checkErrorShape(compiled.error());
    return 0;
  }
  FUZZ_CHECK(compiled.value() != nullptr, "null snapshot");
  FUZZ_CHECK(compiled.value()->version() == config.version, "version not kept");
  differential(*compiled.value(), config, request_text);
  return 0;
}
