#include "controlplane/explain.h"

#include <algorithm>

#include "identity/spiffe_id.h"
#include "policy/request_path.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

json verdict(std::string_view layer, const policy::Decision& d, std::string detail = {}) {
  json j{{"layer", layer}, {"verdict", d.allowed ? "allow" : "deny"}, {"reason", d.reason}};
  if (!d.allowed) j["status"] = d.status;
  if (!d.rule_id.empty()) j["rule"] = d.rule_id;
  if (!detail.empty()) j["detail"] = std::move(detail);
  return j;
}

json skipped(std::string_view layer, std::string_view why) {
  return json{{"layer", layer}, {"verdict", "skipped"}, {"detail", why}};
}

// Layer 4b on its own, for when 4a already denies (the data plane never gets that far):
// the same evaluator over a copy of the document in which nothing 4a checks can deny.
policy::Decision tagsAlone(const governance::GovernanceSnapshot& g, std::string_view caller) {
  governance::GovernanceDocument doc = g.document();
  doc.target.max_risk = governance::RiskLevel::kHigh;
  doc.target.unknown_caller_risk = governance::RiskLevel::kNone;
  doc.target.max_staleness = std::chrono::seconds(0);
  for (auto& a : doc.agents) {
    if (a.spiffe_id == caller) a.state = governance::AgentState::kEnabled;
  }
  auto copy = governance::compileGovernance(std::move(doc));
  if (!copy) return policy::Decision::deny(policy::Layer::kTags, governance::reason::kTagMismatch, 403);
  return (*copy)->evaluate(caller, std::chrono::seconds(0));
}

std::string requiredTags(const governance::GovernanceSnapshot& g) {
  std::string tags;
  for (const auto& [k, v] : g.target().required_tags) tags += (tags.empty() ? "" : ",") + k + "=" + v;
  return tags.empty() ? "no required tags" : "required " + tags;
}

}  // namespace

json explainRequest(const policy::PolicySnapshot* policy,
                    const governance::GovernanceSnapshot* governance, const ExplainRequest& req) {
  json layers = json::array();
  json first_denial;
  auto record = [&](json v) {
    if (first_denial.is_null() && v["verdict"] == "deny") first_denial = v;
    layers.push_back(std::move(v));
  };
  auto caller = identity::SpiffeId::parse(req.caller);
  if (!caller) {
    return json{{"decision", "deny"}, {"layer", "transport"}, {"reason", "invalid_svid"},
                {"detail", caller.error().message}, {"layers", json::array()}};
  }
  auto target = policy::normalizeRequestTarget(req.path);
  if (!target) {
    return json{{"decision", "deny"}, {"layer", "proxy"}, {"reason", "invalid_path"},
                {"detail", target.error().message}, {"layers", json::array()}};
  }
  const std::string& path = target->path;

  // 1. Transport: the allow-list.
  if (policy == nullptr) {
    record(verdict("transport", policy::Decision::deny(policy::Layer::kTransport,
                                                       policy::reason::kPeerNotAllowed, 403),
                   "the target has no policy"));
  } else {
    record(verdict("transport",
                   policy->allowsPeer(*caller)
                       ? policy::Decision::allow(policy::Layer::kTransport, {})
                       : policy::Decision::deny(policy::Layer::kTransport,
                                                policy::reason::kPeerNotAllowed, 403)));
  }
  // 2-3. Governance: state and risk (4a), then tags (4b).
  if (governance == nullptr) {
    record(skipped("risk", "the target is not governed"));
    record(skipped("tags", "the target is not governed"));
  } else {
    const auto d = governance->evaluate(req.caller, std::chrono::seconds(0));
    const auto* facts = governance->find(req.caller);
    std::string detail = facts == nullptr
                             ? "unregistered caller, assumed risk " +
                                   std::string(governance::riskLevelName(
                                       governance->target().unknown_caller_risk))
                             : "state " + std::string(governance::agentStateName(facts->state)) +
                                   ", risk " + std::string(governance::riskLevelName(facts->risk));
    detail += "; target max_risk " + std::string(governance::riskLevelName(governance->target().max_risk));
    if (!governance->target().enabled) {
      record(skipped("risk", "governance disabled for this target"));
      record(skipped("tags", "governance disabled for this target"));
    } else if (!d.allowed && d.layer == policy::Layer::kRisk) {
      record(verdict("risk", d, detail));
      // Evaluated anyway (no short-circuit): lifting the risk alone may not be enough.
      const auto tags = tagsAlone(*governance, req.caller);
      record(verdict("tags", tags.allowed ? policy::Decision::allow(policy::Layer::kTags, {}) : tags,
                     requiredTags(*governance) + "; the data plane stops at the risk layer"));
    } else {
      record(verdict("risk", policy::Decision::allow(policy::Layer::kRisk, {}), detail));
      record(verdict("tags", d.allowed ? policy::Decision::allow(policy::Layer::kTags, {}) : d,
                     requiredTags(*governance)));
    }
  }
  // 4. RBAC.
  policy::Decision rbac = policy::Decision::deny(policy::Layer::kRbac, policy::reason::kNoCallerPolicy, 403);
  if (policy != nullptr) {
    rbac = policy->evaluate(*caller, policy::parseMethod(req.method), path);
    record(verdict("rbac", rbac));
  } else {
    record(skipped("rbac", "the target has no policy"));
  }
  // 5. Token.
  if (policy == nullptr || !policy->config().token) {
    record(skipped("token", "the target requires no token"));
  } else if (!rbac.allowed) {
    record(skipped("token", "no allow rule decided"));
  } else {
    json t{{"layer", "token"}};
    json required = json::array();
    if (rbac.required_roles != nullptr) {
      for (const auto& role : *rbac.required_roles) required.push_back(role);
    }
    t["required_roles"] = required;
    if (rbac.required_claims != nullptr) {
      json claims = json::object();
      for (const auto& [k, v] : *rbac.required_claims) claims[k] = v;
      t["required_claims"] = claims;
    }
    if (req.roles) {
      std::vector<std::string> missing;
      if (rbac.required_roles != nullptr) {
        for (const auto& role : *rbac.required_roles) {
          if (std::find(req.roles->begin(), req.roles->end(), role) == req.roles->end()) {
            missing.push_back(role);
          }
        }
      }
      t["verdict"] = missing.empty() ? "allow" : "deny";
      if (!missing.empty()) {
        t["reason"] = "insufficient_roles";
        t["status"] = 403;
        t["missing_roles"] = missing;
      }
      t["detail"] = "signature, issuer, audience and expiry are checked only on real requests";
    } else {
      t["verdict"] = "requires_token";
      t["detail"] = "a valid access token from a trusted issuer with the required roles";
    }
    record(std::move(t));
  }
  json out{{"caller", req.caller}, {"method", req.method}, {"path", path}, {"layers", layers}};
  if (first_denial.is_null()) {
    out["decision"] = "allow";
    out["rule"] = rbac.rule_id;
  } else {
    out["decision"] = "deny";
    out["layer"] = first_denial["layer"];
    out["reason"] = first_denial["reason"];
    out["status"] = first_denial.value("status", 403);
    if (first_denial.contains("rule")) out["rule"] = first_denial["rule"];
  }
  if (policy != nullptr) out["policy_version"] = policy->version();
  if (governance != nullptr) out["governance_version"] = governance->version();
  return out;
}

}  // namespace warden::controlplane
