#include "controlplane/api_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <fstream>
#include <sstream>

#include "common/yaml_reader.h"
#include "jose/jws.h"
#include "token/fetch_url.h"

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

// Printable ASCII (spaces allowed inside), no control characters: an issuer, an audience
// or an Authorization header value as they are compared byte for byte.
bool printable(const std::string& s, bool spaces) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || (c == ' ' && !spaces)) return false;
  }
  return true;
}

SsfTransmitterConfig readTransmitter(const YamlReader& r, const YAML::Node& node,
                                     const std::string& path, const std::string& base_dir) {
  if (!node.IsMap()) r.fail(node, path, "expected a mapping {issuer, jwks_url | jwks_file, ...}");
  r.onlyKeys(node, path,
             {"issuer", "jwks_url", "jwks_file", "ca_file", "algorithms", "push_authorization"});
  SsfTransmitterConfig t;
  if (!node["issuer"]) r.fail(node, path + ".issuer", "is required");
  t.issuer = r.nonEmptyString(node["issuer"], path + ".issuer");
  // The registry records "ssf:<issuer>" as the risk source (at most 256 bytes).
  if (t.issuer.size() > kMaxSsfIssuerBytes || !printable(t.issuer, false)) {
    r.fail(node["issuer"], path + ".issuer",
           "printable ASCII without spaces, at most " + std::to_string(kMaxSsfIssuerBytes) + " bytes");
  }
  if (static_cast<bool>(node["jwks_url"]) == static_cast<bool>(node["jwks_file"])) {
    r.fail(node, path, "exactly one of jwks_url and jwks_file is required");
  }
  if (node["jwks_url"]) {
    t.jwks_url = r.nonEmptyString(node["jwks_url"], path + ".jwks_url");
    if (auto url = token::parseFetchUrl(t.jwks_url); !url) {
      r.fail(node["jwks_url"], path + ".jwks_url", url.error().message);
    }
  } else {
    t.jwks_file = resolveConfigPath(base_dir, r.nonEmptyString(node["jwks_file"], path + ".jwks_file"));
  }
  if (node["ca_file"]) {
    if (t.jwks_url.empty()) r.fail(node["ca_file"], path + ".ca_file", "only used with jwks_url");
    t.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(node["ca_file"], path + ".ca_file"));
  }
  if (const auto algs = node["algorithms"]) {
    if (!algs.IsSequence() || algs.size() == 0) {
      r.fail(algs, path + ".algorithms", "expected a non-empty list such as [RS256]");
    }
    t.algorithms.clear();
    for (std::size_t i = 0; i < algs.size(); ++i) {
      const std::string p = path + ".algorithms[" + std::to_string(i) + "]";
      const std::string name = r.nonEmptyString(algs[i], p);
      // jose knows the asymmetric algorithms only: never none, never HS*.
      if (!jose::algFromName(name)) {
        r.fail(algs[i], p, "expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512");
      }
      if (std::find(t.algorithms.begin(), t.algorithms.end(), name) != t.algorithms.end()) {
        r.fail(algs[i], p, name + " is listed twice");
      }
      t.algorithms.push_back(name);
    }
  }
  if (node["push_authorization"]) {
    t.push_authorization = r.nonEmptyString(node["push_authorization"], path + ".push_authorization");
    if (t.push_authorization.size() > 4096 || !printable(t.push_authorization, true) ||
        t.push_authorization.front() == ' ' || t.push_authorization.back() == ' ') {
      r.fail(node["push_authorization"], path + ".push_authorization",
             "the exact Authorization header value: printable ASCII, at most 4096 bytes, no "
             "leading or trailing space");
    }
  }
  return t;
}

SsfConfig readSsf(const YamlReader& r, const YAML::Node& node, const std::string& base_dir) {
  const std::string path = "control_plane.ssf";
  if (!node.IsMap()) r.fail(node, path, "expected a mapping {audience, transmitters, max_age}");
  r.onlyKeys(node, path, {"audience", "transmitters", "max_age", "revocation_ttl"});
  SsfConfig c;
  if (node["audience"]) {
    c.audience = r.nonEmptyString(node["audience"], path + ".audience");
    if (c.audience.size() > 2048 || !printable(c.audience, false)) {
      r.fail(node["audience"], path + ".audience", "printable ASCII without spaces, at most 2048 bytes");
    }
  }
  const YAML::Node list = node["transmitters"];
  if (!list) r.fail(node, path + ".transmitters", "is required");
  if (!list.IsSequence() || list.size() == 0) {
    r.fail(list, path + ".transmitters", "expected a non-empty list of {issuer, jwks_url | jwks_file}");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + ".transmitters[" + std::to_string(i) + "]";
    SsfTransmitterConfig t = readTransmitter(r, list[i], p, base_dir);
    for (const auto& other : c.transmitters) {
      if (other.issuer == t.issuer) r.fail(list[i]["issuer"], p + ".issuer", "issuer listed twice");
      if (!t.push_authorization.empty() && other.push_authorization == t.push_authorization) {
        r.fail(list[i]["push_authorization"], p + ".push_authorization",
               "another transmitter has the same value: a push could not be told apart");
      }
    }
    c.transmitters.push_back(std::move(t));
  }
  using std::chrono::milliseconds;
  if (node["max_age"]) {
    c.max_age = seconds(r, node["max_age"], path + ".max_age", milliseconds(60 * 1000),
                        milliseconds(30LL * 24 * 3600 * 1000));
  }
  if (node["revocation_ttl"]) {
    c.revocation_ttl = seconds(r, node["revocation_ttl"], path + ".revocation_ttl",
                               milliseconds(60 * 1000), milliseconds(365LL * 24 * 3600 * 1000));
  }
  return c;
}

PortalConfig readPortal(const YamlReader& r, const YAML::Node& node, const std::string& base_dir) {
  const std::string path = "control_plane.portal";
  if (!node.IsMap()) r.fail(node, path, "expected a mapping {dir, redirect_uris}");
  r.onlyKeys(node, path, {"dir", "redirect_uris", "sign_in_providers"});
  PortalConfig c;
  if (!node["dir"]) r.fail(node, path + ".dir", "is required");
  c.dir = resolveConfigPath(base_dir, r.nonEmptyString(node["dir"], path + ".dir"));
  if (const auto uris = node["redirect_uris"]) {
    if (!uris.IsSequence()) r.fail(uris, path + ".redirect_uris", "expected a list of URLs");
    for (std::size_t i = 0; i < uris.size(); ++i) {
      const std::string p = path + ".redirect_uris[" + std::to_string(i) + "]";
      std::string uri = r.nonEmptyString(uris[i], p);
      // Exact-match URIs without a fragment (RFC 6749 §3.1.2); http only for loopback
      // development servers.
      const bool https = uri.rfind("https://", 0) == 0;
      const bool loopback = uri.rfind("http://localhost:", 0) == 0 ||
                            uri.rfind("http://127.0.0.1:", 0) == 0 ||
                            uri.rfind("http://[::1]:", 0) == 0;
      if ((!https && !loopback) || uri.find('#') != std::string::npos || uri.size() > 2048 ||
          !printable(uri, false)) {
        r.fail(uris[i], p, "an https:// URL (or http:// on localhost) without a fragment");
      }
      c.redirect_uris.push_back(std::move(uri));
    }
  }
  if (node["sign_in_providers"]) {
    c.sign_in_providers =
        readSignInProviders(r, node["sign_in_providers"], path + ".sign_in_providers", base_dir);
  }
  return c;
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
               {"listen", "public_url", "tls", "database", "access", "bootstrap_admin", "login_token_ttl", "login_throttle",
                "audit_retention", "long_poll_max", "seed", "ssf", "portal"});
    ControlPlaneConfig c;
    c.source_path = source_path;
    if (!cp["listen"]) r.fail(cp, "control_plane.listen", "is required");
    std::tie(c.listen_host, c.listen_port) = readListen(r, cp["listen"], "control_plane.listen");
    if (cp["public_url"]) {
      c.public_url = r.nonEmptyString(cp["public_url"], "control_plane.public_url");
      static const std::regex kOrigin(R"(https://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?)");
      if (!std::regex_match(c.public_url, kOrigin)) {
        r.fail(cp["public_url"], "control_plane.public_url",
               "expected https://host[:port] (lower case, no path, no trailing slash)");
      }
    }
    if (!cp["tls"]) r.fail(cp, "control_plane.tls", "is required");
    r.onlyKeys(cp["tls"], "control_plane.tls", {"svid"});
    if (!cp["tls"]["svid"]) r.fail(cp["tls"], "control_plane.tls.svid", "is required");
    c.tls_svid_entry = r.nonEmptyString(cp["tls"]["svid"], "control_plane.tls.svid");
    c.database = cp["database"]
                     ? resolveConfigPath(base_dir, r.nonEmptyString(cp["database"], "control_plane.database"))
                     : (std::filesystem::path(state_dir) / "warden.db").string();
    if (const auto access = cp["access"]) {
      r.onlyKeys(access, "control_plane.access", {"admins", "developers", "viewers", "identity_providers"});
      if (const auto idps = access["identity_providers"]) {
        const std::string path = "control_plane.access.identity_providers";
        if (!idps.IsSequence()) r.fail(idps, path, "expected a list");
        for (std::size_t i = 0; i < idps.size(); ++i) {
          const std::string p = path + "[" + std::to_string(i) + "]";
          const YAML::Node n = idps[i];
          r.onlyKeys(n, p, {"issuer", "discovery_url", "jwks_url", "jwks_file", "ca_file", "audiences",
                            "algorithms", "typ", "roles_claim", "admins", "developers", "viewers"});
          IdentityProviderConfig idp;
          auto strings = [&](const char* key) {
            std::vector<std::string> out;
            if (!n[key]) return out;
            if (!n[key].IsSequence()) r.fail(n[key], p + "." + key, "expected a list of strings");
            for (std::size_t j = 0; j < n[key].size(); ++j) {
              out.push_back(r.nonEmptyString(n[key][j], p + "." + key + "[" + std::to_string(j) + "]"));
            }
            return out;
          };
          if (!n["issuer"]) r.fail(n, p + ".issuer", "is required");
          idp.issuer.issuer = r.nonEmptyString(n["issuer"], p + ".issuer");
          if (n["discovery_url"]) idp.issuer.discovery_url = r.nonEmptyString(n["discovery_url"], p + ".discovery_url");
          if (n["jwks_url"]) idp.issuer.jwks_url = r.nonEmptyString(n["jwks_url"], p + ".jwks_url");
          if (n["jwks_file"]) {
            idp.issuer.jwks_file = resolveConfigPath(base_dir, r.nonEmptyString(n["jwks_file"], p + ".jwks_file"));
          }
          if (n["ca_file"]) idp.issuer.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(n["ca_file"], p + ".ca_file"));
          idp.issuer.audiences = strings("audiences");
          if (idp.issuer.audiences.empty()) r.fail(n, p + ".audiences", "at least one accepted audience is required");
          if (n["algorithms"]) idp.issuer.algorithms = strings("algorithms");
          idp.issuer.require_typ = n["typ"] ? r.string(n["typ"], p + ".typ") : std::string();
          if (n["roles_claim"]) idp.issuer.roles_claim = r.nonEmptyString(n["roles_claim"], p + ".roles_claim");
          idp.admin_values = strings("admins");
          idp.developer_values = strings("developers");
          idp.viewer_values = strings("viewers");
          if (idp.admin_values.empty() && idp.developer_values.empty() && idp.viewer_values.empty()) {
            r.fail(n, p, "map at least one claim value to admins, developers or viewers");
          }
          if (auto st = token::validateIssuerConfig(idp.issuer, p); !st) r.fail(n, p, st.message());
          c.access.identity_providers.push_back(std::move(idp));
        }
      }
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
    if (const YAML::Node t = cp["login_throttle"]) {
      const std::string path = "control_plane.login_throttle";
      if (!t.IsMap()) r.fail(t, path, "expected a mapping");
      r.onlyKeys(t, path, {"free_failures", "base_delay", "max_delay"});
      if (t["free_failures"]) {
        c.login_throttle.free_failures = r.integer<unsigned>(t["free_failures"], path + ".free_failures", 1, 100);
      }
      if (t["base_delay"]) {
        c.login_throttle.base_delay = seconds(r, t["base_delay"], path + ".base_delay", milliseconds(1000),
                                              milliseconds(3600 * 1000));
      }
      if (t["max_delay"]) {
        c.login_throttle.max_delay = seconds(r, t["max_delay"], path + ".max_delay", milliseconds(1000),
                                             milliseconds(24LL * 3600 * 1000));
      }
      if (c.login_throttle.max_delay < c.login_throttle.base_delay) {
        r.fail(t, path + ".max_delay", "must not be shorter than base_delay");
      }
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
    if (cp["ssf"]) c.ssf = readSsf(r, cp["ssf"], base_dir);
    if (cp["portal"]) c.portal = readPortal(r, cp["portal"], base_dir);
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
