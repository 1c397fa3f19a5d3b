#include "controlplane/api_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/yaml_reader.h"

namespace warden::controlplane {
namespace {

std::vector<identity::IdMatcher> readMatchers(const YamlReader& r, const YAML::Node& node,
                                              const std::string& path) {
  if (!node.IsSequence()) r.fail(node, path, "expected a list of {id|pattern|trust_domain}");
  std::vector<identity::IdMatcher> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const YAML::Node m = node[i];
    if (!m.IsMap() || m.size() != 1) r.fail(m, p, "expected exactly one of id, pattern, trust_domain");
    r.onlyKeys(m, p, {"id", "pattern", "trust_domain"});
    Result<identity::IdMatcher> matcher = Error{""};
    if (m["id"]) matcher = identity::IdMatcher::exact(r.nonEmptyString(m["id"], p + ".id"));
    if (m["pattern"]) {
      matcher = identity::IdMatcher::pattern(r.nonEmptyString(m["pattern"], p + ".pattern"));
    }
    if (m["trust_domain"]) {
      matcher = identity::IdMatcher::trustDomain(
          r.nonEmptyString(m["trust_domain"], p + ".trust_domain"));
    }
    if (!matcher) r.fail(m, p, matcher.error().message);
    out.push_back(std::move(*matcher));
  }
  return out;
}

std::pair<std::string, std::uint16_t> readListen(const YamlReader& r, const YAML::Node& node,
                                                 const std::string& path) {
  const std::string text = r.nonEmptyString(node, path);
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) r.fail(node, path, "expected HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    r.fail(node, path, "expected HOST:PORT with a numeric port");
  }
  if (port > 65535) r.fail(node, path, "port out of range");
  return {host, static_cast<std::uint16_t>(port)};
}

std::chrono::seconds seconds(const YamlReader& r, const YAML::Node& node, const std::string& path,
                             std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return std::chrono::duration_cast<std::chrono::seconds>(r.duration(node, path, min, max));
}

}  // namespace

Result<std::optional<ControlPlaneConfig>> parseControlPlaneConfig(const std::string& yaml_text,
                                                                  const std::string& source_path,
                                                                  const std::string& state_dir) {
  const YamlReader r(source_path);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap() || !root["control_plane"]) return std::optional<ControlPlaneConfig>{};
    const YAML::Node cp = root["control_plane"];
    const std::string base = std::filesystem::path(source_path).parent_path().string();
    const std::string base_dir = base.empty() ? "." : base;
    if (!cp.IsMap()) r.fail(cp, "control_plane", "expected a mapping");
    r.onlyKeys(cp, "control_plane",
               {"listen", "tls", "database", "access", "bootstrap_admin", "login_token_ttl",
                "audit_retention", "long_poll_max", "seed"});
    ControlPlaneConfig c;
    c.source_path = source_path;
    if (!cp["listen"]) r.fail(cp, "control_plane.listen", "is required");
    std::tie(c.listen_host, c.listen_port) = readListen(r, cp["listen"], "control_plane.listen");
    if (!cp["tls"]) r.fail(cp, "control_plane.tls", "is required");
    r.onlyKeys(cp["tls"], "control_plane.tls", {"svid"});
    if (!cp["tls"]["svid"]) r.fail(cp["tls"], "control_plane.tls.svid", "is required");
    c.tls_svid_entry = r.nonEmptyString(cp["tls"]["svid"], "control_plane.tls.svid");
    c.database = cp["database"]
                     ? resolveConfigPath(base_dir, r.nonEmptyString(cp["database"], "control_plane.database"))
                     : (std::filesystem::path(state_dir) / "warden.db").string();
    if (const auto access = cp["access"]) {
      r.onlyKeys(access, "control_plane.access", {"admins", "developers", "viewers"});
      if (access["admins"]) c.access.admins = readMatchers(r, access["admins"], "control_plane.access.admins");
      if (access["developers"]) {
        c.access.developers = readMatchers(r, access["developers"], "control_plane.access.developers");
      }
      if (access["viewers"]) c.access.viewers = readMatchers(r, access["viewers"], "control_plane.access.viewers");
    }
    if (cp["bootstrap_admin"]) c.bootstrap_admin = r.boolean(cp["bootstrap_admin"], "control_plane.bootstrap_admin");
    using std::chrono::milliseconds;
    if (cp["login_token_ttl"]) {
      c.login_token_ttl = seconds(r, cp["login_token_ttl"], "control_plane.login_token_ttl",
                                  milliseconds(60000), milliseconds(24LL * 3600 * 1000));
    }
    if (cp["audit_retention"]) {
      c.audit_retention = seconds(r, cp["audit_retention"], "control_plane.audit_retention",
                                  milliseconds(3600 * 1000), milliseconds(3650LL * 24 * 3600 * 1000));
    }
    if (cp["long_poll_max"]) {
      c.long_poll_max = seconds(r, cp["long_poll_max"], "control_plane.long_poll_max",
                                milliseconds(1000), milliseconds(300 * 1000));
    }
    if (cp["seed"]) c.seed_path = resolveConfigPath(base_dir, r.nonEmptyString(cp["seed"], "control_plane.seed"));
    if (!c.bootstrap_admin && c.access.admins.empty()) {
      r.fail(cp, "control_plane.access.admins",
             "no administrator: list admin SPIFFE IDs or enable bootstrap_admin");
    }
    return std::optional<ControlPlaneConfig>{std::move(c)};
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{source_path + ": invalid YAML: " + e.what()};
  }
}

Result<std::optional<ControlPlaneConfig>> loadControlPlaneConfig(const std::string& path,
                                                                 const std::string& state_dir) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parseControlPlaneConfig(text.str(), path, state_dir);
}

}  // namespace warden::controlplane
