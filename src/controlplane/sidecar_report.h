// A sidecar's status report, as the control plane accepts it (POST /api/v1/sidecars/status;
// the sidecar builds it in proxy/status_report.h).
//
// Trust posture: the body comes from an authenticated sidecar but is still its claim, so it
// is bounded (kMaxSidecarReportBytes), parsed strictly (one JSON object, no duplicate keys)
// and checked member by member against the schema below; errors name the field. Members
// this server does not know are dropped rather than refused, so a newer sidecar can report
// to an older server, and only checked fields are ever served back. A `spiffe_id` in the
// body is dropped too: the reporter is whoever the client certificate says it is.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace warden::controlplane {

inline constexpr std::size_t kMaxSidecarReportBytes = 64 * 1024;
inline constexpr std::chrono::seconds kMinReportInterval{1};
inline constexpr std::chrono::seconds kMaxReportInterval{300};

struct SidecarReport {
  nlohmann::json document;  // the checked members only
  std::chrono::seconds interval{15};
  std::int64_t started_at = 0;
};

// Schema (docs/control-plane.md#sidecar-status): version (string), started_at (integer) and
// interval_seconds (1..300) are required; ready, svid, bundles, jwks, config,
// control_plane, audit_shipping, listeners and layers are optional.
Result<SidecarReport> parseSidecarReport(std::string_view body);

}  // namespace warden::controlplane
