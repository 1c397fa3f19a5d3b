#include "issuer/server_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/https_url.h"
#include "common/yaml_reader.h"
#include "identity/spiffe_id.h"
#include "issuer/oidc_discovery.h"

namespace warden::issuer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

seconds toSeconds(milliseconds ms) { return std::chrono::duration_cast<seconds>(ms); }

std::vector<std::string> stringList(const YamlReader& r, const YAML::Node& node,
                                    const std::string& path) {
  if (!node.IsSequence()) r.fail(node, path, "expected a list");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(r.nonEmptyString(node[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

RegistrationEntry parseEntry(const YamlReader& r, const YAML::Node& node, const std::string& path,
                             const std::string& base_dir) {
  r.onlyKeys(node, path, {"name", "spiffe_id", "selectors", "socket", "x509_ttl", "jwt_ttl",
                          "dns_names", "federates_with", "hint"});
  RegistrationEntry e;
  if (!node["name"]) r.fail(node, path + ".name", "is required");
  e.name = r.nonEmptyString(node["name"], path + ".name");
  if (!node["spiffe_id"]) r.fail(node, path + ".spiffe_id", "is required");
  auto id = identity::SpiffeId::parse(r.string(node["spiffe_id"], path + ".spiffe_id"));
  if (!id) r.fail(node["spiffe_id"], path + ".spiffe_id", id.error().message);
  e.spiffe_id = *id;
  if (node["selectors"]) {
    e.selectors = stringList(r, node["selectors"], path + ".selectors");
    for (std::size_t i = 0; i < e.selectors.size(); ++i) {
      if (auto st = validateSelector(e.selectors[i]); !st) {
        r.fail(node["selectors"][i], path + ".selectors[" + std::to_string(i) + "]", st.message());
      }
    }
    std::sort(e.selectors.begin(), e.selectors.end());
    e.selectors.erase(std::unique(e.selectors.begin(), e.selectors.end()), e.selectors.end());
  }
  if (node["socket"]) {
    e.socket_path = resolveConfigPath(base_dir, r.nonEmptyString(node["socket"], path + ".socket"));
  }
  if (node["x509_ttl"]) {
    e.x509_ttl = toSeconds(r.duration(node["x509_ttl"], path + ".x509_ttl", seconds(1),
                                      std::chrono::hours(24 * 30)));
  }
  if (node["jwt_ttl"]) {
    e.jwt_ttl = toSeconds(
        r.duration(node["jwt_ttl"], path + ".jwt_ttl", seconds(1), std::chrono::hours(24)));
  }
  if (node["dns_names"]) e.dns_names = stringList(r, node["dns_names"], path + ".dns_names");
  if (node["federates_with"]) {
    e.federates_with = stringList(r, node["federates_with"], path + ".federates_with");
  }
  if (node["hint"]) e.hint = r.string(node["hint"], path + ".hint");
  return e;
}

FederationRelationship parseRelationship(const YamlReader& r, const YAML::Node& node,
                                         const std::string& path, const std::string& base_dir) {
  r.onlyKeys(node, path, {"trust_domain", "bundle_endpoint_url", "profile", "ca_file",
                          "endpoint_spiffe_id", "bootstrap_bundle"});
  FederationRelationship f;
  // The three parameters are explicit and none is inferred from another (federation spec).
  for (const char* required : {"trust_domain", "bundle_endpoint_url", "profile"}) {
    if (!node[required]) r.fail(node, path + "." + required, "is required");
  }
  f.trust_domain = r.nonEmptyString(node["trust_domain"], path + ".trust_domain");
  if (auto st = identity::validateTrustDomain(f.trust_domain); !st) {
    r.fail(node["trust_domain"], path + ".trust_domain", st.message());
  }
  f.url = r.nonEmptyString(node["bundle_endpoint_url"], path + ".bundle_endpoint_url");
  const auto profile = r.string(node["profile"], path + ".profile");
  if (profile == "https_web") {
    f.profile = FederationProfile::kHttpsWeb;
  } else if (profile == "https_spiffe") {
    f.profile = FederationProfile::kHttpsSpiffe;
  } else {
    r.fail(node["profile"], path + ".profile", "expected https_web or https_spiffe");
  }
  if (node["ca_file"]) {
    f.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(node["ca_file"], path + ".ca_file"));
  }
  if (node["endpoint_spiffe_id"]) {
    f.endpoint_spiffe_id = r.nonEmptyString(node["endpoint_spiffe_id"], path + ".endpoint_spiffe_id");
  }
  if (node["bootstrap_bundle"]) {
    const auto file = resolveConfigPath(
        base_dir, r.nonEmptyString(node["bootstrap_bundle"], path + ".bootstrap_bundle"));
    std::ifstream in(file);
    if (!in) r.fail(node["bootstrap_bundle"], path + ".bootstrap_bundle", "cannot read " + file);
    std::ostringstream text;
    text << in.rdbuf();
    f.bootstrap_bundle = text.str();
  }
  if (f.profile == FederationProfile::kHttpsSpiffe &&
      (f.endpoint_spiffe_id.empty() || f.bootstrap_bundle.empty())) {
    r.fail(node, path, "https_spiffe needs endpoint_spiffe_id and bootstrap_bundle");
  }
  return f;
}

IdentityServerConfig parse(const YAML::Node& root, const YamlReader& r, const std::string& base_dir) {
  IdentityServerConfig c;
  // `token_service` belongs to src/tokenservice (which links this module, not the other
  // way round); it parses and validates that section itself (tokenservice/config.h).
  r.onlyKeys(root, "", {"trust_domain", "state_dir", "ca_ttl", "jwt_key_ttl", "jwt_key_type",
                        "jwt_issuer", "workload_api",
                        "bundle_endpoint", "federation", "entries", "token_service",
                        "control_plane"});
  if (!root["trust_domain"]) r.fail(root, "trust_domain", "is required");
  c.trust_domain = r.nonEmptyString(root["trust_domain"], "trust_domain");
  if (auto st = identity::validateTrustDomain(c.trust_domain); !st) {
    r.fail(root["trust_domain"], "trust_domain", st.message());
  }
  if (!root["state_dir"]) r.fail(root, "state_dir", "is required (keys persist there)");
  c.state_dir = resolveConfigPath(base_dir, r.nonEmptyString(root["state_dir"], "state_dir"));
  if (root["ca_ttl"]) {
    c.ca_ttl = toSeconds(r.duration(root["ca_ttl"], "ca_ttl", std::chrono::minutes(1),
                                    std::chrono::hours(24 * 3650)));
  }
  if (root["jwt_key_ttl"]) {
    c.jwt_key_ttl = toSeconds(r.duration(root["jwt_key_ttl"], "jwt_key_ttl",
                                         std::chrono::minutes(1), std::chrono::hours(24 * 365)));
  }
  if (root["jwt_key_type"]) {
    const auto name = r.string(root["jwt_key_type"], "jwt_key_type");
    const auto type = jwtKeyTypeFromName(name);
    if (!type) {
      r.fail(root["jwt_key_type"], "jwt_key_type",
             "\"" + name + "\" is not a key type (expected rsa-2048 or ec-p256)");
    }
    c.jwt_key_type = *type;
  }
  if (root["jwt_issuer"]) {
    c.jwt_issuer = r.nonEmptyString(root["jwt_issuer"], "jwt_issuer");
    if (auto st = validateIssuerUrl(c.jwt_issuer); !st) {
      r.fail(root["jwt_issuer"], "jwt_issuer", "\"" + c.jwt_issuer + "\" " + st.message());
    }
  }
  if (const auto w = root["workload_api"]) {
    r.onlyKeys(w, "workload_api", {"socket"});
    if (w["socket"]) {
      c.workload_api_socket =
          resolveConfigPath(base_dir, r.nonEmptyString(w["socket"], "workload_api.socket"));
    }
  }
  if (const auto b = root["bundle_endpoint"]) {
    r.onlyKeys(b, "bundle_endpoint", {"listen", "path", "cert", "key", "refresh_hint"});
    BundleEndpointConfig be;
    for (const char* required : {"listen", "cert", "key"}) {
      if (!b[required]) r.fail(b, std::string("bundle_endpoint.") + required, "is required");
    }
    const auto listen = r.string(b["listen"], "bundle_endpoint.listen");
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) r.fail(b["listen"], "bundle_endpoint.listen", "expected host:port");
    be.listen_host = listen.substr(0, colon);
    if (be.listen_host.size() > 1 && be.listen_host.front() == '[') {
      be.listen_host = be.listen_host.substr(1, be.listen_host.size() - 2);
    }
    YAML::Node port_node(listen.substr(colon + 1));
    be.listen_port = r.integer<std::uint16_t>(port_node, "bundle_endpoint.listen (port)", 0, 65535);
    if (b["path"]) {
      be.path = r.nonEmptyString(b["path"], "bundle_endpoint.path");
      if (be.path.front() != '/') r.fail(b["path"], "bundle_endpoint.path", "must start with /");
    }
    be.cert_path = resolveConfigPath(base_dir, r.nonEmptyString(b["cert"], "bundle_endpoint.cert"));
    be.key_path = resolveConfigPath(base_dir, r.nonEmptyString(b["key"], "bundle_endpoint.key"));
    if (b["refresh_hint"]) {
      c.bundle_refresh_hint = toSeconds(r.duration(b["refresh_hint"], "bundle_endpoint.refresh_hint",
                                                   seconds(1), std::chrono::hours(24)));
    }
    if (!c.jwt_issuer.empty() &&
        (be.path == oidcDiscoveryPath(c.jwt_issuer) || be.path == oidcJwksPath(c.jwt_issuer))) {
      // The endpoint also serves the issuer's discovery document and JWKS (identity.md).
      r.fail(b["path"], "bundle_endpoint.path",
             "\"" + be.path + "\" is where the jwt_issuer's OIDC discovery is served");
    }
    c.bundle_endpoint = be;
  }
  if (const auto f = root["federation"]) {
    if (!f.IsSequence()) r.fail(f, "federation", "expected a list of relationships");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < f.size(); ++i) {
      const std::string path = "federation[" + std::to_string(i) + "]";
      auto rel = parseRelationship(r, f[i], path, base_dir);
      if (rel.trust_domain == c.trust_domain) {
        r.fail(f[i], path + ".trust_domain", "cannot federate with the server's own trust domain");
      }
      if (!seen.insert(rel.trust_domain).second) {
        r.fail(f[i], path + ".trust_domain", "duplicate relationship for " + rel.trust_domain);
      }
      c.federation.push_back(std::move(rel));
    }
  }
  if (const auto e = root["entries"]) {
    if (!e.IsSequence()) r.fail(e, "entries", "expected a list of registration entries");
    for (std::size_t i = 0; i < e.size(); ++i) {
      c.entries.push_back(parseEntry(r, e[i], "entries[" + std::to_string(i) + "]", base_dir));
    }
  }
  if (auto st = validateEntries(c.entries, c.trust_domain); !st) r.fail(root["entries"], "entries", st.message());
  if (c.workload_api_socket.empty() &&
      std::none_of(c.entries.begin(), c.entries.end(),
                   [](const auto& en) { return !en.socket_path.empty(); }) &&
      !c.entries.empty()) {
    r.fail(root, "workload_api.socket", "is required when no entry has its own socket");
  }
  return c;
}

}  // namespace

Result<IdentityServerConfig> parseIdentityServerConfig(const std::string& yaml_text,
                                                       const std::string& source_path) {
  YamlReader reader(source_path);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    const auto base_dir = std::filesystem::path(source_path).parent_path().string();
    auto config = parse(root, reader, base_dir.empty() ? "." : base_dir);
    config.source_path = source_path;
    return config;
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{source_path + ": invalid YAML: " + e.what()};
  }
}

Result<IdentityServerConfig> loadIdentityServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parseIdentityServerConfig(text.str(), path);
}

}  // namespace warden::issuer
