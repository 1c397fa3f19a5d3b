#include "controlplane/agent_json.h"

#include <limits>

#include <nlohmann/json.hpp>

namespace warden::controlplane {
namespace {

using Json = nlohmann::json;

// error_handler_t::replace: dump() would otherwise throw on invalid UTF-8. Validated records
// are valid UTF-8; this only keeps a bug from becoming an exception.
std::string dumpCompact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Json> parseObject(std::string_view text, std::string_view what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return makeError(std::string(what) + ": stored JSON is not an object");
  }
  return j;
}

Result<std::string> stringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::string();
  if (!it->is_string()) return makeError(std::string(key) + ": not a string");
  return it->get<std::string>();
}

Result<std::int64_t> intField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::int64_t{0};
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return makeError(std::string(key) + ": out of range");
    }
    return static_cast<std::int64_t>(v);
  }
  if (!it->is_number_integer()) return makeError(std::string(key) + ": not an integer");
  return it->get<std::int64_t>();
}

Json tagsJson(const governance::Tags& tags) {
  Json j = Json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

Json rolesJson(const RoleMap& roles) {
  Json j = Json::object();
  for (const auto& [aud, list] : roles) j[aud] = list;
  return j;
}

Json federatedJson(const std::vector<FederatedCredentialRule>& rules) {
  Json j = Json::array();
  for (const auto& r : rules) {
    j.push_back({{"name", r.name},
                 {"issuer", r.issuer},
                 {"subject", r.subject},
                 {"subject_pattern", r.subject_pattern},
                 {"audience", r.audience}});
  }
  return j;
}

Result<governance::Tags> tagsFrom(const Json& j) {
  if (!j.is_object()) return makeError("tags: not an object");
  governance::Tags tags;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return makeError("tags." + k + ": not a string");
    tags.emplace(k, v.get<std::string>());
  }
  return tags;
}

Result<RoleMap> rolesFrom(const Json& j) {
  if (!j.is_object()) return makeError("roles: not an object");
  RoleMap roles;
  for (const auto& [aud, list] : j.items()) {
    if (!list.is_array()) return makeError("roles." + aud + ": not an array");
    auto& out = roles[aud];
    for (const auto& role : list) {
      if (!role.is_string()) return makeError("roles." + aud + ": not a string");
      out.push_back(role.get<std::string>());
    }
  }
  return roles;
}

Result<std::vector<FederatedCredentialRule>> federatedFrom(const Json& j) {
  if (!j.is_array()) return makeError("federated_credentials: not an array");
  std::vector<FederatedCredentialRule> rules;
  for (const auto& item : j) {
    if (!item.is_object()) return makeError("federated_credentials: not an object");
    FederatedCredentialRule r;
    for (auto [key, field] :
         {std::pair{"name", &r.name}, std::pair{"issuer", &r.issuer},
          std::pair{"subject", &r.subject}, std::pair{"subject_pattern", &r.subject_pattern},
          std::pair{"audience", &r.audience}}) {
      auto v = stringField(item, key);
      if (!v.ok()) return makeError("federated_credentials." + v.error().message);
      *field = std::move(*v);
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

template <class T>
Result<T> parseWith(std::string_view text, Result<T> (*from)(const Json&)) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return makeError("stored JSON does not parse");
  return from(j);
}

}  // namespace

std::string agentToJson(const AgentRecord& r) {
  Json j = {
      {"name", r.name},
      {"spiffe_id", r.spiffe_id},
      {"client_id", r.client_id},
      {"display_name", r.display_name},
      {"owner", r.owner},
      {"state", std::string(governance::agentStateName(r.state))},
      {"risk", std::string(governance::riskLevelName(r.risk))},
      {"risk_source", r.risk_source},
      {"risk_updated_unix", r.risk_updated_unix},
      {"tags", tagsJson(r.tags)},
      {"roles", rolesJson(r.roles)},
      {"federated_credentials", federatedJson(r.federated_credentials)},
      {"trust_domain_kind", std::string(trustDomainKindName(r.trust_domain_kind))},
      {"revision", r.revision},
      {"created_unix", r.created_unix},
      {"updated_unix", r.updated_unix},
  };
  return dumpCompact(j);
}

Result<AgentRecord> agentFromJson(std::string_view text) {
  auto parsed = parseObject(text, "agent");
  if (!parsed.ok()) return parsed.error();
  const Json& j = *parsed;
  AgentRecord r;
  for (auto [key, field] :
       {std::pair{"name", &r.name}, std::pair{"spiffe_id", &r.spiffe_id},
        std::pair{"client_id", &r.client_id}, std::pair{"display_name", &r.display_name},
        std::pair{"owner", &r.owner}, std::pair{"risk_source", &r.risk_source}}) {
    auto v = stringField(j, key);
    if (!v.ok()) return makeError("agent: " + v.error().message);
    *field = std::move(*v);
  }
  auto state = stringField(j, "state");
  auto risk = stringField(j, "risk");
  auto kind = stringField(j, "trust_domain_kind");
  if (!state.ok() || !risk.ok() || !kind.ok()) return makeError("agent: bad enum field");
  auto state_value = governance::agentStateFromName(*state);
  auto risk_value = governance::riskLevelFromName(*risk);
  auto kind_value = trustDomainKindFromName(*kind);
  if (!state_value || !risk_value || !kind_value) return makeError("agent: unknown enum value");
  r.state = *state_value;
  r.risk = *risk_value;
  r.trust_domain_kind = *kind_value;

  auto risk_updated = intField(j, "risk_updated_unix");
  auto revision = intField(j, "revision");
  auto created = intField(j, "created_unix");
  auto updated = intField(j, "updated_unix");
  if (!risk_updated.ok() || !revision.ok() || !created.ok() || !updated.ok()) {
    return makeError("agent: bad integer field");
  }
  r.risk_updated_unix = *risk_updated;
  r.revision = static_cast<std::uint64_t>(*revision);
  r.created_unix = *created;
  r.updated_unix = *updated;

  if (auto it = j.find("tags"); it != j.end()) {
    auto tags = tagsFrom(*it);
    if (!tags.ok()) return makeError("agent: " + tags.error().message);
    r.tags = std::move(*tags);
  }
  if (auto it = j.find("roles"); it != j.end()) {
    auto roles = rolesFrom(*it);
    if (!roles.ok()) return makeError("agent: " + roles.error().message);
    r.roles = std::move(*roles);
  }
  if (auto it = j.find("federated_credentials"); it != j.end()) {
    auto rules = federatedFrom(*it);
    if (!rules.ok()) return makeError("agent: " + rules.error().message);
    r.federated_credentials = std::move(*rules);
  }
  return r;
}

std::string tagsToJson(const governance::Tags& tags) {
  return dumpCompact(tagsJson(tags));
}
std::string rolesToJson(const RoleMap& roles) {
  return dumpCompact(rolesJson(roles));
}
std::string federatedToJson(const std::vector<FederatedCredentialRule>& rules) {
  return dumpCompact(federatedJson(rules));
}

Result<governance::Tags> tagsFromJson(std::string_view json) {
  return parseWith(json, &tagsFrom);
}
Result<RoleMap> rolesFromJson(std::string_view json) {
  return parseWith(json, &rolesFrom);
}
Result<std::vector<FederatedCredentialRule>> federatedFromJson(std::string_view json) {
  return parseWith(json, &federatedFrom);
}

}  // namespace warden::controlplane
