// Audit line rendering (audit::toJsonLine): one per request on the audit path, so its cost
// is part of every request when audit is on. A typical allowed request, the same with the
// layer 3 token facts, and a denial whose strings need JSON escaping.
#include <benchmark/benchmark.h>

#include <memory>
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

void BM_AuditJson_AllowedWithToken(benchmark::State& state) {
  AuditEvent e = typicalEvent();
  auto facts = std::make_shared<TokenFacts>();
  facts->issuer = "https://login.example.com/tenant/v2.0";
  facts->subject = "spiffe://example.org/ns/default/sa/caller-a";
  facts->client_id = "9a1c7e2d-0000-4000-8000-000000000002";
  facts->jti_digest = "3f0b8b5e1c2d4a6f8e9d7c5b3a1f0e2d4c6b8a9f7e5d3c1b0a2f4e6d8c9b7a5f";
  facts->audiences_csv = "api://budget-backend,api://reports";
  facts->roles_csv = "Budget.Read,Budget.List,Reports.Read";
  e.token_present = true;
  e.token = std::move(facts);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string line = toJsonLine(e);
    bytes += line.size();
    benchmark::DoNotOptimize(line);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_AuditJson_AllowedWithToken);

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
