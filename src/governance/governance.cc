#include "governance/governance.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/yaml_reader.h"
#include "identity/spiffe_id.h"

namespace warden::governance {
namespace {

constexpr std::size_t kMaxDocumentBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxAgents = 100000;

RiskLevel readRisk(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  const std::string text = r.nonEmptyString(node, path);
  auto level = riskLevelFromName(text);
  if (!level) r.fail(node, path, "expected one of none, low, medium, high (got \"" + text + "\")");
  return *level;
}

Tags readTags(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) r.fail(node, path, "expected a mapping of tag keys to values");
  Tags tags;
  for (const auto& kv : node) {
    const std::string key = r.nonEmptyString(kv.first, path);
    const std::string field = YamlReader::join(path, key);
    if (!validTagKey(key)) {
      r.fail(kv.first, field, "tag keys are 1-63 characters of a-z, 0-9, '.', '_', '-'");
    }
    const std::string value = r.string(kv.second, field);
    if (!validTagValue(value)) {
      r.fail(kv.second, field, "tag values are at most 255 characters without control characters");
    }
    if (!tags.emplace(normalizeTagKey(key), value).second) {
      r.fail(kv.first, field, "duplicate tag key (keys are case-insensitive)");
    }
  }
  return tags;
}

TargetGovernance readTarget(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) r.fail(node, path, "expected a mapping");
  r.onlyKeys(node, path,
             {"enabled", "max_risk", "required_tags", "max_staleness", "unknown_caller_risk"});
  TargetGovernance t;
  if (node["enabled"]) t.enabled = r.boolean(node["enabled"], YamlReader::join(path, "enabled"));
  if (node["max_risk"]) t.max_risk = readRisk(r, node["max_risk"], YamlReader::join(path, "max_risk"));
  if (node["required_tags"]) {
    t.required_tags = readTags(r, node["required_tags"], YamlReader::join(path, "required_tags"));
  }
  if (node["max_staleness"]) {
    const auto d = r.duration(node["max_staleness"], YamlReader::join(path, "max_staleness"),
                              std::chrono::milliseconds(0), std::chrono::hours(24 * 30));
    t.max_staleness = std::chrono::duration_cast<std::chrono::seconds>(d);
  }
  if (node["unknown_caller_risk"]) {
    t.unknown_caller_risk =
        readRisk(r, node["unknown_caller_risk"], YamlReader::join(path, "unknown_caller_risk"));
  }
  return t;
}

AgentFacts readAgent(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) r.fail(node, path, "expected a mapping");
  r.onlyKeys(node, path,
             {"spiffe_id", "name", "state", "risk", "risk_source", "risk_updated", "tags"});
  AgentFacts a;
  if (!node["spiffe_id"]) r.fail(node, path, "spiffe_id is required");
  a.spiffe_id = r.nonEmptyString(node["spiffe_id"], YamlReader::join(path, "spiffe_id"));
  if (auto id = identity::SpiffeId::parse(a.spiffe_id); !id) {
    r.fail(node["spiffe_id"], YamlReader::join(path, "spiffe_id"), id.error().message);
  }
  if (node["name"]) a.name = r.string(node["name"], YamlReader::join(path, "name"));
  if (node["state"]) {
    const std::string s = r.nonEmptyString(node["state"], YamlReader::join(path, "state"));
    auto state = agentStateFromName(s);
    if (!state) {
      r.fail(node["state"], YamlReader::join(path, "state"),
             "expected one of enabled, disabled, quarantined (got \"" + s + "\")");
    }
    a.state = *state;
  }
  if (node["risk"]) a.risk = readRisk(r, node["risk"], YamlReader::join(path, "risk"));
  if (node["risk_source"]) {
    a.risk_source = r.string(node["risk_source"], YamlReader::join(path, "risk_source"));
  }
  if (node["risk_updated"]) {
    a.risk_updated_unix = static_cast<std::int64_t>(r.unsignedInteger(
        node["risk_updated"], YamlReader::join(path, "risk_updated"), 0, 1ULL << 40));
  }
  if (node["tags"]) a.tags = readTags(r, node["tags"], YamlReader::join(path, "tags"));
  return a;
}

}  // namespace

Result<GovernanceDocument> parseGovernanceYaml(std::string_view text, std::string_view source_name) {
  const std::string source(source_name.empty() ? "governance" : source_name);
  if (text.size() > kMaxDocumentBytes) {
    return Error{source + ": governance document is larger than 16 MiB"};
  }
  const YamlReader r(source);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root || root.IsNull()) return Error{source + ": governance document is empty"};
    if (!root.IsMap()) r.fail(root, "", "expected a mapping at the top level");
    r.onlyKeys(root, "", {"version", "target", "agents"});
    GovernanceDocument doc;
    if (root["version"]) doc.version = r.string(root["version"], "version");
    if (root["target"]) doc.target = readTarget(r, root["target"], "target");
    if (const auto agents = root["agents"]) {
      if (!agents.IsSequence()) r.fail(agents, "agents", "expected a list");
      if (agents.size() > kMaxAgents) r.fail(agents, "agents", "more than 100000 agents");
      std::set<std::string> seen;
      for (std::size_t i = 0; i < agents.size(); ++i) {
        const std::string path = "agents[" + std::to_string(i) + "]";
        AgentFacts a = readAgent(r, agents[i], path);
        if (!seen.insert(a.spiffe_id).second) {
          r.fail(agents[i]["spiffe_id"], path + ".spiffe_id", "duplicate agent " + a.spiffe_id);
        }
        doc.agents.push_back(std::move(a));
      }
    }
    return doc;
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Error{where + ": invalid YAML: " + e.msg};
  }
}

Result<TargetGovernance> parseTargetGovernanceYaml(std::string_view text,
                                                   std::string_view source_name) {
  const std::string source(source_name.empty() ? "governance" : source_name);
  if (text.size() > 64 * 1024) return Error{source + ": governance block is larger than 64 KiB"};
  const YamlReader r(source);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root || root.IsNull()) return TargetGovernance{};
    return readTarget(r, root, "");
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Error{where + ": invalid YAML: " + e.msg};
  }
}

std::string targetGovernanceToYaml(const TargetGovernance& t) {
  std::string out = std::string("enabled: ") + (t.enabled ? "true" : "false") + "\n";
  out += "max_risk: " + std::string(riskLevelName(t.max_risk)) + "\n";
  out += "unknown_caller_risk: " + std::string(riskLevelName(t.unknown_caller_risk)) + "\n";
  if (t.max_staleness.count() > 0) out += "max_staleness: " + std::to_string(t.max_staleness.count()) + "s\n";
  if (!t.required_tags.empty()) {
    out += "required_tags:\n";
    for (const auto& [k, v] : t.required_tags) out += "  " + k + ": " + nlohmann::json(v).dump() + "\n";
  }
  return out;
}

Status validateGovernance(const GovernanceDocument& document) {
  std::set<std::string_view> seen;
  for (const auto& [key, value] : document.target.required_tags) {
    if (!validTagKey(key) || key != normalizeTagKey(key)) {
      return Error{"target.required_tags." + key + ": invalid tag key"};
    }
    if (!validTagValue(value)) return Error{"target.required_tags." + key + ": invalid tag value"};
  }
  for (std::size_t i = 0; i < document.agents.size(); ++i) {
    const auto& a = document.agents[i];
    const std::string path = "agents[" + std::to_string(i) + "]";
    if (auto id = identity::SpiffeId::parse(a.spiffe_id); !id) {
      return Error{path + ".spiffe_id: " + id.error().message};
    }
    if (!seen.insert(a.spiffe_id).second) {
      return Error{path + ".spiffe_id: duplicate agent " + a.spiffe_id};
    }
    for (const auto& [key, value] : a.tags) {
      if (!validTagKey(key) || key != normalizeTagKey(key)) {
        return Error{path + ".tags." + key + ": invalid tag key"};
      }
      if (!validTagValue(value)) return Error{path + ".tags." + key + ": invalid tag value"};
    }
  }
  return {};
}

std::string governanceToJson(const GovernanceDocument& document) {
  nlohmann::json target{
      {"enabled", document.target.enabled},
      {"max_risk", riskLevelName(document.target.max_risk)},
      {"required_tags", document.target.required_tags},
      {"max_staleness", std::to_string(document.target.max_staleness.count()) + "s"},
      {"unknown_caller_risk", riskLevelName(document.target.unknown_caller_risk)},
  };
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : document.agents) {
    nlohmann::json j{{"spiffe_id", a.spiffe_id},
                     {"state", agentStateName(a.state)},
                     {"risk", riskLevelName(a.risk)},
                     {"tags", a.tags}};
    if (!a.name.empty()) j["name"] = a.name;
    if (!a.risk_source.empty()) j["risk_source"] = a.risk_source;
    if (a.risk_updated_unix > 0) j["risk_updated"] = a.risk_updated_unix;
    agents.push_back(std::move(j));
  }
  nlohmann::json doc{{"version", document.version}, {"target", target}, {"agents", agents}};
  return doc.dump();
}

const AgentFacts* GovernanceSnapshot::find(std::string_view spiffe_id) const {
  auto it = by_id_.find(spiffe_id);
  return it == by_id_.end() ? nullptr : &document_.agents[it->second];
}

bool GovernanceSnapshot::isolated(std::string_view spiffe_id) const {
  if (!document_.target.enabled) return false;
  const AgentFacts* facts = find(spiffe_id);
  return facts != nullptr && facts->state == AgentState::kQuarantined;
}

policy::Decision GovernanceSnapshot::evaluate(std::string_view caller_id,
                                              std::chrono::seconds data_age) const {
  using policy::Decision;
  using policy::Layer;
  const TargetGovernance& t = document_.target;
  if (!t.enabled) return Decision::allow(Layer::kRisk, {});
  const AgentFacts* caller = find(caller_id);
  if (caller != nullptr) {
    if (caller->state == AgentState::kDisabled) {
      return Decision::deny(Layer::kRisk, reason::kAgentDisabled, 403);
    }
    if (caller->state == AgentState::kQuarantined) {
      return Decision::deny(Layer::kRisk, reason::kAgentQuarantined, 403);
    }
  }
  if (t.max_staleness.count() > 0 && data_age > t.max_staleness) {
    return Decision::deny(Layer::kRisk, reason::kRiskUnknown, 403);
  }
  if (caller == nullptr) {
    if (t.unknown_caller_risk > t.max_risk) {
      return Decision::deny(Layer::kRisk, reason::kRiskUnknown, 403);
    }
  } else if (caller->risk > t.max_risk) {
    return Decision::deny(Layer::kRisk, reason::kRiskTooHigh, 403);
  }
  for (const auto& [key, required] : t.required_tags) {
    if (caller == nullptr) return Decision::deny(Layer::kTags, reason::kTagMismatch, 403);
    auto it = caller->tags.find(key);
    if (it == caller->tags.end() || !tagValuesEqual(it->second, required)) {
      return Decision::deny(Layer::kTags, reason::kTagMismatch, 403);
    }
  }
  return Decision::allow(Layer::kTags, {});
}

Result<std::shared_ptr<const GovernanceSnapshot>> compileGovernance(GovernanceDocument document) {
  if (auto status = validateGovernance(document); !status) return status.error();
  auto snapshot = std::shared_ptr<GovernanceSnapshot>(new GovernanceSnapshot());
  snapshot->document_ = std::move(document);
  snapshot->by_id_.reserve(snapshot->document_.agents.size());
  for (std::size_t i = 0; i < snapshot->document_.agents.size(); ++i) {
    snapshot->by_id_.emplace(snapshot->document_.agents[i].spiffe_id, i);
  }
  return std::shared_ptr<const GovernanceSnapshot>(std::move(snapshot));
}

Result<std::shared_ptr<const GovernanceSnapshot>> loadGovernanceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot open governance file"};
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = parseGovernanceYaml(text.str(), path);
  if (!doc) return doc.error();
  return compileGovernance(std::move(*doc));
}

}  // namespace warden::governance
