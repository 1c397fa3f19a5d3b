// The health report a governed sidecar sends its control plane (POST
// /api/v1/sidecars/status, docs/sidecar.md#status-reports).
//
// It is built from the /readyz document, so the report and the admin listener can never
// disagree about the facts they share (SVID, bundles, JWKS, the view in force), plus what
// only the report carries: the version, the start time, the bound listeners and the
// per-layer decision counters /metrics exports. The SPIFFE ID in it is informative: the
// server takes the reporter's identity from its client certificate.
// Thread-safety: a pure function of its arguments.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "proxy/metrics.h"

namespace warden::proxy {

struct StatusReportFacts {
  std::int64_t started_at = 0;  // Unix seconds
  std::chrono::seconds interval{15};
  std::map<std::string, std::string> listeners;  // "ingress", "egress", "admin" -> address
  std::map<std::string, SidecarMetrics::LayerDecisions> decisions;  // by layer
};

// `readyz`: the sidecar's /readyz document (Sidecar::Impl::readinessDocument()).
nlohmann::json buildStatusReport(const nlohmann::json& readyz, const StatusReportFacts& facts);

}  // namespace warden::proxy
