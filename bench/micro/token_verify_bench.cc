// Layer 3 cost per request: AccessTokenVerifier::verify() on an RFC 9068 access token of
// realistic size (about 700 bytes), signed RS256 (RSA-2048) or ES256 (P-256).
// - Cold: no cache, so every call parses the JWS strictly and verifies the signature: what
//   a caller's first request with a new token pays.
// - Warm: the verified-token cache hit: SHA-256 of the token, a shard lookup, the binding
//   check; what every later request with that token pays.
// - WarmCnf: warm plus the RFC 8705 cnf.x5t#S256 comparison against the caller certificate.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
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

namespace warden::token {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kIssuer = "https://login.example.com/tenant/v2.0";

struct Fixture {
  jose::PkeyPtr key;
  jose::Alg alg;
  std::string token;
  std::string cert_sha256 = std::string(32, '\x5A');
  std::unique_ptr<const AccessTokenVerifier> cold;
  std::unique_ptr<const AccessTokenVerifier> warm;
  std::unique_ptr<const AccessTokenVerifier> warm_cnf;
};

[[noreturn]] void die(const std::string& what) {
  std::cerr << "token_verify_bench: " << what << "\n";
  std::abort();
}

Fixture makeFixture(jose::Alg alg) {
  Fixture f;
  f.alg = alg;
  f.key.reset(alg == jose::Alg::kRS256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  json jwk = json::object();
  if (f.key == nullptr || !jose::writePublicJwk(f.key.get(), jwk).ok()) die("key");
  jwk["kid"] = "key-1";
  auto keys = KeySet::fromJwks(json{{"keys", {jwk}}}.dump());
  if (!keys.ok()) die(keys.error().message);
  auto provider = std::make_shared<FixedKeySetProvider>(*keys);

  const json claims = {
      {"iss", kIssuer},
      {"sub", "spiffe://example.org/ns/default/sa/budget-report"},
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

  TokenIssuerConfig config;
  config.issuer = kIssuer;
  config.jwks_url = "https://login.example.com/tenant/discovery/keys";
  config.audiences = {"api://budget-backend"};
  TokenRequirements req;
  req.issuers = {kIssuer};
  const auto make = [&](const TokenRequirements& r, std::shared_ptr<VerifiedTokenCache> cache) {
    auto v = AccessTokenVerifier::create(r, {IssuerKeys{config, provider}}, std::move(cache));
    if (!v.ok()) die(v.error().message);
    return std::move(*v);
  };
  f.cold = make(req, nullptr);
  f.warm = make(req, std::make_shared<VerifiedTokenCache>());
  TokenRequirements bound = req;
  bound.binding = BindingMode::kCnfX5t;
  f.warm_cnf = make(bound, std::make_shared<VerifiedTokenCache>());
  return f;
}

const Fixture& fixture(jose::Alg alg) {
  static const Fixture rs = makeFixture(jose::Alg::kRS256);
  static const Fixture es = makeFixture(jose::Alg::kES256);
  return alg == jose::Alg::kRS256 ? rs : es;
}

void run(benchmark::State& state, const AccessTokenVerifier& verifier, const Fixture& f,
         bool expect_cached) {
  const CallerBinding caller{"spiffe://example.org/ns/default/sa/budget-report", f.cert_sha256};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  const TokenVerdict first = verifier.verify(f.token, caller, now);  // fills the cache
  if (!first.ok) die(first.reason + ": " + first.detail);
  for (auto _ : state) {
    TokenVerdict v = verifier.verify(f.token, caller, now);
    if (v.from_cache != expect_cached || !v.ok) {
      state.SkipWithError("unexpected verdict");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(std::to_string(f.token.size()) + " B token");
}

void BM_VerifyCold_RS256(benchmark::State& state) {
  const Fixture& f = fixture(jose::Alg::kRS256);
  run(state, *f.cold, f, false);
}
void BM_VerifyCold_ES256(benchmark::State& state) {
  const Fixture& f = fixture(jose::Alg::kES256);
  run(state, *f.cold, f, false);
}
void BM_VerifyWarm_RS256(benchmark::State& state) {
  const Fixture& f = fixture(jose::Alg::kRS256);
  run(state, *f.warm, f, true);
}
void BM_VerifyWarm_ES256(benchmark::State& state) {
  const Fixture& f = fixture(jose::Alg::kES256);
  run(state, *f.warm, f, true);
}
void BM_VerifyWarmCnf_ES256(benchmark::State& state) {
  const Fixture& f = fixture(jose::Alg::kES256);
  run(state, *f.warm_cnf, f, true);
}

BENCHMARK(BM_VerifyCold_RS256);
BENCHMARK(BM_VerifyCold_ES256);
BENCHMARK(BM_VerifyWarm_RS256);
BENCHMARK(BM_VerifyWarm_ES256);
BENCHMARK(BM_VerifyWarmCnf_ES256);
// The cache under contention: every thread hits the same token (worst case: one shard).
BENCHMARK(BM_VerifyWarm_ES256)->Threads(2)->Name("BM_VerifyWarm_ES256_2threads");

}  // namespace
}  // namespace warden::token
