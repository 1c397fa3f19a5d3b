// An agent as the API (and the seed file) writes it: JSON with names for enums, strict on
// input (unknown fields and wrong types are errors with the field named), so a GET result
// can be edited and sent back. Validation of values is the store's (agent_record.h).
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <variant>

#include "controlplane/agent_record.h"

namespace warden::controlplane {

nlohmann::json agentToApiJson(const AgentRecord& agent);
// The record, or a message naming the offending field.
std::variant<AgentRecord, std::string> agentFromApiJson(const nlohmann::json& j);

}  // namespace warden::controlplane
