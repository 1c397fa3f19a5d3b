#include "controlplane/seed.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/yaml_reader.h"
#include "controlplane/agent_api.h"
#include "governance/governance.h"
#include "policy/policy.h"

namespace warden::controlplane {
namespace {

// YAML -> JSON for agent entries: scalars become strings (every agent field is one).
nlohmann::json toJson(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = toJson(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(toJson(item));
    return out;
  }
  if (node.IsNull()) return nullptr;
  return node.as<std::string>();
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::size_t> seedStore(Store& store, const std::string& seed_path) {
  auto existing = store.listAgents();
  if (!existing) return Error{"seed: " + existing.error().message};
  if (!existing->empty()) return std::size_t{0};
  auto text = readFile(seed_path);
  if (!text) return text.error();
  const Actor actor{"seed", "config"};
  const std::string base = std::filesystem::path(seed_path).parent_path().string();
  const YamlReader r(seed_path);
  std::size_t written = 0;
  try {
    const YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) r.fail(root, "", "expected a mapping of agents, policies, governance");
    r.onlyKeys(root, "", {"agents", "policies", "governance"});
    if (const auto agents = root["agents"]) {
      if (!agents.IsSequence()) r.fail(agents, "agents", "expected a list");
      for (std::size_t i = 0; i < agents.size(); ++i) {
        const std::string path = "agents[" + std::to_string(i) + "]";
        auto parsed = agentFromApiJson(toJson(agents[i]));
        if (auto* why = std::get_if<std::string>(&parsed)) r.fail(agents[i], path, *why);
        auto created = store.createAgent(std::get<AgentRecord>(parsed), actor, "seed");
        if (!created) r.fail(agents[i], path, created.error().message);
        ++written;
      }
    }
    if (const auto policies = root["policies"]) {
      if (!policies.IsMap()) r.fail(policies, "policies", "expected target: file");
      for (const auto& kv : policies) {
        const std::string target = kv.first.as<std::string>();
        const std::string path = "policies." + target;
        const std::string file = resolveConfigPath(base.empty() ? "." : base, r.nonEmptyString(kv.second, path));
        auto content = readFile(file);
        if (!content) r.fail(kv.second, path, content.error().message);
        auto parsed = policy::parsePolicyYaml(*content, file);
        if (!parsed) r.fail(kv.second, path, parsed.error().message);
        if (auto compiled = policy::compilePolicy(std::move(*parsed)); !compiled) {
          r.fail(kv.second, path, compiled.error().message);
        }
        if (auto agent = store.getAgent(target); !agent) r.fail(kv.first, path, "no agent named " + target);
        auto put = store.putDocument(kPolicyDocument, target, *content, std::nullopt, actor, "seed");
        if (!put) r.fail(kv.second, path, put.error().message);
        ++written;
      }
    }
    if (const auto governance_blocks = root["governance"]) {
      if (!governance_blocks.IsMap()) r.fail(governance_blocks, "governance", "expected target: block");
      for (const auto& kv : governance_blocks) {
        const std::string target = kv.first.as<std::string>();
        const std::string path = "governance." + target;
        const std::string content = YAML::Dump(kv.second) + "\n";
        auto parsed = governance::parseTargetGovernanceYaml(content, seed_path + ": " + path);
        if (!parsed) r.fail(kv.second, path, parsed.error().message);
        if (auto agent = store.getAgent(target); !agent) r.fail(kv.first, path, "no agent named " + target);
        auto put = store.putDocument(kGovernanceDocument, target, governance::targetGovernanceToYaml(*parsed),
                                     std::nullopt, actor, "seed");
        if (!put) r.fail(kv.second, path, put.error().message);
        ++written;
      }
    }
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{seed_path + ": invalid YAML: " + e.what()};
  }
  return written;
}

}  // namespace warden::controlplane
