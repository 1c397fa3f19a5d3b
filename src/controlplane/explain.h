// "What if": every layer's verdict for a hypothetical request, in the canonical order
// (ARCHITECTURE.md §2), without short-circuiting, so an operator sees each layer that
// would refuse and the rule that decided. The data plane stops at the first denial;
// explain reports the same first denial as `decision` and evaluates the rest anyway.
//
// Layer 3 cannot verify a signature here (explain holds no token): it reports the roles
// and claims the deciding rule requires and, when roles are given, whether they suffice.
// Thread-safety: pure.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "governance/governance.h"
#include "policy/policy.h"

namespace warden::controlplane {

struct ExplainRequest {
  std::string caller;  // SPIFFE ID
  std::string method;
  std::string path;    // as the client would send it; normalised here
  std::optional<std::vector<std::string>> roles;  // the token's roles, if known
};

// `policy` null: the target has no policy (every caller is denied). `governance` null:
// not governed. A caller that is not a SPIFFE ID or a path a sidecar would refuse is a
// `deny` before any layer: dry-run replays recorded requests that may hold either, while
// POST /api/v1/explain refuses both as bad input first (api_routes_explain.cc).
nlohmann::json explainRequest(const policy::PolicySnapshot* policy,
                              const governance::GovernanceSnapshot* governance,
                              const ExplainRequest& request);

}  // namespace warden::controlplane
