#include "controlplane/sign_in_provider_config.h"

#include <algorithm>

#include "token/fetch_url.h"

namespace warden::controlplane {
namespace {

constexpr std::size_t kMaxNameBytes = 32;
constexpr std::size_t kMaxDisplayNameBytes = 64;
constexpr std::size_t kMaxValueBytes = 256;

bool slug(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNameBytes && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Printable ASCII; spaces only where a display text may have them.
bool printable(const std::string& s, bool spaces) {
  return std::all_of(s.begin(), s.end(),
                     [spaces](char c) { return c > 0x20 ? c < 0x7f : (spaces && c == ' '); });
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
bool scopeToken(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
  });
}

std::vector<std::string> strings(const YamlReader& r, const YAML::Node& n, const std::string& key,
                                 const std::string& path) {
  std::vector<std::string> out;
  if (!n[key])
    return out;
  const std::string p = path + "." + key;
  if (!n[key].IsSequence())
    r.fail(n[key], p, "expected a list of strings");
  for (std::size_t j = 0; j < n[key].size(); ++j) {
    const std::string item = p + "[" + std::to_string(j) + "]";
    std::string v = r.nonEmptyString(n[key][j], item);
    if (v.size() > kMaxValueBytes || !printable(v, true)) {
      r.fail(n[key][j], item, "printable ASCII, at most 256 bytes");
    }
    if (std::find(out.begin(), out.end(), v) != out.end())
      r.fail(n[key][j], item, "listed twice");
    out.push_back(std::move(v));
  }
  return out;
}

void checkUrl(const YamlReader& r, const YAML::Node& n, const std::string& path,
              const std::string& url) {
  auto parsed = token::parseFetchUrl(url);
  if (!parsed)
    r.fail(n, path, parsed.error().message);
}

SignInProviderConfig readOne(const YamlReader& r, const YAML::Node& n, const std::string& p,
                             const std::string& base_dir) {
  if (!n.IsMap())
    r.fail(n, p, "expected a mapping {name, display_name, issuer, client_id, ...}");
  r.onlyKeys(n, p,
             {"name", "display_name", "issuer", "discovery", "ca_file", "client_id",
              "client_secret_file", "scopes", "role_claim", "admin_values", "developer_values",
              "viewer_values", "subject_claim"});
  for (const char* required :
       {"name", "display_name", "issuer", "client_id", "client_secret_file", "role_claim"}) {
    if (!n[required])
      r.fail(n, p + "." + required, "is required");
  }
  SignInProviderConfig c;
  c.name = r.nonEmptyString(n["name"], p + ".name");
  if (!slug(c.name))
    r.fail(n["name"], p + ".name", "1-32 characters of [a-z0-9-]");
  c.display_name = r.nonEmptyString(n["display_name"], p + ".display_name");
  if (c.display_name.size() > kMaxDisplayNameBytes || !printable(c.display_name, true)) {
    r.fail(n["display_name"], p + ".display_name", "printable ASCII, at most 64 bytes");
  }
  c.issuer = r.nonEmptyString(n["issuer"], p + ".issuer");
  checkUrl(r, n["issuer"], p + ".issuer", c.issuer);
  // OIDC Discovery §3: an issuer has no query or fragment.
  if (c.issuer.find('?') != std::string::npos)
    r.fail(n["issuer"], p + ".issuer", "an issuer has no query");
  if (n["discovery"]) {
    c.discovery = r.nonEmptyString(n["discovery"], p + ".discovery");
    checkUrl(r, n["discovery"], p + ".discovery", c.discovery);
  } else {
    // OIDC Discovery §4: the issuer with any trailing slash removed, then the well-known path.
    std::string base = c.issuer;
    while (!base.empty() && base.back() == '/')
      base.pop_back();
    c.discovery = base + "/.well-known/openid-configuration";
  }
  if (n["ca_file"])
    c.ca_file = resolveConfigPath(base_dir, r.nonEmptyString(n["ca_file"], p + ".ca_file"));
  c.client_id = r.nonEmptyString(n["client_id"], p + ".client_id");
  if (c.client_id.size() > kMaxValueBytes || !printable(c.client_id, false)) {
    r.fail(n["client_id"], p + ".client_id", "printable ASCII without spaces, at most 256 bytes");
  }
  c.client_secret_file = resolveConfigPath(
      base_dir, r.nonEmptyString(n["client_secret_file"], p + ".client_secret_file"));
  if (n["scopes"]) {
    c.scopes = strings(r, n, "scopes", p);
    for (std::size_t j = 0; j < c.scopes.size(); ++j) {
      if (!scopeToken(c.scopes[j])) {
        r.fail(n["scopes"][j], p + ".scopes[" + std::to_string(j) + "]",
               "a scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)");
      }
    }
    // OIDC Core §3.1.2.1: without openid this is plain OAuth and there is no ID token.
    if (std::find(c.scopes.begin(), c.scopes.end(), "openid") == c.scopes.end()) {
      r.fail(n["scopes"], p + ".scopes", "must include openid");
    }
  }
  c.role_claim = r.nonEmptyString(n["role_claim"], p + ".role_claim");
  if (c.role_claim.size() > kMaxValueBytes || !printable(c.role_claim, false)) {
    r.fail(n["role_claim"], p + ".role_claim", "a claim name (or dotted path) without spaces");
  }
  c.admin_values = strings(r, n, "admin_values", p);
  c.developer_values = strings(r, n, "developer_values", p);
  c.viewer_values = strings(r, n, "viewer_values", p);
  if (c.admin_values.empty() && c.developer_values.empty() && c.viewer_values.empty()) {
    r.fail(
        n, p,
        "map at least one value of role_claim in admin_values, developer_values or viewer_values");
  }
  if (n["subject_claim"]) {
    c.subject_claim = r.nonEmptyString(n["subject_claim"], p + ".subject_claim");
    if (c.subject_claim.size() > kMaxValueBytes || !printable(c.subject_claim, false)) {
      r.fail(n["subject_claim"], p + ".subject_claim", "a claim name without spaces");
    }
  }
  return c;
}

}  // namespace

std::vector<SignInProviderConfig> readSignInProviders(const YamlReader& r, const YAML::Node& node,
                                                      const std::string& path,
                                                      const std::string& base_dir) {
  if (!node.IsSequence())
    r.fail(node, path, "expected a list of providers");
  std::vector<SignInProviderConfig> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    SignInProviderConfig c = readOne(r, node[i], p, base_dir);
    for (const auto& other : out) {
      if (other.name == c.name)
        r.fail(node[i]["name"], p + ".name", "\"" + c.name + "\" is listed twice");
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace warden::controlplane
