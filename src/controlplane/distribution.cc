#include "controlplane/distribution.h"

#include "controlplane/etag.h"
#include "policy/policy.h"

namespace warden::controlplane {

governance::TargetGovernance defaultTargetGovernance() { return governance::TargetGovernance{}; }

StoreResult<governance::GovernanceDocument> governanceFor(Store& store, const std::string& target,
                                                          std::uint64_t generation) {
  governance::GovernanceDocument doc;
  doc.version = "g" + std::to_string(generation);
  doc.target = defaultTargetGovernance();
  auto block = store.getDocument(kGovernanceDocument, target);
  if (block) {
    auto parsed = governance::parseTargetGovernanceYaml(block->content, "governance/" + target);
    // Stored blocks were validated on the way in; a failure here means a newer server
    // wrote something this one cannot read: fail closed with the default.
    if (parsed) doc.target = std::move(*parsed);
  } else if (block.error().kind != StoreErrorKind::kNotFound) {
    return block.error();
  }
  auto agents = store.listAgents();
  if (!agents) return agents.error();
  for (const auto& a : *agents) {
    if (a.spiffe_id.empty()) continue;
    governance::AgentFacts f;
    f.spiffe_id = a.spiffe_id;
    f.name = a.name;
    f.state = a.state;
    f.risk = a.risk;
    f.risk_source = a.risk_source;
    f.risk_updated_unix = a.risk_updated_unix;
    f.tags = a.tags;
    doc.agents.push_back(std::move(f));
  }
  return doc;
}

std::string distributedPolicyVersion(const std::string& label, std::uint64_t stored_version) {
  return policy::distributedVersionLabel(label, stored_version);
}

StoreResult<nlohmann::json> buildSidecarView(Store& store, const AgentRecord& agent,
                                             std::int64_t now_unix) {
  // Read the generation first: a change committed while the view is assembled makes the
  // sidecar's next long-poll return at once, so it can never miss one.
  const std::uint64_t generation = store.generation();
  nlohmann::json view{{"generation", generation}, {"agent", agent.name},
                      {"generated_unix", now_unix}};
  auto policy = store.getDocument(kPolicyDocument, agent.name);
  if (policy) {
    view["policy"] = {{"version", policy->version},
                      {"etag", etagFor(kPolicyDocument, agent.name, policy->version)},
                      {"sha256", policy->sha256},
                      {"content", policy->content}};
  } else if (policy.error().kind == StoreErrorKind::kNotFound) {
    view["policy"] = nullptr;
  } else {
    return policy.error();
  }
  auto gov = governanceFor(store, agent.name, generation);
  if (!gov) return gov.error();
  view["governance"] = nlohmann::json::parse(governance::governanceToJson(*gov));
  auto revocations = store.listRevocations(now_unix);
  if (!revocations) return revocations.error();
  nlohmann::json revoked = nlohmann::json::array();
  for (const auto& r : *revocations) {
    revoked.push_back({{"subject", r.subject}, {"issued_before", r.issued_before_unix},
                       {"reason", r.reason}});
  }
  view["revocations"] = std::move(revoked);
  return view;
}

}  // namespace warden::controlplane
