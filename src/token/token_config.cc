#include "token/token_config.h"

#include <algorithm>
#include <set>

#include "identity/spiffe_id.h"
#include "jose/jws.h"
#include "token/fetch_url.h"

namespace warden::token {
namespace {

std::string at(std::string_view field, std::string_view member) {
  return std::string(field) + "." + std::string(member);
}

std::string at(std::string_view field, std::string_view member, std::size_t index) {
  return at(field, member) + "[" + std::to_string(index) + "]";
}

// Printable ASCII without spaces: what issuers, audiences and claim names look like, and
// what can be shown in a message as is.
bool plainToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c > 0x20 && c < 0x7F;
  });
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 100)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > 100) out += "...";
  return out + "\"";
}

Status validateTiming(const JwksTiming& t, std::string_view field) {
  const auto positive = [&](std::chrono::milliseconds value, std::string_view name) -> Status {
    if (value.count() <= 0) return Error{at(field, name) + ": must be positive"};
    return {};
  };
  for (const auto& [value, name] :
       {std::pair{t.default_refresh, "default_refresh"}, std::pair{t.min_refresh, "min_refresh"},
        std::pair{t.max_refresh, "max_refresh"},
        std::pair{t.min_refetch_interval, "min_refetch_interval"},
        std::pair{t.retry_initial, "retry_initial"}, std::pair{t.retry_max, "retry_max"},
        std::pair{t.request_timeout, "request_timeout"}}) {
    if (auto st = positive(value, name); !st) return st;
  }
  if (t.max_refresh < t.min_refresh) {
    return Error{at(field, "max_refresh") + ": must not be below min_refresh"};
  }
  if (t.retry_max < t.retry_initial) {
    return Error{at(field, "retry_max") + ": must not be below retry_initial"};
  }
  return {};
}

}  // namespace

std::string_view bindingModeName(BindingMode mode) {
  switch (mode) {
    case BindingMode::kNone:
      return "none";
    case BindingMode::kSubToSpiffe:
      return "sub_to_spiffe";
    case BindingMode::kCnfX5t:
      return "cnf_x5t";
  }
  return "none";
}

Status validateIssuerConfig(const TokenIssuerConfig& c, std::string_view field) {
  if (c.issuer.empty()) return Error{at(field, "issuer") + ": required"};
  if (!plainToken(c.issuer) || c.issuer.size() > 2048) {
    return Error{at(field, "issuer") + ": " + quote(c.issuer) +
                 " must be printable ASCII without spaces, at most 2048 bytes"};
  }

  // Algorithms first: whether a key source is needed depends on them.
  if (c.algorithms.empty()) return Error{at(field, "algorithms") + ": at least one is required"};
  std::set<std::string> seen;
  bool hs256 = false;
  bool asymmetric = false;
  for (std::size_t i = 0; i < c.algorithms.size(); ++i) {
    const std::string& name = c.algorithms[i];
    const std::string where = at(field, "algorithms", i);
    if (!seen.insert(name).second) return Error{where + ": " + quote(name) + " is listed twice"};
    if (name == "none") {
      return Error{where + ": \"none\" is never allowed (RFC 8725 §3.2: unsigned tokens)"};
    }
    if (name == "HS256") {
      hs256 = true;
      continue;
    }
    if (name == "HS384" || name == "HS512") {
      return Error{where + ": " + name + " is not supported (HS256 only, with hs256_secret)"};
    }
    if (!jose::algFromName(name)) {
      return Error{where + ": " + quote(name) +
                   " is not supported (RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
                   "ES384, ES512, HS256)"};
    }
    asymmetric = true;
  }
  if (hs256 && c.hs256_secret.size() < kMinHs256SecretBytes) {
    return Error{at(field, "hs256_secret") + ": HS256 needs a shared secret of at least " +
                 std::to_string(kMinHs256SecretBytes) + " bytes" +
                 (c.hs256_secret.empty() ? std::string() : " (it has " +
                  std::to_string(c.hs256_secret.size()) + ")")};
  }
  if (!hs256 && !c.hs256_secret.empty()) {
    return Error{at(field, "hs256_secret") + ": set, but HS256 is not in algorithms"};
  }

  const int sources = static_cast<int>(!c.discovery_url.empty()) +
                      static_cast<int>(!c.jwks_url.empty()) +
                      static_cast<int>(!c.jwks_file.empty());
  if (asymmetric && sources != 1) {
    return Error{std::string(field) + ": exactly one of discovery_url, jwks_url and jwks_file "
                 "is required (" + std::to_string(sources) + " given)"};
  }
  if (!asymmetric && sources != 0) {
    return Error{std::string(field) + ": a key source is set, but the only algorithm is "
                 "HS256, which uses hs256_secret"};
  }
  for (const auto& [url, name] :
       {std::pair{&c.discovery_url, "discovery_url"}, std::pair{&c.jwks_url, "jwks_url"}}) {
    if (url->empty()) continue;
    if (auto parsed = parseFetchUrl(*url); !parsed) {
      return Error{at(field, name) + ": " + quote(*url) + ": " + parsed.error().message};
    }
  }
  if (!c.ca_file.empty() && c.discovery_url.empty() && c.jwks_url.empty()) {
    return Error{at(field, "ca_file") + ": only used with discovery_url or jwks_url"};
  }

  for (std::size_t i = 0; i < c.audiences.size(); ++i) {
    if (c.audiences[i].empty()) return Error{at(field, "audiences", i) + ": must not be empty"};
  }
  if (c.clock_skew.count() < 0 || c.clock_skew > kMaxClockSkew) {
    return Error{at(field, "clock_skew") + ": must be between 0 and " +
                 std::to_string(kMaxClockSkew.count()) + " seconds"};
  }
  if (!c.require_typ.empty() && (!plainToken(c.require_typ) || c.require_typ.size() > 64)) {
    return Error{at(field, "require_typ") + ": " + quote(c.require_typ) +
                 " is not a media type name"};
  }
  std::set<std::string> claims;
  for (std::size_t i = 0; i < c.required_claims.size(); ++i) {
    if (c.required_claims[i].empty()) {
      return Error{at(field, "required_claims", i) + ": must not be empty"};
    }
    if (!claims.insert(c.required_claims[i]).second) {
      return Error{at(field, "required_claims", i) + ": " + quote(c.required_claims[i]) +
                   " is listed twice"};
    }
  }
  if (c.roles_claim.empty()) return Error{at(field, "roles_claim") + ": must not be empty"};
  return validateTiming(c.jwks, at(field, "jwks"));
}

Status validateIssuerConfigs(const std::vector<TokenIssuerConfig>& configs,
                             std::string_view field) {
  std::set<std::string> issuers;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (auto st = validateIssuerConfig(configs[i], where); !st) return st;
    // iss selects the configuration; two for one issuer would make that ambiguous.
    if (!issuers.insert(configs[i].issuer).second) {
      return Error{where + ".issuer: " + quote(configs[i].issuer) + " is configured twice"};
    }
  }
  return {};
}

Status validateTokenRequirements(const TokenRequirements& r,
                                 const std::vector<TokenIssuerConfig>& issuers,
                                 std::string_view field) {
  if (r.issuers.empty()) return Error{at(field, "issuers") + ": at least one is required"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < r.issuers.size(); ++i) {
    const std::string where = at(field, "issuers", i);
    if (!seen.insert(r.issuers[i]).second) {
      return Error{where + ": " + quote(r.issuers[i]) + " is listed twice"};
    }
    const auto it = std::find_if(issuers.begin(), issuers.end(), [&](const auto& c) {
      return c.issuer == r.issuers[i];
    });
    if (it == issuers.end()) {
      return Error{where + ": " + quote(r.issuers[i]) +
                   " is not a configured token issuer (issuers are compared exactly)"};
    }
    if (r.audiences.empty() && it->audiences.empty()) {
      return Error{where + ": issuer " + quote(r.issuers[i]) + " has no audiences and " +
                   at(field, "audiences") + " is empty: no token could be accepted"};
    }
  }
  for (std::size_t i = 0; i < r.audiences.size(); ++i) {
    if (r.audiences[i].empty()) return Error{at(field, "audiences", i) + ": must not be empty"};
  }
  if (r.binding == BindingMode::kSubToSpiffe) {
    static const std::set<std::string> kClaims = {"sub", "azp", "appid", "client_id"};
    if (!kClaims.contains(r.binding_claim)) {
      return Error{at(field, "binding_claim") + ": " + quote(r.binding_claim) +
                   " is not one of sub, azp, appid, client_id"};
    }
    for (const auto& [client_id, spiffe_id] : r.client_ids) {
      const std::string where = at(field, "client_ids") + "[" + quote(client_id) + "]";
      if (client_id.empty()) return Error{at(field, "client_ids") + ": empty client id"};
      if (auto id = identity::SpiffeId::parse(spiffe_id); !id) {
        return Error{where + ": " + id.error().message};
      }
    }
  } else if (!r.client_ids.empty()) {
    return Error{at(field, "client_ids") + ": only used with binding sub_to_spiffe (binding is " +
                 std::string(bindingModeName(r.binding)) + ")"};
  }
  return {};
}

}  // namespace warden::token
