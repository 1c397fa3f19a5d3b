#include "proxy/sidecar_config.h"

#include <yaml-cpp/yaml.h>

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/yaml_reader.h"
#include "identity/spiffe_id.h"
#include "token/fetch_url.h"
#include "workload/endpoint_address.h"

namespace warden::proxy {
namespace {

using Reader = YamlReader;

Endpoint readEndpoint(const Reader& r, const YAML::Node& node, const std::string& path) {
  auto parsed = parseEndpoint(r.string(node, path));
  if (!parsed) r.fail(node, path, parsed.error().message);
  return *parsed;
}

EgressTokenConfig readEgressToken(const Reader& r, const YAML::Node& node, const std::string& p,
                                  const std::string& base_dir) {
  if (!node.IsMap()) r.fail(node, p, "expected a mapping");
  r.onlyKeys(node, p, {"token_endpoint", "issuer", "assertion_audience", "resource", "scope",
                       "client_auth", "client_id", "ca_file", "server_spiffe_id",
                       "refresh_before", "subject_token_file", "subject_token_type"});
  EgressTokenConfig t;
  if (!node["token_endpoint"]) r.fail(node, p + ".token_endpoint", "is required");
  t.token_endpoint = r.nonEmptyString(node["token_endpoint"], p + ".token_endpoint");
  const auto url = token::parseFetchUrl(t.token_endpoint);
  if (!url) r.fail(node["token_endpoint"], p + ".token_endpoint", url.error().message);
  if (url->target.find('?') != std::string::npos) {
    r.fail(node["token_endpoint"], p + ".token_endpoint", "a query is not allowed");
  }
  if (node["subject_token_file"]) {
    t.subject_token_file = resolveConfigPath(
        base_dir, r.nonEmptyString(node["subject_token_file"], p + ".subject_token_file"));
    // RFC 8693 §2.1: the subject token is the whole credential; there is no client to
    // authenticate, so settings that shape a client assertion would silently do nothing.
    for (const char* key : {"client_auth", "issuer", "assertion_audience"}) {
      if (node[key]) {
        r.fail(node[key], p + "." + key,
               "does not apply with subject_token_file (token exchange has no client "
               "authentication)");
      }
    }
  }
  if (node["subject_token_type"]) {
    if (!t.tokenExchange()) {
      r.fail(node["subject_token_type"], p + ".subject_token_type",
             "applies only with subject_token_file");
    }
    const std::string type =
        r.nonEmptyString(node["subject_token_type"], p + ".subject_token_type");
    if (type != kTokenTypeJwt && type != kTokenTypeIdToken) {
      r.fail(node["subject_token_type"], p + ".subject_token_type",
             "expected " + std::string(kTokenTypeJwt) + " or " + std::string(kTokenTypeIdToken) +
                 ", got \"" + type + "\"");
    }
    t.subject_token_type = type;
  }
  if (node["client_auth"]) {
    const std::string auth = r.nonEmptyString(node["client_auth"], p + ".client_auth");
    if (auth == "private_key_jwt") {
      t.client_auth = TokenClientAuth::kPrivateKeyJwt;
    } else if (auth == "tls_client_auth") {
      t.client_auth = TokenClientAuth::kTlsClientAuth;
    } else {
      r.fail(node["client_auth"], p + ".client_auth",
             "expected private_key_jwt or tls_client_auth, got \"" + auth + "\"");
    }
  }
  if (node["issuer"]) t.issuer = r.nonEmptyString(node["issuer"], p + ".issuer");
  if (node["assertion_audience"]) {
    t.assertion_audience =
        r.nonEmptyString(node["assertion_audience"], p + ".assertion_audience");
  }
  // The assertion needs an audience: the issuer's identifier, or the one given instead
  // (Entra's api://AzureADTokenExchange), which then makes the issuer unnecessary.
  if (!t.tokenExchange() && t.client_auth == TokenClientAuth::kPrivateKeyJwt && t.issuer.empty() &&
      t.assertion_audience.empty()) {
    r.fail(node, p + ".issuer",
           "is required with private_key_jwt (the client assertion's audience), unless "
           "assertion_audience is given");
  }
  if (t.client_auth == TokenClientAuth::kTlsClientAuth) {
    if (!url->tls) {
      r.fail(node["token_endpoint"], p + ".token_endpoint",
             "tls_client_auth needs an https token endpoint");
    }
    if (!t.assertion_audience.empty()) {
      r.fail(node["assertion_audience"], p + ".assertion_audience",
             "applies only to private_key_jwt");
    }
  }
  if (node["resource"]) t.resource = r.nonEmptyString(node["resource"], p + ".resource");
  if (node["scope"]) t.scope = r.nonEmptyString(node["scope"], p + ".scope");
  if (t.resource.empty() && t.scope.empty()) {
    r.fail(node, p, "at least one of resource and scope is required (the token's audience)");
  }
  if (node["client_id"]) t.client_id = r.nonEmptyString(node["client_id"], p + ".client_id");
  if (node["ca_file"] && node["server_spiffe_id"]) {
    r.fail(node["server_spiffe_id"], p + ".server_spiffe_id",
           "ca_file and server_spiffe_id are exclusive (one way to verify the endpoint)");
  }
  if (node["ca_file"]) {
    t.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(node["ca_file"], p + ".ca_file"));
  }
  if (node["server_spiffe_id"]) {
    t.server_spiffe_id = r.nonEmptyString(node["server_spiffe_id"], p + ".server_spiffe_id");
    auto parsed = identity::SpiffeId::parse(t.server_spiffe_id);
    if (!parsed) r.fail(node["server_spiffe_id"], p + ".server_spiffe_id", parsed.error().message);
    if (!url->tls) {
      r.fail(node["server_spiffe_id"], p + ".server_spiffe_id",
             "needs an https token_endpoint");
    }
  }
  if (node["refresh_before"]) {
    t.refresh_before = r.duration(node["refresh_before"], p + ".refresh_before",
                                  std::chrono::seconds(1), std::chrono::hours(24));
  }
  return t;
}

bool isLoopback(const Endpoint& e) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(e.host, ec);
  return !ec && addr.is_loopback();
}

SidecarConfig parse(const YAML::Node& root, const Reader& r, const std::string& base_dir) {
  SidecarConfig c;
  r.onlyKeys(root, "", {"identity", "ingress", "egress", "admin", "audit", "limits", "timeouts",
                        "workers", "control_plane"});
  // Where the target's rules come from: files (standalone) or the control plane.
  const auto cp = root["control_plane"];
  if (cp) {
    r.onlyKeys(cp, "control_plane", {"url", "server_id", "state_dir", "poll_wait", "ship_audit",
                                         "status_interval", "test_calls"});
    ControlPlaneConfig cc;
    for (const char* k : {"url", "server_id", "state_dir"}) {
      if (!cp[k]) r.fail(cp, std::string("control_plane.") + k, "is required");
    }
    cc.url = r.nonEmptyString(cp["url"], "control_plane.url");
    if (cc.url.rfind("https://", 0) != 0) r.fail(cp["url"], "control_plane.url", "must be an https URL");
    cc.server_id = r.nonEmptyString(cp["server_id"], "control_plane.server_id");
    if (auto id = identity::SpiffeId::parse(cc.server_id); !id) {
      r.fail(cp["server_id"], "control_plane.server_id", id.error().message);
    }
    cc.state_dir = resolveConfigPath(base_dir, r.nonEmptyString(cp["state_dir"], "control_plane.state_dir"));
    if (cp["poll_wait"]) {
      cc.poll_wait = std::chrono::duration_cast<std::chrono::seconds>(
          r.duration(cp["poll_wait"], "control_plane.poll_wait", std::chrono::seconds(1),
                     std::chrono::seconds(300)));
    }
    if (cp["ship_audit"]) cc.ship_audit = r.boolean(cp["ship_audit"], "control_plane.ship_audit");
    if (cp["status_interval"]) {
      // Whole seconds: the report says its interval in seconds, and the server's staleness
      // (three intervals) is computed from that.
      const auto interval = r.duration(cp["status_interval"], "control_plane.status_interval",
                                       std::chrono::seconds(1), std::chrono::seconds(300));
      if (interval.count() % 1000 != 0) {
        r.fail(cp["status_interval"], "control_plane.status_interval", "must be whole seconds");
      }
      cc.status_interval = std::chrono::duration_cast<std::chrono::seconds>(interval);
    }
    if (cp["test_calls"]) {
      cc.test_calls = r.boolean(cp["test_calls"], "control_plane.test_calls");
      // A test call is sent through the egress listener, like the app's requests.
      if (cc.test_calls && !root["egress"]) {
        r.fail(cp["test_calls"], "control_plane.test_calls", "needs egress (test calls are sent through it)");
      }
    }
    c.control_plane = cc;
  }

  const auto id = root["identity"];
  if (!id) {
    // The SPIFFE convention: with nothing configured, the Workload API named by the
    // environment is the identity source.
    const char* env = std::getenv(workload::kEndpointSocketEnv);
    if (env == nullptr || *env == '\0') {
      r.fail(root, "identity", "is required (or set SPIFFE_ENDPOINT_SOCKET)");
    }
    if (auto addr = workload::parseEndpointAddress(env); !addr) {
      r.fail(root, "identity", std::string("SPIFFE_ENDPOINT_SOCKET: ") + addr.error().message);
    }
    c.identity.workload_api = env;
  } else if (id["workload_api"]) {
    // Files and the Workload API are exclusive: one source of truth for the SVID.
    r.onlyKeys(id, "identity", {"workload_api", "poll_interval_ms"});
    c.identity.workload_api = r.nonEmptyString(id["workload_api"], "identity.workload_api");
    if (id["poll_interval_ms"]) {
      c.identity.poll_interval_ms =
          r.integer<std::uint32_t>(id["poll_interval_ms"], "identity.poll_interval_ms", 50, 600000);
    }
    if (auto addr = workload::parseEndpointAddress(c.identity.workload_api); !addr) {
      r.fail(id["workload_api"], "identity.workload_api", addr.error().message);
    }
  } else {
    r.onlyKeys(id, "identity", {"cert", "key", "bundles", "poll_interval_ms", "workload_api"});
    if (!id["cert"]) r.fail(id, "identity.cert", "is required (or use identity.workload_api)");
    if (!id["key"]) r.fail(id, "identity.key", "is required");
    if (!id["bundles"]) r.fail(id, "identity.bundles", "is required (trust domain -> CA file)");
    c.identity.cert_path = resolveConfigPath(base_dir, r.nonEmptyString(id["cert"], "identity.cert"));
    c.identity.key_path = resolveConfigPath(base_dir, r.nonEmptyString(id["key"], "identity.key"));
    const auto bundles = id["bundles"];
    if (!bundles.IsMap() || bundles.size() == 0) {
      r.fail(bundles, "identity.bundles", "expected a non-empty mapping of trust domain to file");
    }
    for (const auto& kv : bundles) {
      const auto td = kv.first.as<std::string>();
      const std::string path = "identity.bundles." + td;
      if (auto st = identity::validateTrustDomain(td); !st) r.fail(kv.first, path, st.message());
      c.identity.bundle_paths[td] = resolveConfigPath(base_dir, r.nonEmptyString(kv.second, path));
    }
    if (id["poll_interval_ms"]) {
      c.identity.poll_interval_ms =
          r.integer<std::uint32_t>(id["poll_interval_ms"], "identity.poll_interval_ms", 50, 600000);
    }
  }

  if (const auto in = root["ingress"]) {
    r.onlyKeys(in, "ingress", {"listen", "upstream", "policy", "governance"});
    IngressConfig ic;
    for (const char* k : {"listen", "upstream"}) {
      if (!in[k]) r.fail(in, std::string("ingress.") + k, "is required");
    }
    if (cp && (in["policy"] || in["governance"])) {
      r.fail(in["policy"] ? in["policy"] : in["governance"], "ingress",
             "policy and governance come from control_plane; remove ingress.policy/governance");
    }
    if (!cp && !in["policy"]) {
      r.fail(in, "ingress.policy", "is required (or configure control_plane)");
    }
    ic.listen = readEndpoint(r, in["listen"], "ingress.listen");
    ic.upstream = readEndpoint(r, in["upstream"], "ingress.upstream");
    if (in["policy"]) {
      ic.policy_path = resolveConfigPath(base_dir, r.nonEmptyString(in["policy"], "ingress.policy"));
    }
    if (in["governance"]) {
      ic.governance_path =
          resolveConfigPath(base_dir, r.nonEmptyString(in["governance"], "ingress.governance"));
    }
    c.ingress = ic;
  }

  if (const auto eg = root["egress"]) {
    r.onlyKeys(eg, "egress", {"listen", "routes"});
    EgressConfig ec;
    if (!eg["listen"]) r.fail(eg, "egress.listen", "is required");
    ec.listen = readEndpoint(r, eg["listen"], "egress.listen");
    if (!isLoopback(ec.listen)) {
      r.fail(eg["listen"], "egress.listen",
             "must be a loopback address: the app talks plain HTTP to it");
    }
    const auto routes = eg["routes"];
    if (!routes || !routes.IsSequence() || routes.size() == 0) {
      r.fail(routes ? routes : eg, "egress.routes", "expected a non-empty list");
    }
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const auto node = routes[i];
      const std::string p = "egress.routes[" + std::to_string(i) + "]";
      r.onlyKeys(node, p, {"host", "path_prefix", "address", "spiffe_id", "sni", "token"});
      EgressRoute route;
      for (const char* k : {"host", "address", "spiffe_id"}) {
        if (!node[k]) r.fail(node, p + "." + k, "is required");
      }
      route.host = r.nonEmptyString(node["host"], p + ".host");
      for (char& ch : route.host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (node["path_prefix"]) {
        route.path_prefix = r.nonEmptyString(node["path_prefix"], p + ".path_prefix");
        if (route.path_prefix.front() != '/') {
          r.fail(node["path_prefix"], p + ".path_prefix", "must start with /");
        }
      }
      route.address = readEndpoint(r, node["address"], p + ".address");
      route.spiffe_id = r.nonEmptyString(node["spiffe_id"], p + ".spiffe_id");
      auto parsed = identity::SpiffeId::parse(route.spiffe_id);
      if (!parsed) r.fail(node["spiffe_id"], p + ".spiffe_id", parsed.error().message);
      if (!parsed->hasPath()) {
        r.fail(node["spiffe_id"], p + ".spiffe_id", "a workload ID needs a path");
      }
      if (node["sni"]) route.sni = r.nonEmptyString(node["sni"], p + ".sni");
      if (node["token"]) route.token = readEgressToken(r, node["token"], p + ".token", base_dir);
      if (!seen.emplace(route.host, route.path_prefix).second) {
        r.fail(node, p, "duplicate route for host \"" + route.host + "\" and path_prefix \"" +
                            route.path_prefix + "\"");
      }
      ec.routes.push_back(std::move(route));
    }
    c.egress = ec;
  }

  if (!c.ingress && !c.egress) r.fail(root, "", "at least one of ingress or egress is required");

  if (const auto admin = root["admin"]) {
    r.onlyKeys(admin, "admin", {"listen"});
    if (!admin["listen"]) r.fail(admin, "admin.listen", "is required");
    c.admin_listen = readEndpoint(r, admin["listen"], "admin.listen");
    if (!isLoopback(c.admin_listen)) {
      r.fail(admin["listen"], "admin.listen", "must be a loopback address");
    }
    c.admin_enabled = true;
  }

  if (const auto audit = root["audit"]) {
    r.onlyKeys(audit, "audit", {"file", "stdout"});
    if (audit["file"]) {
      c.audit.file_path = resolveConfigPath(base_dir, r.nonEmptyString(audit["file"], "audit.file"));
    }
    if (audit["stdout"]) c.audit.to_stdout = r.boolean(audit["stdout"], "audit.stdout");
  }

  if (const auto l = root["limits"]) {
    r.onlyKeys(l, "limits", {"max_header_bytes", "max_body_bytes", "max_connections"});
    if (l["max_header_bytes"]) {
      c.limits.max_header_bytes =
          r.integer<std::uint32_t>(l["max_header_bytes"], "limits.max_header_bytes", 1024, 1 << 20);
    }
    if (l["max_body_bytes"]) {
      c.limits.max_body_bytes = r.integer<std::uint64_t>(l["max_body_bytes"],
                                                         "limits.max_body_bytes", 0, ~0ULL);
    }
    if (l["max_connections"]) {
      c.limits.max_connections = r.integer<std::uint32_t>(l["max_connections"],
                                                          "limits.max_connections", 1, 1000000);
    }
  }

  if (const auto t = root["timeouts"]) {
    r.onlyKeys(t, "timeouts", {"handshake_ms", "header_read_ms", "idle_ms", "upstream_connect_ms",
                               "upstream_response_ms", "body_idle_ms"});
    auto ms = [&](const char* key, std::uint32_t& out) {
      if (t[key]) out = r.integer<std::uint32_t>(t[key], std::string("timeouts.") + key, 1, 86400000);
    };
    ms("handshake_ms", c.timeouts.handshake_ms);
    ms("header_read_ms", c.timeouts.header_read_ms);
    ms("idle_ms", c.timeouts.idle_ms);
    ms("upstream_connect_ms", c.timeouts.upstream_connect_ms);
    ms("upstream_response_ms", c.timeouts.upstream_response_ms);
    ms("body_idle_ms", c.timeouts.body_idle_ms);
  }

  if (root["workers"]) c.workers = r.integer<std::uint32_t>(root["workers"], "workers", 1, 64);
  return c;
}

}  // namespace

std::string_view toString(TokenClientAuth auth) {
  return auth == TokenClientAuth::kTlsClientAuth ? "tls_client_auth" : "private_key_jwt";
}

std::string_view EgressTokenConfig::grantName() const {
  return tokenExchange() ? "token_exchange" : "client_credentials";
}

std::string_view EgressTokenConfig::clientAuthName() const {
  return tokenExchange() ? "none" : toString(client_auth);
}

std::string Endpoint::str() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

Result<Endpoint> parseEndpoint(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{"expected [ipv6]:port, got \"" + std::string(text) + "\""};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error{"expected ip:port, got \"" + std::string(text) + "\""};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return Error{"\"" + std::string(host) + "\" is not an IP address"};
  unsigned v = 0;
  auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (perr != std::errc{} || end != port.data() + port.size() || v > 65535) {
    return Error{"\"" + std::string(port) + "\" is not a port number (0-65535)"};
  }
  return Endpoint{std::string(host), static_cast<std::uint16_t>(v)};
}

Result<SidecarConfig> parseSidecarConfig(const std::string& yaml_text,
                                         const std::string& source_path) {
  Reader reader(source_path);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) return Error{source_path + ": expected a mapping at the top level"};
    auto dir = std::filesystem::path(source_path).parent_path().string();
    if (dir.empty()) dir = ".";
    SidecarConfig config = parse(root, reader, dir);
    config.source_path = source_path;
    return config;
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{source_path + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

Result<SidecarConfig> loadSidecarConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{path + ": cannot read config file"};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseSidecarConfig(buffer.str(), path);
}

}  // namespace warden::proxy
