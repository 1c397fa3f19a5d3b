// The JSON form of an AgentRecord: what agent_versions stores for every revision, what the
// change log shows as before/after, and the encoding of the agents table's JSON columns.
//
// Internal to the store (the API renders its own representation). Parsing never throws:
// a stored document that does not parse is reported as an error, not trusted.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controlplane/agent_record.h"

namespace warden::controlplane {

using RoleMap = std::map<std::string, std::vector<std::string>>;

std::string agentToJson(const AgentRecord& record);  // compact, keys sorted
Result<AgentRecord> agentFromJson(std::string_view json);

// The three structured fields, as stored in the agents table's columns.
std::string tagsToJson(const governance::Tags& tags);
std::string rolesToJson(const RoleMap& roles);
std::string federatedToJson(const std::vector<FederatedCredentialRule>& rules);
Result<governance::Tags> tagsFromJson(std::string_view json);
Result<RoleMap> rolesFromJson(std::string_view json);
Result<std::vector<FederatedCredentialRule>> federatedFromJson(std::string_view json);

}  // namespace warden::controlplane
