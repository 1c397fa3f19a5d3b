// Layer 3 on an ingress request whose token is already cached (issue 4: with layer 3 on and
// a cached token the sidecar must cost within 10 % of layers 1+2). What the worker does per
// such request, in the ingress session's order:
// - Check: proxy::checkRequestToken: Bearer parse, SHA-256 of the token, cache lookup, the
//   issuer's key generation, binding, revocation (none), the rule's role; then the audit
//   event takes the token facts (a shared pointer, not six string copies).
// - CheckMemo: the same on a keep-alive connection that sends the token it sent before
//   (token_memo.h): a byte comparison instead of the SHA-256 and the lookup.
// - CheckAndHeaders: the same as Check plus the five X-Warden-Token-* headers set on the request to
//   the app (each is one Beast field element, i.e. one allocation, inherent to Beast).
// Reported per iteration: time and heap allocations (alloc_counter.h).
#include <benchmark/benchmark.h>

#include <boost/beast/http/fields.hpp>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "audit/audit_event.h"
#include "proxy/request_identity.h"
#include "proxy/request_token.h"
#include "token_fixture.h"

namespace warden::proxy {
namespace {

struct Fixture {
  bench::SignedToken signed_token = bench::makeSignedToken(jose::Alg::kES256);
  std::string authorization = "Bearer " + signed_token.token;
  std::unique_ptr<const token::AccessTokenVerifier> verifier;
  std::vector<std::string> roles{"Budget.Read"};
  policy::Decision decision = policy::Decision::allow(policy::Layer::kRbac, "budget-read");

  explicit Fixture(token::BindingMode binding)
      : verifier(bench::makeVerifier(signed_token, binding,
                                     std::make_shared<token::VerifiedTokenCache>())) {
    decision.required_roles = &roles;
  }
};

const Fixture& fixture(token::BindingMode binding) {
  static const Fixture none(token::BindingMode::kNone);
  static const Fixture cnf(token::BindingMode::kCnfX5t);
  return binding == token::BindingMode::kNone ? none : cnf;
}

void run(benchmark::State& state, token::BindingMode binding, bool headers, bool memo = false) {
  const Fixture& f = fixture(binding);
  const token::CallerBinding caller{bench::kCallerId, f.signed_token.cert_sha256};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(bench::kNow));
  // The first check verifies the signature and fills the cache.
  if (!checkRequestToken(*f.verifier, nullptr, f.decision, f.authorization, caller, now)
           .verdict.ok) {
    bench::die("token refused");
  }
  token::TokenMemo connection_memo;
  token::TokenMemo* memo_ptr = memo ? &connection_memo : nullptr;
  // With a memo: a second request fills it (from the cache), as on a real connection.
  (void)checkRequestToken(*f.verifier, nullptr, f.decision, f.authorization, caller, now, memo_ptr);
  std::string lines;  // reused per connection, as ExchangeBuffers::request_fields
  lines.reserve(512);
  const std::uint64_t allocations_before = bench::allocationCount();
  for (auto _ : state) {
    RequestTokenCheck checked = checkRequestToken(*f.verifier, nullptr, f.decision,
                                                  f.authorization, caller, now, memo_ptr);
    if (!checked.verdict.ok || !checked.verdict.from_cache) {
      state.SkipWithError("not a cache hit");
      break;
    }
    audit::AuditEvent e;
    e.token_present = checked.present;
    e.token = checked.verdict.token;
    if (headers) {
      lines.clear();
      appendHeaderLines(lines, *checked.verdict.token);
      benchmark::DoNotOptimize(lines);
    }
    benchmark::DoNotOptimize(e);
  }
  state.counters["allocs"] = benchmark::Counter(
      static_cast<double>(bench::allocationCount() - allocations_before),
      benchmark::Counter::kAvgIterations);
}

void BM_TokenLayerHit_Check(benchmark::State& state) {
  run(state, token::BindingMode::kNone, false);
}
void BM_TokenLayerHit_CheckCnf(benchmark::State& state) {
  run(state, token::BindingMode::kCnfX5t, false);
}
void BM_TokenLayerHit_CheckMemo(benchmark::State& state) {
  run(state, token::BindingMode::kNone, false, true);
}
void BM_TokenLayerHit_CheckAndHeaders(benchmark::State& state) {
  run(state, token::BindingMode::kNone, true);
}

BENCHMARK(BM_TokenLayerHit_Check);
BENCHMARK(BM_TokenLayerHit_CheckCnf);
BENCHMARK(BM_TokenLayerHit_CheckMemo);
BENCHMARK(BM_TokenLayerHit_CheckAndHeaders);

}  // namespace
}  // namespace warden::proxy
