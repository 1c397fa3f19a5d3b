// Layer 2 evaluation cost: PolicySnapshot::evaluate() on a compiled policy of 10 callers
// with 10 rules each (the last one a catch-all deny), for a hit on the first rule, a hit on
// the last specific rule, the catch-all, a pattern caller, and an unknown caller. Also
// layer 1 (allowsPeer) and compilation itself, which runs on every policy reload.
//
// evaluate() is documented as allocation-free; these numbers are what every request pays
// on the worker thread after the path is normalised.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "identity/spiffe_id.h"
#include "policy/decision.h"
#include "policy/policy.h"
#include "policy/policy_config.h"

namespace warden::policy {
namespace {

constexpr int kCallers = 10;
constexpr int kRulesPerCaller = 10;  // 9 specific rules + 1 catch-all deny

// Strings are built with append() rather than chains of operator+: GCC 12 at -O3 reports a
// false -Wrestrict on `literal + std::to_string(...)` chains (GCC PR 105651).
std::string join(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s;
  s.reserve(a.size() + b.size() + c.size());
  s.append(a).append(b).append(c);
  return s;
}

std::string callerId(int c) {
  return join("spiffe://example.org/ns/default/sa/caller-", std::to_string(c));
}

// 10 exact callers, plus one pattern caller (ns/*/sa/batch) so the non-exact path is
// exercised too. Rule r of caller c: GET|HEAD exact /svc/c<c>/r<r> allow (odd r: POST
// prefix, deny), then a catch-all deny.
PolicyConfig makeConfig() {
  PolicyConfig config;
  config.version = "bench";
  config.source_name = "bench";
  auto addCaller = [&](PeerMatcherConfig match, const std::string& tag) {
    config.allow.push_back(match);
    CallerConfig caller;
    caller.match = std::move(match);
    for (int r = 0; r < kRulesPerCaller - 1; ++r) {
      RuleConfig rule;
      const std::string index = std::to_string(r);
      rule.id = join(tag, "-r", index);
      const std::string path = join(join("/svc/", tag, "/r"), index);
      if (r % 2 == 0) {
        rule.methods = {"GET", "HEAD"};
        rule.path = {PathMatchConfig::Kind::kExact, path, {}};
        rule.action = RuleAction::kAllow;
      } else {
        rule.methods = {"POST"};
        rule.path = {PathMatchConfig::Kind::kPrefix, path, {}};
        rule.action = RuleAction::kDeny;
      }
      caller.rules.push_back(std::move(rule));
    }
    RuleConfig deny_all;
    deny_all.id = join(tag, "-default-deny");
    deny_all.methods = {"*"};
    deny_all.path = {PathMatchConfig::Kind::kPrefix, "/", {}};
    deny_all.action = RuleAction::kDeny;
    caller.rules.push_back(std::move(deny_all));
    config.callers.push_back(std::move(caller));
  };
  for (int c = 0; c < kCallers; ++c) {
    PeerMatcherConfig m;
    m.id = callerId(c);
    addCaller(std::move(m), join("c", std::to_string(c)));
  }
  PeerMatcherConfig pattern;
  pattern.pattern = "spiffe://example.org/ns/*/sa/batch";
  addCaller(std::move(pattern), "batch");
  return config;
}

std::shared_ptr<const PolicySnapshot> compiled() {
  static const std::shared_ptr<const PolicySnapshot> snapshot = [] {
    Result<std::shared_ptr<const PolicySnapshot>> r = compilePolicy(makeConfig());
    if (!r.ok()) {
      std::cerr << "bench policy does not compile: " << r.error().message << "\n";
      std::abort();
    }
    return r.value();
  }();
  return snapshot;
}

identity::SpiffeId id(const std::string& text) {
  Result<identity::SpiffeId> r = identity::SpiffeId::parse(text);
  if (!r.ok()) {
    std::cerr << text << ": " << r.error().message << "\n";
    std::abort();
  }
  return r.value();
}

// Guards against benchmarking the wrong branch: the decision must be the expected one.
void expect(benchmark::State& state, const Decision& d, bool allowed, std::string_view rule) {
  if (d.allowed != allowed || d.rule_id != rule) {
    state.SkipWithError("unexpected decision");
  }
}

void runEvaluate(benchmark::State& state, const std::string& caller_text, Method method,
                 std::string_view path, bool allowed, std::string_view rule) {
  const auto policy = compiled();
  const identity::SpiffeId caller = id(caller_text);
  expect(state, policy->evaluate(caller, method, path), allowed, rule);
  for (auto _ : state) {
    Decision d = policy->evaluate(caller, method, path);
    benchmark::DoNotOptimize(d);
  }
}

void BM_Evaluate_FirstRule(benchmark::State& state) {
  runEvaluate(state, callerId(5), Method::kGet, "/svc/c5/r0", true, "c5-r0");
}
BENCHMARK(BM_Evaluate_FirstRule);

void BM_Evaluate_LastSpecificRule(benchmark::State& state) {
  runEvaluate(state, callerId(9), Method::kGet, "/svc/c9/r8", true, "c9-r8");
}
BENCHMARK(BM_Evaluate_LastSpecificRule);

void BM_Evaluate_CatchAllDeny(benchmark::State& state) {
  runEvaluate(state, callerId(9), Method::kDelete, "/svc/c9/r8/deeper/path", false,
              "c9-default-deny");
}
BENCHMARK(BM_Evaluate_CatchAllDeny);

void BM_Evaluate_PatternCaller(benchmark::State& state) {
  runEvaluate(state, "spiffe://example.org/ns/prod/sa/batch", Method::kGet, "/svc/batch/r8", true,
              "batch-r8");
}
BENCHMARK(BM_Evaluate_PatternCaller);

void BM_Evaluate_UnknownCaller(benchmark::State& state) {
  runEvaluate(state, "spiffe://example.org/ns/default/sa/mallory", Method::kGet, "/svc/c0/r0",
              false, "");
}
BENCHMARK(BM_Evaluate_UnknownCaller);

void BM_AllowsPeer_Last(benchmark::State& state) {
  const auto policy = compiled();
  const identity::SpiffeId peer = id("spiffe://example.org/ns/prod/sa/batch");
  if (!policy->allowsPeer(peer))
    state.SkipWithError("peer should be allowed");
  for (auto _ : state) {
    bool ok = policy->allowsPeer(peer);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_AllowsPeer_Last);

void BM_AllowsPeer_Unknown(benchmark::State& state) {
  const auto policy = compiled();
  const identity::SpiffeId peer = id("spiffe://example.org/ns/default/sa/mallory");
  if (policy->allowsPeer(peer))
    state.SkipWithError("peer should be refused");
  for (auto _ : state) {
    bool ok = policy->allowsPeer(peer);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_AllowsPeer_Unknown);

// Validation + compilation of the whole 11 x 10 policy (a reload), without YAML parsing.
void BM_CompilePolicy(benchmark::State& state) {
  const PolicyConfig config = makeConfig();
  for (auto _ : state) {
    Result<std::shared_ptr<const PolicySnapshot>> r = compilePolicy(config);
    if (!r.ok())
      state.SkipWithError("compile failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CompilePolicy);

}  // namespace
}  // namespace warden::policy
