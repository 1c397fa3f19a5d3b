// Layers 4a/4b cost per request: GovernanceSnapshot::evaluate() on a registry of 1000
// agents with tags (a hash lookup, the state/risk checks and one required tag compared),
// for a known caller that passes, one denied by risk, and an unknown caller. Compare with
// BM_Evaluate_* in the same run (policy_eval_bench.cc): governance should cost about
// what one RBAC evaluation does.
#include <benchmark/benchmark.h>

#include <string>

#include "governance/governance.h"

namespace warden::governance {
namespace {

std::shared_ptr<const GovernanceSnapshot> makeSnapshot() {
  GovernanceDocument doc;
  doc.version = "bench";
  doc.target.max_risk = RiskLevel::kMedium;
  doc.target.required_tags = {{"team", "finance"}};
  for (int i = 0; i < 1000; ++i) {
    AgentFacts a;
    a.spiffe_id = "spiffe://example.org/ns/default/sa/agent-" + std::to_string(i);
    a.name = "agent-" + std::to_string(i);
    a.risk = i % 10 == 9 ? RiskLevel::kHigh : RiskLevel::kLow;
    a.tags = {{"team", "finance"}, {"env", "prod"}};
    doc.agents.push_back(std::move(a));
  }
  return compileGovernance(std::move(doc)).value();
}

void run(benchmark::State& state, const std::string& caller) {
  const auto snapshot = makeSnapshot();
  for (auto _ : state) {
    auto d = snapshot->evaluate(caller, std::chrono::seconds(0));
    benchmark::DoNotOptimize(d);
  }
}

void BM_GovernanceEvaluateAllowed(benchmark::State& state) {
  run(state, "spiffe://example.org/ns/default/sa/agent-500");
}
void BM_GovernanceEvaluateRiskTooHigh(benchmark::State& state) {
  run(state, "spiffe://example.org/ns/default/sa/agent-509");
}
void BM_GovernanceEvaluateUnknownCaller(benchmark::State& state) {
  run(state, "spiffe://example.org/ns/default/sa/stranger");
}
BENCHMARK(BM_GovernanceEvaluateAllowed);
BENCHMARK(BM_GovernanceEvaluateRiskTooHigh);
BENCHMARK(BM_GovernanceEvaluateUnknownCaller);

}  // namespace
}  // namespace warden::governance
