// SPIFFE ID parsing (once per handshake, from the peer's URI SAN) and IdMatcher::matches
// (layer 1 allow-list and caller selection) for the three matcher kinds.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "identity/id_matcher.h"
#include "identity/spiffe_id.h"

namespace warden::identity {
namespace {

constexpr std::string_view kId = "spiffe://example.org/ns/default/sa/budget-report";

SpiffeId mustParse(std::string_view text) {
  Result<SpiffeId> r = SpiffeId::parse(text);
  if (!r.ok()) {
    std::cerr << text << ": " << r.error().message << "\n";
    std::abort();
  }
  return r.value();
}

template <class Make>
IdMatcher mustMake(Make make, std::string_view text) {
  Result<IdMatcher> r = make(text);
  if (!r.ok()) {
    std::cerr << text << ": " << r.error().message << "\n";
    std::abort();
  }
  return r.value();
}

void BM_SpiffeIdParse_Valid(benchmark::State& state) {
  for (auto _ : state) {
    Result<SpiffeId> r = SpiffeId::parse(kId);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SpiffeIdParse_Valid);

void BM_SpiffeIdParse_Long(benchmark::State& state) {
  std::string text = "spiffe://prod.cluster-01.example.org";
  for (int i = 0; i < 20; ++i)
    text.append("/segment-").append(std::to_string(i)).append(".v_2");
  if (!SpiffeId::parse(text).ok())
    state.SkipWithError("long ID should parse");
  for (auto _ : state) {
    Result<SpiffeId> r = SpiffeId::parse(text);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SpiffeIdParse_Long);

void BM_SpiffeIdParse_Invalid(benchmark::State& state) {
  // Upper-case trust domain: rejected (late enough in the string to do real work).
  constexpr std::string_view bad = "spiffe://Example.org/ns/default/sa/budget-report";
  if (SpiffeId::parse(bad).ok())
    state.SkipWithError("invalid ID should be rejected");
  for (auto _ : state) {
    Result<SpiffeId> r = SpiffeId::parse(bad);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SpiffeIdParse_Invalid);

void runMatch(benchmark::State& state, const IdMatcher& m, std::string_view id, bool want) {
  const SpiffeId peer = mustParse(id);
  if (m.matches(peer) != want)
    state.SkipWithError("unexpected match result");
  for (auto _ : state) {
    bool r = m.matches(peer);
    benchmark::DoNotOptimize(r);
  }
}

void BM_IdMatcher_ExactHit(benchmark::State& state) {
  runMatch(state, mustMake(IdMatcher::exact, kId), kId, true);
}
BENCHMARK(BM_IdMatcher_ExactHit);

void BM_IdMatcher_ExactMiss(benchmark::State& state) {
  runMatch(state, mustMake(IdMatcher::exact, kId),
           "spiffe://example.org/ns/default/sa/budget-reporx", false);
}
BENCHMARK(BM_IdMatcher_ExactMiss);

void BM_IdMatcher_TrustDomain(benchmark::State& state) {
  runMatch(state, mustMake(IdMatcher::trustDomain, "example.org"), kId, true);
}
BENCHMARK(BM_IdMatcher_TrustDomain);

void BM_IdMatcher_PatternHit(benchmark::State& state) {
  runMatch(state, mustMake(IdMatcher::pattern, "spiffe://example.org/ns/*/sa/budget-report"), kId,
           true);
}
BENCHMARK(BM_IdMatcher_PatternHit);

void BM_IdMatcher_PatternMiss(benchmark::State& state) {
  runMatch(state, mustMake(IdMatcher::pattern, "spiffe://example.org/ns/*/sa/budget-approval"), kId,
           false);
}
BENCHMARK(BM_IdMatcher_PatternMiss);

}  // namespace
}  // namespace warden::identity
