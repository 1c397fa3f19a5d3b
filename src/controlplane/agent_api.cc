#include "controlplane/agent_api.h"

#include <set>

#include "controlplane/etag.h"

namespace warden::controlplane {

using nlohmann::json;

json agentToApiJson(const AgentRecord& a) {
  json roles = json::object();
  for (const auto& [aud, list] : a.roles) roles[aud] = list;
  json federated = json::array();
  for (const auto& f : a.federated_credentials) {
    json j{{"name", f.name}, {"issuer", f.issuer}, {"audience", f.audience}};
    if (!f.subject.empty()) j["subject"] = f.subject;
    if (!f.subject_pattern.empty()) j["subject_pattern"] = f.subject_pattern;
    federated.push_back(std::move(j));
  }
  return json{{"name", a.name},
              {"spiffe_id", a.spiffe_id},
              {"client_id", a.client_id},
              {"display_name", a.display_name},
              {"owner", a.owner},
              {"state", governance::agentStateName(a.state)},
              {"risk", governance::riskLevelName(a.risk)},
              {"risk_source", a.risk_source},
              {"risk_updated", a.risk_updated_unix},
              {"tags", a.tags},
              {"roles", roles},
              {"federated_credentials", federated},
              {"trust_domain", trustDomainKindName(a.trust_domain_kind)},
              {"revision", a.revision},
              {"created", a.created_unix},
              {"updated", a.updated_unix},
              {"etag", etagFor("agent", a.name, a.revision)}};
}

// Strict: unknown members are errors, types must match. Fields the store maintains
// (revision, created, updated, etag, risk_updated) are accepted and ignored, so a GET
// result can be edited and PUT back.
std::variant<AgentRecord, std::string> agentFromApiJson(const json& j) {
  static const std::set<std::string> kKnown{
      "name", "spiffe_id", "client_id", "display_name", "owner", "state", "risk", "risk_source",
      "risk_updated", "tags", "roles", "federated_credentials", "trust_domain", "revision",
      "created", "updated", "etag", "comment"};
  if (!j.is_object()) return std::string("expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.count(key)) return "unknown field \"" + key + "\"";
  }
  AgentRecord a;
  auto str = [&](const char* key, std::string& out) -> std::optional<std::string> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string()) return std::string(key) + ": expected a string";
    out = j[key].get<std::string>();
    return std::nullopt;
  };
  for (auto [key, out] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"name", &a.name}, {"spiffe_id", &a.spiffe_id}, {"client_id", &a.client_id},
           {"display_name", &a.display_name}, {"owner", &a.owner}, {"risk_source", &a.risk_source}}) {
    if (auto e = str(key, *out)) return *e;
  }
  std::string text;
  if (auto e = str("state", text)) return *e;
  if (!text.empty()) {
    auto s = governance::agentStateFromName(text);
    if (!s) return "state: expected enabled, disabled or quarantined";
    a.state = *s;
  }
  text.clear();
  if (auto e = str("risk", text)) return *e;
  if (!text.empty()) {
    auto level = governance::riskLevelFromName(text);
    if (!level) return "risk: expected none, low, medium or high";
    a.risk = *level;
  }
  text.clear();
  if (auto e = str("trust_domain", text)) return *e;
  if (!text.empty()) {
    auto kind = trustDomainKindFromName(text);
    if (!kind) return "trust_domain: expected local or federated";
    a.trust_domain_kind = *kind;
  }
  if (j.contains("tags") && !j["tags"].is_null()) {
    if (!j["tags"].is_object()) return std::string("tags: expected an object of strings");
    for (const auto& [k, v] : j["tags"].items()) {
      if (!v.is_string()) return "tags." + k + ": expected a string";
      a.tags[k] = v.get<std::string>();
    }
  }
  if (j.contains("roles") && !j["roles"].is_null()) {
    if (!j["roles"].is_object()) return std::string("roles: expected {audience: [role, ...]}");
    for (const auto& [aud, list] : j["roles"].items()) {
      if (!list.is_array()) return "roles." + aud + ": expected a list of strings";
      // An empty list is an assignment too: the agent may get tokens for that audience
      // (a target that requires no role of it), just without roles.
      auto& roles = a.roles[aud];
      for (const auto& role : list) {
        if (!role.is_string()) return "roles." + aud + ": expected a list of strings";
        roles.push_back(role.get<std::string>());
      }
    }
  }
  if (j.contains("federated_credentials") && !j["federated_credentials"].is_null()) {
    const auto& list = j["federated_credentials"];
    if (!list.is_array()) return std::string("federated_credentials: expected a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string p = "federated_credentials[" + std::to_string(i) + "]";
      if (!list[i].is_object()) return p + ": expected an object";
      FederatedCredentialRule f;
      for (const auto& [key, value] : list[i].items()) {
        if (!value.is_string()) return p + "." + key + ": expected a string";
        const std::string v = value.get<std::string>();
        if (key == "name") f.name = v;
        else if (key == "issuer") f.issuer = v;
        else if (key == "subject") f.subject = v;
        else if (key == "subject_pattern") f.subject_pattern = v;
        else if (key == "audience") f.audience = v;
        else return p + ": unknown field \"" + key + "\"";
      }
      a.federated_credentials.push_back(std::move(f));
    }
  }
  return a;
}

}  // namespace warden::controlplane
