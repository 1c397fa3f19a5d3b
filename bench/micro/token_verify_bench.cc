// Layer 3 cost per request: AccessTokenVerifier::verify() on an RFC 9068 access token of
// realistic size (about 700 bytes), signed RS256 (RSA-2048) or ES256 (P-256).
// - Cold: no cache, so every call parses the JWS strictly and verifies the signature: what
//   a caller's first request with a new token pays.
// - Warm: the verified-token cache hit: SHA-256 of the token, a shard lookup, the binding
//   check; what every later request with that token pays.
// - WarmCnf: warm plus the RFC 8705 cnf.x5t#S256 comparison against the caller certificate.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "token_fixture.h"

namespace warden::token {
namespace {

using bench::die;
using bench::kNow;

struct Fixture {
  bench::SignedToken signed_token;
  std::unique_ptr<const AccessTokenVerifier> cold;
  std::unique_ptr<const AccessTokenVerifier> warm;
  std::unique_ptr<const AccessTokenVerifier> warm_cnf;

  explicit Fixture(jose::Alg alg)
      : signed_token(bench::makeSignedToken(alg)),
        cold(bench::makeVerifier(signed_token, BindingMode::kNone, nullptr)),
        warm(bench::makeVerifier(signed_token, BindingMode::kNone,
                                 std::make_shared<VerifiedTokenCache>())),
        warm_cnf(bench::makeVerifier(signed_token, BindingMode::kCnfX5t,
                                     std::make_shared<VerifiedTokenCache>())) {}
};

const Fixture& fixture(jose::Alg alg) {
  static const Fixture rs(jose::Alg::kRS256);
  static const Fixture es(jose::Alg::kES256);
  return alg == jose::Alg::kRS256 ? rs : es;
}

void run(benchmark::State& state, const AccessTokenVerifier& verifier, const Fixture& f,
         bool expect_cached) {
  const std::string& token = f.signed_token.token;
  const CallerBinding caller{bench::kCallerId, f.signed_token.cert_sha256};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  const TokenVerdict first = verifier.verify(token, caller, now);  // fills the cache
  if (!first.ok) die(first.reason + ": " + first.detail);
  for (auto _ : state) {
    TokenVerdict v = verifier.verify(token, caller, now);
    if (v.from_cache != expect_cached || !v.ok) {
      state.SkipWithError("unexpected verdict");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(std::to_string(token.size()) + " B token");
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
