// Store: audit statistics (the portal's traffic charts and caller->target graph), each
// aggregated by SQLite with GROUP BY over the indexed columns, so the server never holds
// more than one row per bucket, reason or pair however many events the range has.
#include <string>

#include "controlplane/store.h"
#include "controlplane/store_impl.h"

namespace warden::controlplane {
namespace {

// ?1 from, ?2 to (µs, half-open). The time index narrows the scan; decision must be one
// of the two the sidecar writes (a line of another shape has an empty one). Egress events
// are left out (store_types.h: a call between two sidecars is audited on both sides);
// direction is not an indexed column, so it is read from the line, with json_valid()
// guarding json_extract() (which fails the statement on malformed JSON) and CASE fixing
// the order. A line without `direction` counts as ingress.
constexpr std::string_view kInRange =
    " FROM audit_events WHERE time_unix_us >= ?1 AND time_unix_us < ?2"
    " AND decision IN ('allow', 'deny')"
    " AND CASE WHEN json_valid(line)"
    "   THEN COALESCE(json_extract(line, '$.direction'), 'ingress') <> 'egress' ELSE 1 END";

}  // namespace

StoreResult<AuditStats> Store::auditStats(const AuditStatsQuery& q) {
  if (q.from_unix_us < 0 || q.to_unix_us <= q.from_unix_us) {
    return StoreError::invalid("from/to: expected 0 <= from < to");
  }
  if (q.bucket_us <= 0) return StoreError::invalid("bucket: must be positive");
  if (q.max_edges == 0) return StoreError::invalid("max_edges: must be positive");
  return impl_->read<AuditStats>([&](sqlite::Db& db) -> StoreResult<AuditStats> {
    AuditStats stats;
    {
      auto stmt = statement(db,
                            "SELECT (time_unix_us - ?1) / ?3 AS bucket, decision, layer, COUNT(*)" +
                                std::string(kInRange) +
                                " GROUP BY bucket, decision, layer ORDER BY bucket, decision, layer",
                            q.from_unix_us, q.to_unix_us, q.bucket_us);
      if (!stmt.ok()) return stmt.error();
      for (;;) {
        auto row = nextRow(*stmt);
        if (!row.ok()) return row.error();
        if (!*row) break;
        stats.counts.push_back(AuditBucketCount{stmt->columnInt(0), stmt->columnText(1),
                                                stmt->columnText(2), columnU64(*stmt, 3)});
      }
    }
    {
      auto stmt = statement(db,
                            "SELECT reason, COUNT(*)" + std::string(kInRange) +
                                " AND decision = 'deny' GROUP BY reason ORDER BY reason",
                            q.from_unix_us, q.to_unix_us);
      if (!stmt.ok()) return stmt.error();
      for (;;) {
        auto row = nextRow(*stmt);
        if (!row.ok()) return row.error();
        if (!*row) break;
        stats.deny_reasons.push_back(AuditReasonCount{stmt->columnText(0), columnU64(*stmt, 1)});
      }
    }
    {
      // With exactly one max() in the select list, SQLite takes the bare columns
      // (decision, reason) from the row that holds the maximum
      // (https://sqlite.org/lang_select.html#bareagg): the pair's newest event. One row
      // more than kept tells that the list was cut.
      auto stmt = statement(
          db,
          "SELECT caller, target, SUM(decision = 'allow'), SUM(decision = 'deny'),"
          " MAX(time_unix_us), decision, reason" +
              std::string(kInRange) +
              " GROUP BY caller, target ORDER BY COUNT(*) DESC, caller, target LIMIT ?3",
          q.from_unix_us, q.to_unix_us, static_cast<std::int64_t>(q.max_edges + 1));
      if (!stmt.ok()) return stmt.error();
      for (;;) {
        auto row = nextRow(*stmt);
        if (!row.ok()) return row.error();
        if (!*row) break;
        if (stats.edges.size() == q.max_edges) {
          stats.edges_truncated = true;
          break;
        }
        stats.edges.push_back(AuditEdge{stmt->columnText(0), stmt->columnText(1),
                                        columnU64(*stmt, 2), columnU64(*stmt, 3),
                                        stmt->columnInt(4), stmt->columnText(5),
                                        stmt->columnText(6)});
      }
    }
    return stats;
  });
}

}  // namespace warden::controlplane
