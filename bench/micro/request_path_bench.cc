// Request-target normalisation (policy::normalizeRequestTarget), which runs on every request
// before policy: clean paths (the common case), paths with a query, and the tricky inputs
// the normaliser exists for (escapes, dot segments, duplicate slashes) plus a rejected one.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "policy/request_path.h"

namespace warden::policy {
namespace {

void run(benchmark::State& state, std::string_view target, bool ok, std::string_view want) {
  Result<NormalizedTarget> first = normalizeRequestTarget(target);
  if (first.ok() != ok || (ok && first->path != want)) {
    state.SkipWithError("unexpected normalisation result");
    return;
  }
  for (auto _ : state) {
    Result<NormalizedTarget> r = normalizeRequestTarget(target);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(target.size()));
}

void BM_Normalize_Clean(benchmark::State& state) {
  run(state, "/budget/read", true, "/budget/read");
}
BENCHMARK(BM_Normalize_Clean);

void BM_Normalize_CleanLong(benchmark::State& state) {
  run(state, "/api/v1/namespaces/default/services/budget-api/items/1234567890/details", true,
      "/api/v1/namespaces/default/services/budget-api/items/1234567890/details");
}
BENCHMARK(BM_Normalize_CleanLong);

void BM_Normalize_WithQuery(benchmark::State& state) {
  run(state, "/budget/read?from=2026-01-01&to=2026-12-31&page=3", true, "/budget/read");
}
BENCHMARK(BM_Normalize_WithQuery);

void BM_Normalize_DotSegments(benchmark::State& state) {
  run(state, "/budget/read/../submit/./x/..", true, "/budget/submit/");
}
BENCHMARK(BM_Normalize_DotSegments);

void BM_Normalize_EncodedDots(benchmark::State& state) {
  run(state, "//budget//read/%2e%2e/%2E%2e/admin/%7euser/%c3%a9", true, "/admin/~user/%C3%A9");
}
BENCHMARK(BM_Normalize_EncodedDots);

void BM_Normalize_RejectEncodedSlash(benchmark::State& state) {
  run(state, "/budget/%2Fsubmit", false, "");
}
BENCHMARK(BM_Normalize_RejectEncodedSlash);

}  // namespace
}  // namespace warden::policy
