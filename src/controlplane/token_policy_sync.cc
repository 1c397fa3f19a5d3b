#include "controlplane/token_policy_sync.h"

namespace warden::controlplane {

tokenservice::TokenPolicyConfig tokenPolicyFromRegistry(tokenservice::TokenPolicyConfig base,
                                                        const std::vector<AgentRecord>& agents) {
  base.agents.clear();
  for (const auto& a : agents) {
    tokenservice::AgentConfig c;
    c.name = a.name;
    c.spiffe_id = a.spiffe_id;
    c.client_id = a.client_id;
    c.state = a.state;
    c.risk = a.risk;
    c.roles = a.roles;
    for (const auto& f : a.federated_credentials) {
      tokenservice::FederatedCredentialConfig fc;
      fc.name = f.name;
      fc.issuer = f.issuer;
      fc.subject = f.subject;
      fc.subject_pattern = f.subject_pattern;
      if (!f.audience.empty()) fc.audience = f.audience;
      c.federated_credentials.push_back(std::move(fc));
    }
    base.agents.push_back(std::move(c));
  }
  return base;
}

}  // namespace warden::controlplane
