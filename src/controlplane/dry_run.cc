#include "controlplane/dry_run.h"

#include "controlplane/audit_index.h"
#include "controlplane/explain.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

std::string stringMember(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> splitRoles(std::string_view text) {
  std::vector<std::string> roles;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto role = text.substr(0, comma);
    if (!role.empty()) roles.emplace_back(role);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return roles;
}

// The caller's facts as the sidecar recorded them: nullopt when it recorded none (not
// governed then); an unregistered caller ("unknown" risk) has no facts at all, which is
// how the snapshot represents one.
struct RecordedFacts {
  std::optional<governance::AgentFacts> facts;
};

std::optional<RecordedFacts> recordedFacts(const json& event, const std::string& caller) {
  auto it = event.find("governance");
  if (it == event.end() || !it->is_object()) return std::nullopt;
  const std::string risk = stringMember(*it, "risk");
  if (risk == "unknown") return RecordedFacts{};
  auto level = governance::riskLevelFromName(risk);
  const std::string state_name = stringMember(*it, "state");
  auto state = state_name.empty() ? std::optional(governance::AgentState::kEnabled)
                                  : governance::agentStateFromName(state_name);
  if (!level || !state) return std::nullopt;  // not a shape this server knows: use the registry
  governance::AgentFacts f;
  f.spiffe_id = caller;
  f.name = stringMember(*it, "agent");
  f.risk = *level;
  f.state = *state;
  f.tags = parseRecordedTags(stringMember(*it, "tags"));
  return RecordedFacts{std::move(f)};
}

// What explain's answer says the data plane would do, in the audit event's vocabulary:
// an allowed request is recorded by the RBAC layer with reason `allowed` and the rule.
json outcome(const json& explained) {
  const std::string rule = explained.contains("rule") && explained["rule"].is_string()
                               ? explained["rule"].get<std::string>()
                               : std::string();
  if (explained.value("decision", "") == "allow") {
    return json{{"decision", "allow"}, {"layer", "rbac"}, {"reason", "allowed"}, {"rule_id", rule}};
  }
  return json{{"decision", "deny"},
              {"layer", explained.value("layer", "")},
              {"reason", explained.value("reason", "")},
              {"rule_id", rule}};
}

std::shared_ptr<const governance::GovernanceSnapshot> governanceWith(
    const governance::TargetGovernance& target, const std::optional<governance::AgentFacts>& facts) {
  // explainRequest() looks up the caller only, so a document with the caller's facts
  // alone decides as the whole registry would.
  governance::GovernanceDocument doc;
  doc.version = "dry-run";
  doc.target = target;
  if (facts) doc.agents.push_back(*facts);
  auto compiled = governance::compileGovernance(doc);
  if (compiled) return *compiled;
  // Facts the compiler refuses (a malformed caller ID, whose request explain refuses at
  // the transport layer anyway): an unregistered caller.
  doc.agents.clear();
  auto bare = governance::compileGovernance(std::move(doc));
  return bare ? *bare : nullptr;
}

}  // namespace

Result<DryRunRequest> parseDryRunRequest(const json& body) {
  if (!body.is_object()) return makeError("expected a JSON object");
  DryRunRequest req;
  for (const auto& [key, value] : body.items()) {
    if (key != "document" && key != "limit") {
      return makeError(key + ": unknown member (expected document and limit)");
    }
  }
  auto doc = body.find("document");
  if (doc == body.end() || !doc->is_string()) {
    return makeError("document: expected the candidate document's text");
  }
  req.document = doc->get<std::string>();
  if (auto limit = body.find("limit"); limit != body.end()) {
    // is_number_integer() covers both signed and unsigned integers (not 2.0 or "10").
    const bool in_range = limit->is_number_integer() && limit->get<std::int64_t>() >= 1 &&
                          limit->get<std::int64_t>() <= static_cast<std::int64_t>(kMaxDryRunLimit);
    if (!in_range) {
      return makeError("limit: expected an integer from 1 to " + std::to_string(kMaxDryRunLimit) +
                       ", got " + limit->dump());
    }
    req.limit = static_cast<std::size_t>(limit->get<std::int64_t>());
  }
  return req;
}

Result<std::shared_ptr<const policy::PolicySnapshot>> compileStoredPolicy(
    const DocumentVersion& document) {
  auto parsed = policy::parsePolicyYaml(document.content, "policies/" + document.target);
  if (!parsed) return parsed.error();
  parsed->version = policy::distributedVersionLabel(parsed->version, document.version);
  return policy::compilePolicy(std::move(*parsed));
}

governance::Tags parseRecordedTags(std::string_view text) {
  governance::Tags tags;
  std::string key;
  std::string value;
  auto flush = [&] {
    if (!key.empty() && governance::validTagValue(value)) tags[key] = value;
    key.clear();
    value.clear();
  };
  bool first = true;
  while (!text.empty() || first) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const auto eq = part.find('=');
    const bool starts_tag = eq != std::string_view::npos && governance::validTagKey(part.substr(0, eq));
    if (starts_tag) {
      flush();
      key = governance::normalizeTagKey(part.substr(0, eq));
      value = std::string(part.substr(eq + 1));
    } else if (!first) {
      value.append(",").append(part);  // a comma inside the previous value
    }
    first = false;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  flush();
  return tags;
}

DryRunOutcome replayRecordedRequests(const DryRunInputs& in, const std::vector<AuditRow>& lines) {
  DryRunOutcome out;
  for (const auto& row : lines) {
    const json event = json::parse(row.json_line, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object()) continue;
    const AuditIndex ix = indexAuditLine(row.json_line, 0);

    ExplainRequest req;
    req.caller = ix.caller;
    req.method = ix.method;
    req.path = ix.path;
    if (auto token = event.find("token"); token != event.end() && token->is_object()) {
      req.roles = splitRoles(stringMember(*token, "roles"));
    }

    const auto registered = in.registry.find(ix.caller);
    std::optional<governance::AgentFacts> facts;
    std::string facts_source = "recorded";
    if (auto recorded = recordedFacts(event, ix.caller)) {
      facts = std::move(recorded->facts);
    } else {
      facts_source = "registry";
      if (registered != in.registry.end()) facts = registered->second;
    }
    std::string caller_name = facts && !facts->name.empty() ? facts->name : std::string();
    if (caller_name.empty() && registered != in.registry.end()) caller_name = registered->second.name;

    const auto live_gov = governanceWith(in.live_governance, facts);
    const auto candidate_gov = governanceWith(in.candidate_governance, facts);
    const json live = outcome(explainRequest(in.live_policy, live_gov.get(), req));
    const json candidate = outcome(explainRequest(in.candidate_policy, candidate_gov.get(), req));
    const bool changed = live["decision"] != candidate["decision"] ||
                         live["layer"] != candidate["layer"] || live["reason"] != candidate["reason"];
    if (changed) ++out.changed;
    out.results.push_back(json{
        {"time_unix_us", ix.time_unix_us},
        {"request_id", ix.request_id},
        {"caller_id", ix.caller},
        {"caller_name", caller_name},
        {"caller_facts", facts_source},
        {"method", ix.method},
        {"path", ix.path},
        {"recorded",
         {{"decision", ix.decision}, {"layer", ix.layer}, {"reason", ix.reason},
          {"rule_id", stringMember(event, "rule_id")}}},
        {"live", live},
        {"candidate", candidate},
        {"changed", changed},
    });
  }
  return out;
}

}  // namespace warden::controlplane
