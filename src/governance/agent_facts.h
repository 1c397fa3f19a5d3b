// What governance knows about an agent (layers 4a and 4b): state, risk and tags.
//
// The same vocabulary is used by the control plane's registry, the distribution view the
// sidecars receive, the sidecar's evaluation and the token service's issuance checks.
// Tag keys are case-insensitive (stored lower-case); tag values are compared ignoring
// ASCII case, as the prototype's EqualFold did, so `Finance` and `finance` are one tag
// (docs/governance.md). Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace warden::governance {

enum class AgentState : std::uint8_t { kEnabled, kDisabled, kQuarantined };
enum class RiskLevel : std::uint8_t { kNone, kLow, kMedium, kHigh };  // ordered: higher is riskier

std::string_view agentStateName(AgentState state);  // "enabled", "disabled", "quarantined"
std::optional<AgentState> agentStateFromName(std::string_view name);
std::string_view riskLevelName(RiskLevel risk);  // "none", "low", "medium", "high"
std::optional<RiskLevel> riskLevelFromName(std::string_view name);

// Tag keys: 1-63 chars of [a-z0-9._-] after lower-casing (like Kubernetes label names);
// values: 0-255 printable ASCII characters without control characters.
bool validTagKey(std::string_view key);
bool validTagValue(std::string_view value);
std::string normalizeTagKey(std::string_view key);  // ASCII lower-case
bool tagValuesEqual(std::string_view a, std::string_view b);  // ASCII case-insensitive

using Tags = std::map<std::string, std::string>;  // normalised key -> value

struct AgentFacts {
  std::string spiffe_id;
  std::string name;
  AgentState state = AgentState::kEnabled;
  RiskLevel risk = RiskLevel::kNone;
  std::string risk_source;          // "admin", "ssf:<issuer>", "config", ...
  std::int64_t risk_updated_unix = 0;  // when the risk level was last set (0: unknown)
  Tags tags;
};

}  // namespace warden::governance
