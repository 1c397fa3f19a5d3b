#include "demo/mesh_config.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/yaml_reader.h"
#include "identity/spiffe_id.h"

namespace warden::demo {
namespace {

// Names become file names, socket names and Host values: keep them to one safe shape.
bool validName(const std::string& s) {
  static const std::regex re("[a-z0-9][a-z0-9.-]{0,62}");
  return std::regex_match(s, re);
}

// Ports used per agent (app, ingress, egress, admin) and by the shared components.
constexpr unsigned kSharedPorts = 10;
constexpr unsigned kPortsPerAgent = 10;

MeshRoute parseRoute(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  MeshRoute route;
  if (node.IsScalar()) {
    route.target = r.nonEmptyString(node, path);
    return route;
  }
  r.onlyKeys(node, path, {"target", "host", "token", "audience"});
  if (!node["target"]) r.fail(node, YamlReader::join(path, "target"), "is required");
  route.target = r.nonEmptyString(node["target"], YamlReader::join(path, "target"));
  if (node["host"]) route.host = r.nonEmptyString(node["host"], YamlReader::join(path, "host"));
  if (node["token"]) route.token = r.boolean(node["token"], YamlReader::join(path, "token"));
  if (node["audience"]) {
    route.audience = r.nonEmptyString(node["audience"], YamlReader::join(path, "audience"));
    if (!route.token) r.fail(node["audience"], YamlReader::join(path, "audience"), "needs token: true");
  }
  return route;
}

MeshAgent parseAgent(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  r.onlyKeys(node, path, {"name", "spiffe_id", "app", "ingress", "credential", "routes"});
  for (const char* required : {"name", "spiffe_id"}) {
    if (!node[required]) r.fail(node, YamlReader::join(path, required), "is required");
  }
  MeshAgent a;
  a.name = r.nonEmptyString(node["name"], YamlReader::join(path, "name"));
  if (!validName(a.name)) {
    r.fail(node["name"], YamlReader::join(path, "name"), "expected [a-z0-9][a-z0-9.-]{0,62}");
  }
  a.spiffe_id = r.nonEmptyString(node["spiffe_id"], YamlReader::join(path, "spiffe_id"));
  auto id = identity::SpiffeId::parse(a.spiffe_id);
  if (!id) r.fail(node["spiffe_id"], YamlReader::join(path, "spiffe_id"), id.error().message);
  if (id->path().empty()) {
    r.fail(node["spiffe_id"], YamlReader::join(path, "spiffe_id"), "a workload ID needs a path");
  }
  a.trust_domain = std::string(id->trustDomain());
  if (node["app"]) {
    const auto app = r.nonEmptyString(node["app"], YamlReader::join(path, "app"));
    if (app == "backend") {
      a.app = AppKind::kBackend;
    } else if (app == "agent") {
      a.app = AppKind::kAgent;
    } else if (app == "none") {
      a.app = AppKind::kNone;
    } else {
      r.fail(node["app"], YamlReader::join(path, "app"), "expected backend, agent or none");
    }
  }
  if (node["ingress"]) a.ingress = r.boolean(node["ingress"], YamlReader::join(path, "ingress"));
  if (a.ingress && a.app == AppKind::kNone) {
    r.fail(node["ingress"], YamlReader::join(path, "ingress"), "an agent without an app takes no calls");
  }
  if (node["credential"]) {
    const auto c = r.nonEmptyString(node["credential"], YamlReader::join(path, "credential"));
    if (c == "external_oidc") {
      a.external_oidc_credential = true;
    } else if (c != "svid") {
      r.fail(node["credential"], YamlReader::join(path, "credential"), "expected svid or external_oidc");
    }
  }
  if (node["routes"]) {
    const auto& routes = node["routes"];
    if (!routes.IsSequence()) r.fail(routes, YamlReader::join(path, "routes"), "expected a list");
    for (std::size_t i = 0; i < routes.size(); ++i) {
      a.routes.push_back(parseRoute(r, routes[i], YamlReader::join(path, "routes") + "[" + std::to_string(i) + "]"));
    }
  }
  return a;
}

}  // namespace

const MeshAgent* MeshConfig::agent(const std::string& n) const {
  for (const auto& a : agents) {
    if (a.name == n) return &a;
  }
  return nullptr;
}

Result<MeshConfig> parseMeshConfig(const std::string& yaml_text, const std::string& source_path) {
  YamlReader r(source_path);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) r.fail(root, "", "expected a mapping");
    r.onlyKeys(root, "", {"name", "host", "base_port", "trust_domains", "token_ttl", "seed",
                          "external_oidc", "agents"});
    for (const char* required : {"name", "base_port", "trust_domains", "seed", "agents"}) {
      if (!root[required]) r.fail(root, required, "is required");
    }
    MeshConfig c;
    c.source_path = source_path;
    const auto base_dir = std::filesystem::path(source_path).parent_path().string();
    c.name = r.nonEmptyString(root["name"], "name");
    if (!validName(c.name)) r.fail(root["name"], "name", "expected [a-z0-9][a-z0-9.-]{0,62}");
    if (root["host"]) {
      c.host = r.nonEmptyString(root["host"], "host");
      if (c.host != "127.0.0.1") r.fail(root["host"], "host", "the demo mesh runs on 127.0.0.1 only");
    }
    c.base_port = r.integer<std::uint16_t>(root["base_port"], "base_port", 1024, 65535);
    const auto& tds = root["trust_domains"];
    if (!tds.IsSequence() || tds.size() == 0) r.fail(tds, "trust_domains", "expected a non-empty list (home first)");
    for (std::size_t i = 0; i < tds.size(); ++i) {
      const auto path = "trust_domains[" + std::to_string(i) + "]";
      auto td = r.nonEmptyString(tds[i], path);
      if (!identity::SpiffeId::parse("spiffe://" + td)) r.fail(tds[i], path, "not a valid trust domain name");
      for (const auto& seen : c.trust_domains) {
        if (seen == td) r.fail(tds[i], path, "listed twice");
      }
      c.trust_domains.push_back(std::move(td));
    }
    c.home_trust_domain = c.trust_domains.front();
    if (root["token_ttl"]) {
      c.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(
          r.duration(root["token_ttl"], "token_ttl", std::chrono::seconds(10), std::chrono::hours(24)));
    }
    c.seed_path = resolveConfigPath(base_dir.empty() ? "." : base_dir, r.nonEmptyString(root["seed"], "seed"));
    const auto& agents = root["agents"];
    if (!agents.IsSequence() || agents.size() == 0) r.fail(agents, "agents", "expected a non-empty list");
    std::set<std::string> names, ids;
    for (std::size_t i = 0; i < agents.size(); ++i) {
      const auto path = "agents[" + std::to_string(i) + "]";
      auto a = parseAgent(r, agents[i], path);
      if (!names.insert(a.name).second) r.fail(agents[i]["name"], path + ".name", "used twice");
      if (!ids.insert(a.spiffe_id).second) r.fail(agents[i]["spiffe_id"], path + ".spiffe_id", "used twice");
      bool known = false;
      for (const auto& td : c.trust_domains) known = known || td == a.trust_domain;
      if (!known) r.fail(agents[i]["spiffe_id"], path + ".spiffe_id", "its trust domain is not in trust_domains");
      c.agents.push_back(std::move(a));
    }
    if (root["external_oidc"]) {
      const auto& n = root["external_oidc"];
      r.onlyKeys(n, "external_oidc", {"name", "subject", "audience", "agent"});
      for (const char* required : {"subject", "agent"}) {
        if (!n[required]) r.fail(n, YamlReader::join("external_oidc", required), "is required");
      }
      MeshExternalOidc o;
      if (n["name"]) o.name = r.nonEmptyString(n["name"], "external_oidc.name");
      o.subject = r.nonEmptyString(n["subject"], "external_oidc.subject");
      if (n["audience"]) o.audience = r.nonEmptyString(n["audience"], "external_oidc.audience");
      o.agent = r.nonEmptyString(n["agent"], "external_oidc.agent");
      c.external_oidc = std::move(o);
    }
    // Cross-references, once every agent is known.
    for (std::size_t i = 0; i < c.agents.size(); ++i) {
      auto& a = c.agents[i];
      const auto path = "agents[" + std::to_string(i) + "]";
      const auto& node = agents[i];
      if (a.external_oidc_credential && !c.external_oidc) {
        r.fail(node["credential"], path + ".credential", "external_oidc needs the external_oidc section");
      }
      if (a.external_oidc_credential && a.trust_domain != c.home_trust_domain) {
        r.fail(node["credential"], path + ".credential", "only agents of the home trust domain exchange tokens");
      }
      std::set<std::string> hosts;
      for (std::size_t k = 0; k < a.routes.size(); ++k) {
        auto& route = a.routes[k];
        const auto rpath = path + ".routes[" + std::to_string(k) + "]";
        const auto* target = c.agent(route.target);
        if (target == nullptr) r.fail(node["routes"][k], rpath + ".target", "no agent named " + route.target);
        if (!target->ingress) r.fail(node["routes"][k], rpath + ".target", route.target + " takes no calls (ingress: false)");
        if (route.host.empty()) route.host = route.target;
        if (!validName(route.host)) r.fail(node["routes"][k], rpath + ".host", "expected [a-z0-9][a-z0-9.-]{0,62}");
        if (!hosts.insert(route.host).second) r.fail(node["routes"][k], rpath + ".host", "used twice");
        if (route.token && route.audience.empty()) route.audience = "api://" + route.target;
      }
    }
    const unsigned needed = kSharedPorts + kPortsPerAgent * static_cast<unsigned>(c.agents.size());
    if (c.base_port + needed > 65535u) {
      r.fail(root["base_port"], "base_port", "too high: the mesh needs " + std::to_string(needed) + " ports above it");
    }
    return c;
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{source_path + ": invalid YAML: " + e.what()};
  }
}

Result<MeshConfig> loadMeshConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parseMeshConfig(text.str(), path);
}

}  // namespace warden::demo
