#include "controlplane/login_tokens.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::controlplane {
namespace {

constexpr std::int64_t kSkewSeconds = 30;

std::optional<Role> roleFromName(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "developer") return Role::kDeveloper;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<LoginTokens>> LoginTokens::open(const std::string& state_dir,
                                                       const std::string& trust_domain,
                                                       std::string issuer) {
  issuer::JwtAuthorityOptions options;
  options.trust_domain = trust_domain;
  options.state_dir = state_dir;
  options.subdir = "api-login";
  options.key_ttl = std::chrono::hours(24 * 7);
  options.max_token_ttl = std::chrono::hours(24);
  auto keys = issuer::JwtAuthority::open(options);
  if (!keys) return Error{"login token keys: " + keys.error().message};
  std::unique_ptr<LoginTokens> out(new LoginTokens());
  out->keys_ = std::move(*keys);
  out->issuer_ = std::move(issuer);
  return out;
}

Result<LoginTokens::Minted> LoginTokens::mint(const std::string& subject, Role role,
                                              std::chrono::seconds ttl,
                                              std::string_view credential_stamp) const {
  unsigned char jti[16];
  if (RAND_bytes(jti, sizeof(jti)) != 1) return Error{"no randomness for the token id"};
  std::string jti_hex;
  appendHex(jti_hex, jti, sizeof(jti));
  const std::time_t now = std::time(nullptr);
  const std::time_t exp = now + static_cast<std::time_t>(ttl.count());
  nlohmann::json claims{{"iss", issuer_},
                        {"aud", kLoginAudience},
                        {"sub", subject},
                        {"iat", now},
                        {"exp", exp},
                        {"jti", jti_hex},
                        {"warden_role", roleName(role)}};
  if (!credential_stamp.empty()) claims["warden_cred"] = credential_stamp;
  auto token = keys_->sign(nlohmann::json{{"typ", "at+jwt"}}, claims);
  if (!token) return token.error();
  return Minted{std::move(*token), exp};
}

Result<LoginTokens::Minted> LoginTokens::mintIdToken(const std::string& subject, Role role,
                                                     std::string_view audience,
                                                     std::string_view nonce,
                                                     std::chrono::seconds ttl) const {
  const std::time_t now = std::time(nullptr);
  const std::time_t exp = now + static_cast<std::time_t>(ttl.count());
  nlohmann::json claims{{"iss", issuer_},
                        {"aud", audience},
                        {"sub", subject},
                        {"iat", now},
                        {"exp", exp},
                        {"auth_time", now},
                        {"warden_role", roleName(role)}};
  if (!nonce.empty()) claims["nonce"] = nonce;
  auto token = keys_->sign(nlohmann::json{{"typ", "JWT"}}, claims);
  if (!token) return token.error();
  return Minted{std::move(*token), exp};
}

std::string LoginTokens::jwks() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : keys_->publishedKeys()) {
    nlohmann::json jwk = nlohmann::json::object();
    if (!jose::writePublicJwk(k.key.get(), jwk)) continue;
    jwk["kid"] = k.kid;
    jwk["alg"] = "ES256";
    jwk["use"] = "sig";
    list.push_back(std::move(jwk));
  }
  return nlohmann::json{{"keys", list}}.dump();
}

Result<Principal> LoginTokens::verify(std::string_view token, std::time_t now) const {
  auto jws = jose::parseCompact(token);
  if (!jws) return Error{"malformed token"};
  const auto& h = jws->header;
  if (!h.contains("alg") || h["alg"] != "ES256") return Error{"unexpected algorithm"};
  if (!h.contains("typ") || h["typ"] != "at+jwt") return Error{"unexpected token type"};
  if (!h.contains("kid") || !h["kid"].is_string()) return Error{"no key id"};
  const std::string kid = h["kid"];
  bool verified = false;
  for (const auto& key : keys_->publishedKeys()) {
    if (key.kid != kid) continue;
    verified = jose::verify(*jws, jose::Alg::kES256, key.key.get()).ok();
    break;
  }
  if (!verified) return Error{"bad signature or unknown key"};
  const auto& c = jws->payload;
  auto str = [&](const char* name) -> std::string {
    return c.contains(name) && c[name].is_string() ? c[name].get<std::string>() : std::string();
  };
  auto num = [&](const char* name) -> std::int64_t {
    return c.contains(name) && c[name].is_number_integer() ? c[name].get<std::int64_t>() : 0;
  };
  if (str("iss") != issuer_) return Error{"wrong issuer"};
  if (str("aud") != kLoginAudience) return Error{"wrong audience"};
  const std::int64_t exp = num("exp");
  if (exp == 0 || exp + kSkewSeconds < now) return Error{"expired"};
  if (num("iat") > now + kSkewSeconds) return Error{"issued in the future"};
  auto role = roleFromName(str("warden_role"));
  if (!role || str("sub").empty()) return Error{"no subject or role"};
  Principal p;
  p.role = *role;
  p.subject = str("sub");
  p.method = "login";
  p.credential_stamp = str("warden_cred");
  return p;
}

void LoginTokens::rotate(std::time_t now) { (void)keys_->rotate(now); }

std::string_view roleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kDeveloper: return "developer";
    case Role::kViewer: return "viewer";
    case Role::kSidecar: return "sidecar";
    case Role::kNone: return "none";
  }
  return "none";
}

}  // namespace warden::controlplane
