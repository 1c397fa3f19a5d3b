// Audit statistics for the portal (GET /api/v1/audit/stats, docs/control-plane.md#audit):
// the query's range and bucket, checked here, and the answer's JSON built from the
// store's SQL aggregates (Store::auditStats) with every bucket present, zeros included.
//
// Trust posture: the query comes from an authenticated reader; bounds keep the answer
// (at most 720 buckets over at most 7 days) and the scan small.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "controlplane/store_types.h"

namespace warden::controlplane {

inline constexpr std::int64_t kMaxStatsRangeSeconds = 7 * 24 * 3600;
inline constexpr std::int64_t kMaxStatsBuckets = 720;
inline constexpr std::int64_t kDefaultStatsRangeSeconds = 3600;
inline constexpr std::int64_t kDefaultStatsBucketSeconds = 60;

struct AuditStatsRange {
  std::int64_t since = 0;  // Unix seconds, inclusive
  std::int64_t until = 0;  // Unix seconds, exclusive
  std::int64_t bucket = kDefaultStatsBucketSeconds;
  std::int64_t buckets = 0;  // ceil((until - since) / bucket); the last may be partial
};

// `since`, `until` and `bucket` from the query (absent: until = now, since = until - 1 h,
// bucket = 60 s). The error names the parameter and the bound it breaks.
Result<AuditStatsRange> parseAuditStatsRange(const std::map<std::string, std::string>& query,
                                             std::int64_t now_unix);

AuditStatsQuery storeQueryFor(const AuditStatsRange& range);

// `names`: registered agents' names by SPIFFE ID (a pair's unknown side gets "").
nlohmann::json auditStatsJson(const AuditStatsRange& range, const AuditStats& stats,
                              const std::map<std::string, std::string>& names);

}  // namespace warden::controlplane
