// The first contents of an empty store, from a YAML file (`control_plane.seed`): agents,
// targets' developer policies and admin governance blocks. Every object goes through the
// same validation as the API (agent_api.h, the policy and governance compilers), and is
// recorded in the change log as made by {"seed", "config"}. A store that already holds
// agents is left alone: after the first start, the API is the only way to change it.
//
//   agents:
//     - {name: budget-report, spiffe_id: spiffe://example.org/budget-report, risk: low,
//        tags: {team: finance}, roles: {api://budget-backend: [Budget.Read]}}
//   policies:
//     budget-backend: policies/budget-backend.yaml   # relative to the seed file
//   governance:
//     budget-backend: {max_risk: medium, required_tags: {team: finance}}
// Thread-safety: call once at startup.
#pragma once

#include <string>

#include "common/result.h"
#include "controlplane/store.h"

namespace warden::controlplane {

// Returns how many objects were written (0 when the store was not empty).
Result<std::size_t> seedStore(Store& store, const std::string& seed_path);

}  // namespace warden::controlplane
