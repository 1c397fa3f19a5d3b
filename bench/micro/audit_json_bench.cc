// Audit line rendering (audit::toJsonLine): one per request on the audit path, so its cost
// is part of every request when audit is on. A typical allowed request, and a denial whose
// strings need JSON escaping.
#include <benchmark/benchmark.h>

#include <string>

#include "audit/audit_event.h"

namespace warden::audit {
namespace {

AuditEvent typicalEvent() {
  AuditEvent e;
  e.kind = EventKind::kRequest;
  e.direction = Direction::kIngress;
  e.time_unix_us = 1795000000123456;
  e.request_id = "257b19afd3cff9fc";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.allowed = true;
  e.layer = "rbac";
  e.reason = "allowed";
  e.status = 200;
  e.caller_id = "spiffe://example.org/ns/default/sa/caller-a";
  e.target_id = "spiffe://example.org/ns/default/sa/budget-api";
  e.method = "GET";
  e.path = "/budget/read";
  e.policy_version = "2026-11-24.1";
  e.rule_id = "budget-read";
  e.source_address = "127.0.0.1:58676";
  e.connection_id = 123456;
  e.decision_latency_us = 3;
  e.upstream_status = 200;
  e.bytes_in = 0;
  e.bytes_out = 31;
  e.duration_us = 258;
  return e;
}

void BM_AuditJson_Allowed(benchmark::State& state) {
  const AuditEvent e = typicalEvent();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string line = toJsonLine(e);
    bytes += line.size();
    benchmark::DoNotOptimize(line);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_AuditJson_Allowed);

void BM_AuditJson_DeniedNeedsEscaping(benchmark::State& state) {
  AuditEvent e = typicalEvent();
  e.allowed = false;
  e.reason = "invalid_path";
  e.status = 400;
  e.upstream_status = 0;
  e.bytes_out = 0;
  e.rule_id.clear();
  e.path = "/budget/\"quoted\"\\back\tslash\x01\x7f/%C3%A9";
  e.detail = "rejected: raw \"\\\" in target\nsecond line";
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string line = toJsonLine(e);
    bytes += line.size();
    benchmark::DoNotOptimize(line);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_AuditJson_DeniedNeedsEscaping);

}  // namespace
}  // namespace warden::audit
