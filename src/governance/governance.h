// Layers 4a (risk/state) and 4b (tags): parse -> validate -> compile -> evaluate.
//
// A governance document is what one sidecar needs to govern its target's callers: the
// target's admin governance block and the facts (state, risk, tags) of every agent the
// registry knows. It is YAML (standalone mode: `ingress.governance_path`) or the JSON the
// control plane distributes (JSON is YAML), with one schema, described in
// docs/governance.md. compileGovernance() builds an immutable snapshot indexed by SPIFFE
// ID; evaluate() is the data plane's check, in the canonical order of ARCHITECTURE.md §2:
//   disabled -> agent_disabled; quarantined -> agent_quarantined;
//   governance data older than max_staleness -> risk_unknown;
//   unknown caller whose assumed risk exceeds max_risk -> risk_unknown;
//   risk above max_risk -> risk_too_high;          (all layer "risk", 403)
//   a required tag missing or different -> tag_mismatch (layer "tags", 403).
// Unknown callers are governed too: they have no tags, and their risk is the target's
// `unknown_caller_risk` (default high).
//
// Trust posture: documents come from operators or from the authenticated control plane;
// they are validated strictly (unknown keys, bad SPIFFE IDs, bad levels are errors).
// Thread-safety: GovernanceSnapshot is immutable; evaluate() is const, lock-free and
// allocation-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "governance/agent_facts.h"
#include "policy/decision.h"

namespace warden::governance {

namespace reason {
inline constexpr std::string_view kAgentDisabled = "agent_disabled";
inline constexpr std::string_view kAgentQuarantined = "agent_quarantined";
inline constexpr std::string_view kRiskTooHigh = "risk_too_high";
inline constexpr std::string_view kRiskUnknown = "risk_unknown";
inline constexpr std::string_view kTagMismatch = "tag_mismatch";
}  // namespace reason

// The admin governance block of one target.
struct TargetGovernance {
  bool enabled = true;
  RiskLevel max_risk = RiskLevel::kMedium;
  Tags required_tags;  // every one must be present on the caller with an equal value
  // Older governance data fails closed with risk_unknown; zero: never stale.
  std::chrono::seconds max_staleness{0};
  RiskLevel unknown_caller_risk = RiskLevel::kHigh;
};

struct GovernanceDocument {
  std::string version;  // label of the control-plane view (echoed in audit)
  TargetGovernance target;
  std::vector<AgentFacts> agents;
};

Result<GovernanceDocument> parseGovernanceYaml(std::string_view text, std::string_view source_name);
// One target's admin governance block alone (the `target:` mapping's content): what the
// control plane stores per target and admins edit.
Result<TargetGovernance> parseTargetGovernanceYaml(std::string_view text, std::string_view source_name);
std::string targetGovernanceToYaml(const TargetGovernance& target);
// Semantic checks (duplicate or malformed SPIFFE IDs, tag syntax); messages name the
// field path ("agents[2].spiffe_id: ...").
Status validateGovernance(const GovernanceDocument& document);
// The document as JSON, in the schema parseGovernanceYaml() reads.
std::string governanceToJson(const GovernanceDocument& document);

class GovernanceSnapshot {
 public:
  const std::string& version() const { return document_.version; }
  const GovernanceDocument& document() const { return document_; }
  const TargetGovernance& target() const { return document_.target; }
  const AgentFacts* find(std::string_view spiffe_id) const;
  // A quarantined caller of a governed target is isolated from the network: the ingress
  // refuses its new handshakes (its open connections get agent_quarantined per request).
  bool isolated(std::string_view spiffe_id) const;

  // `data_age` is how old the data is (now minus the last successful sync).
  policy::Decision evaluate(std::string_view caller_id, std::chrono::seconds data_age) const;

 private:
  friend Result<std::shared_ptr<const GovernanceSnapshot>> compileGovernance(GovernanceDocument);
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  GovernanceDocument document_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> by_id_;
};

Result<std::shared_ptr<const GovernanceSnapshot>> compileGovernance(GovernanceDocument document);
Result<std::shared_ptr<const GovernanceSnapshot>> loadGovernanceFile(const std::string& path);

}  // namespace warden::governance
