// The token service's agents come from the registry when the control plane runs: state,
// risk, roles and federated credentials an admin changes in the store apply to the next
// token request (token-time governance, ARCHITECTURE.md §2 "4a at the STS").
// Audiences, external issuers, TTLs and the service-wide maximum risk stay in the config.
// Thread-safety: pure function.
#pragma once

#include <vector>

#include "controlplane/agent_record.h"
#include "tokenservice/config.h"

namespace warden::controlplane {

tokenservice::TokenPolicyConfig tokenPolicyFromRegistry(tokenservice::TokenPolicyConfig base,
                                                        const std::vector<AgentRecord>& agents);

}  // namespace warden::controlplane
