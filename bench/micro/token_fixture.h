// A realistic RFC 9068 access token (about 700 bytes, as Entra ID or Keycloak issue them)
// signed with a fresh key, and the issuer configuration that accepts it: shared by the
// layer 3 benchmarks. The clock is fixed (kNow) so the token never expires mid-run.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "token/access_token.h"

namespace warden::bench {

inline constexpr std::int64_t kNow = 1'700'000'000;
inline const std::string kIssuer = "https://login.example.com/tenant/v2.0";
inline const std::string kCallerId = "spiffe://example.org/ns/default/sa/budget-report";

[[noreturn]] inline void die(const std::string& what) {
  std::cerr << "token benchmark fixture: " << what << "\n";
  std::abort();
}

struct SignedToken {
  jose::PkeyPtr key;
  std::string token;
  std::string cert_sha256 = std::string(32, '\x5A');  // the caller's (fake) certificate
  std::shared_ptr<token::FixedKeySetProvider> keys;
  token::TokenIssuerConfig config;
};

inline SignedToken makeSignedToken(jose::Alg alg) {
  using nlohmann::json;
  SignedToken f;
  f.key.reset(alg == jose::Alg::kRS256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  json jwk = json::object();
  if (f.key == nullptr || !jose::writePublicJwk(f.key.get(), jwk).ok()) die("key");
  jwk["kid"] = "key-1";
  auto keys = token::KeySet::fromJwks(json{{"keys", {jwk}}}.dump());
  if (!keys.ok()) die(keys.error().message);
  f.keys = std::make_shared<token::FixedKeySetProvider>(*keys);

  const json claims = {
      {"iss", kIssuer},
      {"sub", kCallerId},
      {"aud", {"api://budget-backend", "api://reports"}},
      {"client_id", "9a1c7e2d-0000-4000-8000-000000000002"},
      {"iat", kNow - 30},
      {"nbf", kNow - 30},
      {"exp", kNow + 3600},
      {"jti", "b6c9a2f0-4a5e-4f8e-9d7c-2f3a1e5b6c7d"},
      {"scope", "budget.read budget.list reports.read"},
      {"roles", {"Budget.Read", "Budget.List", "Reports.Read"}},
      {"cnf", {{"x5t#S256", jose::base64UrlEncode(f.cert_sha256)}}},
  };
  auto token = jose::signCompact({{"typ", "at+jwt"}, {"kid", "key-1"}}, claims, alg, f.key.get());
  if (!token.ok()) die(token.error().message);
  f.token = *token;

  f.config.issuer = kIssuer;
  f.config.jwks_url = "https://login.example.com/tenant/discovery/keys";
  f.config.audiences = {"api://budget-backend"};
  return f;
}

inline std::unique_ptr<const token::AccessTokenVerifier> makeVerifier(
    const SignedToken& f, token::BindingMode binding,
    std::shared_ptr<token::VerifiedTokenCache> cache) {
  token::TokenRequirements req;
  req.issuers = {kIssuer};
  req.binding = binding;
  auto v = token::AccessTokenVerifier::create(req, {token::IssuerKeys{f.config, f.keys}},
                                              std::move(cache));
  if (!v.ok()) die(v.error().message);
  return std::move(*v);
}

}  // namespace warden::bench
