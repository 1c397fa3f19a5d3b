#include "tokenservice/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/https_url.h"
#include "common/yaml_reader.h"
#include "identity/spiffe_id.h"
#include "tokenservice/agent_policy.h"

namespace warden::tokenservice {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

seconds toSeconds(milliseconds ms) { return std::chrono::duration_cast<seconds>(ms); }

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::vector<std::string> stringList(const YamlReader& r, const YAML::Node& node,
                                    const std::string& path) {
  if (!node.IsSequence()) r.fail(node, path, "expected a list");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) out.push_back(r.nonEmptyString(node[i], at(path, i)));
  return out;
}

RiskLevel parseRisk(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  const auto text = r.string(node, path);
  auto risk = riskLevelFromName(text);
  if (!risk) r.fail(node, path, "expected none, low, medium or high");
  return *risk;
}

FederatedCredentialConfig parseFederated(const YamlReader& r, const YAML::Node& node,
                                         const std::string& path) {
  r.onlyKeys(node, path, {"name", "issuer", "subject", "subject_pattern", "audience"});
  FederatedCredentialConfig f;
  for (const char* required : {"name", "issuer"}) {
    if (!node[required]) r.fail(node, YamlReader::join(path, required), "is required");
  }
  f.name = r.nonEmptyString(node["name"], path + ".name");
  f.issuer = r.nonEmptyString(node["issuer"], path + ".issuer");
  if (node["subject"]) f.subject = r.nonEmptyString(node["subject"], path + ".subject");
  if (node["subject_pattern"]) {
    f.subject_pattern = r.nonEmptyString(node["subject_pattern"], path + ".subject_pattern");
    if (auto p = SubjectPattern::parse(f.subject_pattern); !p) {
      r.fail(node["subject_pattern"], path + ".subject_pattern", p.error().message);
    }
  }
  // Pinning the audience alone would admit every subject of the issuer (GitHub: every
  // repository of the owner), so the subject is never optional.
  if (f.subject.empty() == f.subject_pattern.empty()) {
    r.fail(node, path, "exactly one of subject and subject_pattern is required");
  }
  if (node["audience"]) f.audience = r.nonEmptyString(node["audience"], path + ".audience");
  return f;
}

AgentConfig parseAgent(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  r.onlyKeys(node, path, {"name", "spiffe_id", "client_id", "state", "risk", "grant_types",
                          "roles", "federated_credentials"});
  AgentConfig a;
  if (!node["name"]) r.fail(node, path + ".name", "is required");
  a.name = r.nonEmptyString(node["name"], path + ".name");
  if (node["spiffe_id"]) {
    a.spiffe_id = r.nonEmptyString(node["spiffe_id"], path + ".spiffe_id");
    auto id = identity::SpiffeId::parse(a.spiffe_id);
    if (!id) r.fail(node["spiffe_id"], path + ".spiffe_id", id.error().message);
    if (!id->hasPath()) r.fail(node["spiffe_id"], path + ".spiffe_id", "must name a workload");
  }
  if (node["client_id"]) a.client_id = r.nonEmptyString(node["client_id"], path + ".client_id");
  if (a.spiffe_id.empty() && a.client_id.empty()) {
    r.fail(node, path, "an agent needs a spiffe_id or a client_id");
  }
  if (node["state"]) {
    const auto state = r.string(node["state"], path + ".state");
    if (state == "enabled") {
      a.state = AgentState::kEnabled;
    } else if (state == "disabled") {
      a.state = AgentState::kDisabled;
    } else if (state == "quarantined") {
      a.state = AgentState::kQuarantined;
    } else {
      r.fail(node["state"], path + ".state", "expected enabled, disabled or quarantined");
    }
  }
  if (node["risk"]) a.risk = parseRisk(r, node["risk"], path + ".risk");
  if (node["grant_types"]) {
    a.grant_types.clear();
    const auto grants = stringList(r, node["grant_types"], path + ".grant_types");
    for (std::size_t i = 0; i < grants.size(); ++i) {
      if (grants[i] == kGrantClientCredentials) {
        a.grant_types.push_back(GrantType::kClientCredentials);
      } else if (grants[i] == kGrantTokenExchange || grants[i] == "token_exchange") {
        a.grant_types.push_back(GrantType::kTokenExchange);
      } else {
        r.fail(node["grant_types"][i], at(path + ".grant_types", i),
               "expected client_credentials or token_exchange");
      }
    }
  }
  if (const auto roles = node["roles"]) {
    if (!roles.IsMap()) r.fail(roles, path + ".roles", "expected a mapping audience -> roles");
    for (const auto& kv : roles) {
      const auto audience = kv.first.as<std::string>();
      const std::string rpath = path + ".roles." + audience;
      auto list = stringList(r, kv.second, rpath);
      for (std::size_t i = 0; i < list.size(); ++i) {
        // Roles travel space-free in `roles` and may be echoed in scopes.
        if (list[i].find_first_of(" \t\"\\") != std::string::npos) {
          r.fail(kv.second[i], at(rpath, i), "a role name has no spaces, quotes or backslashes");
        }
      }
      std::sort(list.begin(), list.end());
      list.erase(std::unique(list.begin(), list.end()), list.end());
      a.roles[audience] = std::move(list);
    }
  }
  if (const auto fed = node["federated_credentials"]) {
    if (!fed.IsSequence()) r.fail(fed, path + ".federated_credentials", "expected a list");
    for (std::size_t i = 0; i < fed.size(); ++i) {
      a.federated_credentials.push_back(
          parseFederated(r, fed[i], at(path + ".federated_credentials", i)));
    }
  }
  return a;
}

AudienceConfig parseAudience(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  AudienceConfig a;
  if (node.IsScalar()) {
    a.id = r.nonEmptyString(node, path);
    return a;
  }
  r.onlyKeys(node, path, {"id", "token_ttl", "max_risk"});
  if (!node["id"]) r.fail(node, path + ".id", "is required");
  a.id = r.nonEmptyString(node["id"], path + ".id");
  if (node["token_ttl"]) {
    a.token_ttl = toSeconds(r.duration(node["token_ttl"], path + ".token_ttl", seconds(10),
                                       std::chrono::hours(24)));
  }
  if (node["max_risk"]) a.max_risk = parseRisk(r, node["max_risk"], path + ".max_risk");
  return a;
}

ExternalIssuerConfig parseExternalIssuer(const YamlReader& r, const YAML::Node& node,
                                         const std::string& path, const std::string& base_dir) {
  r.onlyKeys(node, path, {"issuer", "ca_file", "algorithms"});
  ExternalIssuerConfig e;
  if (!node["issuer"]) r.fail(node, path + ".issuer", "is required");
  e.issuer = r.nonEmptyString(node["issuer"], path + ".issuer");
  if (node["ca_file"]) {
    e.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(node["ca_file"], path + ".ca_file"));
  }
  if (node["algorithms"]) {
    e.algorithms.clear();
    const auto names = stringList(r, node["algorithms"], path + ".algorithms");
    for (std::size_t i = 0; i < names.size(); ++i) {
      auto alg = jose::algFromName(names[i]);
      if (!alg) {
        r.fail(node["algorithms"][i], at(path + ".algorithms", i),
               "expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512");
      }
      e.algorithms.push_back(*alg);
    }
    if (e.algorithms.empty()) r.fail(node["algorithms"], path + ".algorithms", "must not be empty");
  }
  return e;
}

void parseListen(const YamlReader& r, const YAML::Node& node, const std::string& path,
                 TokenServiceConfig& c) {
  const auto listen = r.string(node, path);
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) r.fail(node, path, "expected host:port");
  c.listen_host = listen.substr(0, colon);
  if (c.listen_host.size() > 1 && c.listen_host.front() == '[' && c.listen_host.back() == ']') {
    c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  }
  YAML::Node port(listen.substr(colon + 1));
  c.listen_port = r.integer<std::uint16_t>(port, path + " (port)", 0, 65535);
}

// RFC 8707 §2: a resource is an absolute URI without a fragment. Scopes carry it as
// `<id>/.default`, so it must also be a valid scope token prefix (no spaces or quotes).
Status validateAudienceId(std::string_view id) {
  auto parsed = boost::urls::parse_absolute_uri(id);
  if (!parsed) return Error{"must be an absolute URI without a fragment (RFC 8707)"};
  for (const char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      return Error{"must be printable ASCII without spaces, quotes or backslashes"};
    }
  }
  if (id.back() == '/') return Error{"must not end with '/' (the scope form appends /.default)"};
  return {};
}


struct Problem {
  std::string path;  // relative to the section
  std::string what;
};

std::optional<Problem> findProblem(const TokenPolicyConfig& p) {
  const auto fail = [](const std::string& path, const std::string& what) {
    return std::optional<Problem>(Problem{path, what});
  };
  if (p.token_ttl < seconds(10) || p.token_ttl > std::chrono::hours(24)) {
    return fail("token_ttl", "must be between 10s and 24h");
  }
  if (p.max_assertion_ttl < seconds(30) || p.max_assertion_ttl > std::chrono::hours(1)) {
    return fail("max_assertion_ttl", "must be between 30s and 1h");
  }
  std::set<std::string, std::less<>> audiences;
  for (std::size_t i = 0; i < p.audiences.size(); ++i) {
    const auto& a = p.audiences[i];
    if (auto st = validateAudienceId(a.id); !st) return fail(at("audiences", i) + ".id", st.message());
    if (!audiences.insert(a.id).second) return fail(at("audiences", i) + ".id", "duplicate audience " + a.id);
  }
  std::set<std::string, std::less<>> issuers;
  for (std::size_t i = 0; i < p.external_issuers.size(); ++i) {
    const auto& e = p.external_issuers[i];
    const std::string path = at("external_issuers", i);
    // A trailing slash is allowed here (some IdPs have one); it is part of the identifier.
    if (auto st = validateHttpsUrl(e.issuer); !st) return fail(path + ".issuer", st.message());
    if (!issuers.insert(e.issuer).second) return fail(path + ".issuer", "duplicate issuer " + e.issuer);
    if (e.algorithms.empty()) return fail(path + ".algorithms", "must not be empty");
  }
  std::set<std::string, std::less<>> names, ids;
  for (std::size_t i = 0; i < p.agents.size(); ++i) {
    const auto& a = p.agents[i];
    const std::string path = at("agents", i);
    if (!names.insert(a.name).second) return fail(path + ".name", "duplicate agent name " + a.name);
    if (a.spiffe_id.empty() && a.client_id.empty()) {
      return fail(path, "an agent needs a spiffe_id or a client_id");
    }
    // One namespace for client ids and SPIFFE IDs: either may be sent as client_id.
    for (const auto* id : {&a.spiffe_id, &a.client_id}) {
      if (id->empty() || (id == &a.client_id && a.client_id == a.spiffe_id)) continue;
      if (!ids.insert(*id).second) {
        return fail(path + (id == &a.spiffe_id ? ".spiffe_id" : ".client_id"),
                    *id + " already identifies another agent");
      }
    }
    if (!a.spiffe_id.empty()) {
      auto id = identity::SpiffeId::parse(a.spiffe_id);
      if (!id) return fail(path + ".spiffe_id", id.error().message);
    }
    if (a.client_id.find_first_of(" \t\r\n") != std::string::npos) {
      return fail(path + ".client_id", "must not contain whitespace");
    }
    if (a.grant_types.empty()) return fail(path + ".grant_types", "must not be empty");
    for (const auto& [audience, roles] : a.roles) {
      if (!audiences.contains(audience)) {
        return fail(path + ".roles." + audience, "is not a configured audience");
      }
    }
    if (a.federated_credentials.size() > kMaxFederatedCredentialsPerAgent) {
      return fail(path + ".federated_credentials",
                  "at most " + std::to_string(kMaxFederatedCredentialsPerAgent) + " per agent");
    }
    std::set<std::string> fic_names;
    std::set<std::pair<std::string, std::string>> fic_keys;
    for (std::size_t j = 0; j < a.federated_credentials.size(); ++j) {
      const auto& f = a.federated_credentials[j];
      const std::string fpath = path + "." + at("federated_credentials", j);
      if (!fic_names.insert(f.name).second) return fail(fpath + ".name", "duplicate name " + f.name);
      if (!issuers.contains(f.issuer)) {
        return fail(fpath + ".issuer", f.issuer + " is not in token_service.external_issuers");
      }
      if (f.subject.empty() == f.subject_pattern.empty()) {
        return fail(fpath, "exactly one of subject and subject_pattern is required");
      }
      if (!f.subject_pattern.empty()) {
        if (auto pat = SubjectPattern::parse(f.subject_pattern); !pat) {
          return fail(fpath + ".subject_pattern", pat.error().message);
        }
      }
      if (f.audience.empty()) return fail(fpath + ".audience", "must not be empty");
      const auto& subject = f.subject.empty() ? f.subject_pattern : f.subject;
      if (!fic_keys.insert({f.issuer, subject}).second) {
        return fail(fpath, "another federated credential has the same issuer and subject");
      }
    }
    if (a.spiffe_id.empty() && a.federated_credentials.empty()) {
      return fail(path, "an agent without a spiffe_id can only sign in with federated_credentials");
    }
  }
  return std::nullopt;
}

}  // namespace

Status validateTokenPolicy(const TokenPolicyConfig& policy, const std::string& prefix) {
  if (auto problem = findProblem(policy)) {
    return Error{prefix + "." + problem->path + ": " + problem->what};
  }
  return {};
}

Status validateAgainstJwtIssuer(const TokenPolicyConfig& policy, std::string_view jwt_issuer,
                                const std::string& prefix) {
  if (jwt_issuer.empty()) return {};
  for (std::size_t i = 0; i < policy.external_issuers.size(); ++i) {
    if (policy.external_issuers[i].issuer == jwt_issuer) {
      return Error{prefix + "." + at("external_issuers", i) + ".issuer: " +
                   std::string(jwt_issuer) +
                   " is this server's jwt_issuer: its JWT-SVIDs are verified with the trust "
                   "domain's JWT keys and mapped to agents by spiffe_id, never as an external "
                   "issuer's tokens; remove this entry and its federated credentials"};
    }
  }
  return {};
}

TokenServiceConfig parseTokenServiceSection(const YamlReader& r, const YAML::Node& node,
                                            const std::string& base_dir) {
  const std::string p = "token_service";
  r.onlyKeys(node, p, {"listen", "issuer", "tls", "token_ttl", "key_ttl", "max_assertion_ttl",
                       "max_risk", "failed_auth_limit", "audiences", "external_issuers",
                       "agents"});
  TokenServiceConfig c;
  if (!node["listen"]) r.fail(node, p + ".listen", "is required");
  parseListen(r, node["listen"], p + ".listen", c);
  if (node["issuer"]) {
    c.issuer = r.nonEmptyString(node["issuer"], p + ".issuer");
    if (auto st = validateIssuerUrl(c.issuer); !st) {
      r.fail(node["issuer"], p + ".issuer", st.message());
    }
  }
  if (!node["tls"]) r.fail(node, p + ".tls", "is required (svid: <entry>, or cert and key)");
  const auto tls = node["tls"];
  r.onlyKeys(tls, p + ".tls", {"svid", "cert", "key"});
  if (tls["svid"]) c.tls_svid_entry = r.nonEmptyString(tls["svid"], p + ".tls.svid");
  if (tls["cert"]) c.tls_cert_path = resolveConfigPath(base_dir, r.nonEmptyString(tls["cert"], p + ".tls.cert"));
  if (tls["key"]) c.tls_key_path = resolveConfigPath(base_dir, r.nonEmptyString(tls["key"], p + ".tls.key"));
  const bool files = !c.tls_cert_path.empty() || !c.tls_key_path.empty();
  if (c.tls_svid_entry.empty() == !files) {
    r.fail(tls, p + ".tls", "give either svid (a registration entry name) or cert and key");
  }
  if (files && (c.tls_cert_path.empty() || c.tls_key_path.empty())) {
    r.fail(tls, p + ".tls", "cert and key go together");
  }
  if (node["token_ttl"]) {
    c.policy.token_ttl = toSeconds(r.duration(node["token_ttl"], p + ".token_ttl", seconds(10),
                                              std::chrono::hours(24)));
  }
  if (node["key_ttl"]) {
    c.key_ttl = toSeconds(r.duration(node["key_ttl"], p + ".key_ttl", std::chrono::minutes(1),
                                     std::chrono::hours(24 * 365)));
  }
  if (node["max_assertion_ttl"]) {
    c.policy.max_assertion_ttl = toSeconds(r.duration(
        node["max_assertion_ttl"], p + ".max_assertion_ttl", seconds(30), std::chrono::hours(1)));
  }
  if (node["max_risk"]) c.policy.max_risk = parseRisk(r, node["max_risk"], p + ".max_risk");
  if (const auto lim = node["failed_auth_limit"]) {
    r.onlyKeys(lim, p + ".failed_auth_limit", {"burst", "refill_every"});
    if (lim["burst"]) {
      c.failed_auth.burst = r.integer<std::uint32_t>(lim["burst"], p + ".failed_auth_limit.burst",
                                                     1, 1000000);
    }
    if (lim["refill_every"]) {
      c.failed_auth.refill_every = r.duration(lim["refill_every"],
                                              p + ".failed_auth_limit.refill_every",
                                              milliseconds(1), std::chrono::hours(1));
    }
  }
  if (const auto a = node["audiences"]) {
    if (!a.IsSequence()) r.fail(a, p + ".audiences", "expected a list");
    for (std::size_t i = 0; i < a.size(); ++i) {
      c.policy.audiences.push_back(parseAudience(r, a[i], at(p + ".audiences", i)));
    }
  }
  if (const auto e = node["external_issuers"]) {
    if (!e.IsSequence()) r.fail(e, p + ".external_issuers", "expected a list");
    for (std::size_t i = 0; i < e.size(); ++i) {
      c.policy.external_issuers.push_back(
          parseExternalIssuer(r, e[i], at(p + ".external_issuers", i), base_dir));
    }
  }
  if (const auto a = node["agents"]) {
    if (!a.IsSequence()) r.fail(a, p + ".agents", "expected a list");
    for (std::size_t i = 0; i < a.size(); ++i) {
      c.policy.agents.push_back(parseAgent(r, a[i], at(p + ".agents", i)));
    }
  }
  if (auto problem = findProblem(c.policy)) r.fail(node, p + "." + problem->path, problem->what);
  return c;
}

Result<std::optional<TokenServiceConfig>> parseTokenServiceConfig(const std::string& yaml_text,
                                                                  const std::string& source_path) {
  YamlReader reader(source_path);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap() || !root["token_service"]) return std::optional<TokenServiceConfig>{};
    const auto base_dir = std::filesystem::path(source_path).parent_path().string();
    return std::optional<TokenServiceConfig>{
        parseTokenServiceSection(reader, root["token_service"], base_dir.empty() ? "." : base_dir)};
  } catch (const YamlConfigError& e) {
    return Error{e.message};
  } catch (const YAML::Exception& e) {
    return Error{source_path + ": invalid YAML: " + e.what()};
  }
}

Result<std::optional<TokenServiceConfig>> loadTokenServiceConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parseTokenServiceConfig(text.str(), path);
}

}  // namespace warden::tokenservice
