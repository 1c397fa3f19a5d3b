// What one sidecar receives from the control plane: its target's developer policy, the
// governance document (its admin block plus every registered agent's state, risk and
// tags), active token revocations, and the store generation they were read at.
//
// The view is JSON (docs/control-plane.md#distribution); the sidecar validates it with
// the same compilers the server used (policy::compilePolicy, governance::compileGovernance)
// and keeps the last good one on disk (fail-static).
// Thread-safety: pure functions over the store (which is thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "controlplane/store.h"
#include "governance/governance.h"

namespace warden::controlplane {

// The governance block a target has when admins never wrote one: governed, medium risk
// at most, unknown callers assumed high risk, no required tags (fail closed by default).
governance::TargetGovernance defaultTargetGovernance();

// The target's governance block (stored, or the default) and every agent's facts.
StoreResult<governance::GovernanceDocument> governanceFor(Store& store, const std::string& target,
                                                          std::uint64_t generation);

// The version label a distributed policy carries in audit events: the document's own
// `version` label (if any) and the store's version number, e.g. "seed-1@v7" or "v7".
std::string distributedPolicyVersion(const std::string& label, std::uint64_t stored_version);

StoreResult<nlohmann::json> buildSidecarView(Store& store, const AgentRecord& agent,
                                             std::int64_t now_unix);

}  // namespace warden::controlplane
