// The latest status report of each sidecar, in memory (GET /api/v1/health lists them).
//
// One entry per SPIFFE ID: a new report replaces the previous one. The ID is the one the
// caller's client certificate proved (the API passes Principal::subject); the report's
// own `spiffe_id`, if it sent one, never gets this far (sidecar_report.h). Entries not
// refreshed for kReportRetention are dropped, so a sidecar that went away for good is
// forgotten within a day; until then it shows as stale (no report for three of its
// intervals). Only registered agents' sidecars may report, which bounds the map by the
// registry. Nothing here is persisted: after a server restart the list fills again
// within one report interval.
// Thread-safety: every member may be called from any thread (one mutex; reports arrive
// once per interval per sidecar, far from a hot path).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/sidecar_report.h"

namespace warden::controlplane {

inline constexpr std::chrono::hours kReportRetention{24};
// Missed intervals after which a sidecar's report is called stale.
inline constexpr int kStaleAfterIntervals = 3;

struct SidecarReportEntry {
  std::string spiffe_id;    // from the verified client certificate
  std::string agent;        // the registry name it belonged to when it reported
  std::int64_t received_at = 0;  // Unix seconds, the server's clock
  SidecarReport report;

  std::int64_t ageSeconds(std::int64_t now) const { return now > received_at ? now - received_at : 0; }
  bool stale(std::int64_t now) const {
    return ageSeconds(now) > kStaleAfterIntervals * report.interval.count();
  }
};

class SidecarReports {
 public:
  void record(std::string spiffe_id, std::string agent, SidecarReport report, std::int64_t now);
  // Every entry younger than kReportRetention at `now`, ordered by SPIFFE ID; older ones
  // are dropped.
  std::vector<SidecarReportEntry> list(std::int64_t now);

 private:
  void dropExpired(std::int64_t now);  // caller holds mutex_

  std::mutex mutex_;
  std::map<std::string, SidecarReportEntry> entries_;  // guarded by mutex_
};

}  // namespace warden::controlplane
