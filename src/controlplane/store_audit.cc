// Store: audit events shipped by sidecars (idempotent insert, filtered queries, retention).
// Audit rows are not configuration: they neither bump the generation nor enter the change
// log.
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "controlplane/audit_index.h"
#include "controlplane/store.h"
#include "controlplane/store_impl.h"

namespace warden::controlplane {
namespace {

// A sidecar's event is about 1 KiB; the bound only stops a broken sender.
constexpr std::size_t kMaxLineBytes = 1 << 20;
constexpr std::size_t kMaxSourceBytes = 2048;

// A WHERE clause built from the filters that are set, so SQLite can use the index of the
// most selective one (a static "? = '' OR col = ?" would defeat the planner).
struct Where {
  std::string sql = " WHERE 1 = 1";
  std::vector<std::variant<std::int64_t, std::string>> params;

  void add(std::string_view condition, std::variant<std::int64_t, std::string> value) {
    sql.append(" AND ").append(condition);
    params.push_back(std::move(value));
  }
};

Where whereFor(const AuditQuery& q, bool with_cursor) {
  Where w;
  if (with_cursor && q.after_id != 0) w.add("id > ?", static_cast<std::int64_t>(q.after_id));
  if (q.from_unix_us != 0) w.add("time_unix_us >= ?", q.from_unix_us);
  if (q.to_unix_us != 0) w.add("time_unix_us < ?", q.to_unix_us);
  const std::pair<const char*, const std::string*> exact[] = {
      {"caller = ?", &q.caller}, {"target = ?", &q.target}, {"decision = ?", &q.decision},
      {"layer = ?", &q.layer},   {"reason = ?", &q.reason}, {"request_id = ?", &q.request_id},
  };
  for (const auto& [condition, value] : exact) {
    if (!value->empty()) w.add(condition, *value);
  }
  // instr() is an exact, case-sensitive substring test: paths are case-sensitive, and LIKE
  // would fold ASCII case and need %/_ escaped. FTS5 tokenises into words, so it cannot
  // find an arbitrary substring such as "/reports/20". A scan of the rows the other
  // filters leave is the honest cost.
  if (!q.path_contains.empty()) w.add("instr(path, ?) > 0", q.path_contains);
  return w;
}

StoreResult<sqlite::Statement> prepareWhere(sqlite::Db& db, const std::string& sql,
                                            const Where& where) {
  auto stmt = db.prepare(sql);
  if (!stmt.ok()) return StoreError::internal(stmt.error());
  int index = 0;
  for (const auto& p : where.params) {
    ++index;
    if (const auto* i = std::get_if<std::int64_t>(&p)) {
      stmt->bind(index, *i);
    } else {
      stmt->bind(index, std::string_view(std::get<std::string>(p)));
    }
  }
  return std::move(*stmt);
}

StoreStatus validateQuery(const AuditQuery& q) {
  if (q.after_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return StoreError::invalid("after_id: out of range");
  }
  if (q.from_unix_us < 0 || q.to_unix_us < 0) {
    return StoreError::invalid("from/to: must not be negative");
  }
  return Done{};
}

}  // namespace

StoreResult<std::size_t> Store::insertAuditEvents(std::string_view source,
                                                  const std::vector<AuditLine>& lines) {
  if (source.empty() || source.size() > kMaxSourceBytes) {
    return StoreError::invalid("source: 1-2048 bytes required");
  }
  for (const auto& line : lines) {
    if (line.seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return StoreError::invalid("seq " + std::to_string(line.seq) + ": out of range");
    }
    if (line.json_line.empty() || line.json_line.size() > kMaxLineBytes) {
      return StoreError::invalid("seq " + std::to_string(line.seq) + ": line empty or > 1 MiB");
    }
  }
  if (lines.empty()) return std::size_t{0};
  return impl_->write<std::size_t>([&](WriteTx& tx) -> StoreResult<std::size_t> {
    // ON CONFLICT DO NOTHING, not INSERT OR IGNORE: only a duplicate (source, seq) is
    // skipped; any other constraint failure is still an error.
    auto stmt = tx.db.prepare(
        "INSERT INTO audit_events (source, seq, received_unix_us, time_unix_us, request_id,"
        " decision, layer, reason, caller, target, method, path, status, line)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source, seq) DO NOTHING");
    if (!stmt.ok()) return StoreError::internal(stmt.error());
    std::size_t added = 0;
    for (const auto& line : lines) {
      const AuditIndex ix = indexAuditLine(line.json_line, tx.now_us);
      stmt->reset();
      stmt->bind(1, source)
          .bind(2, static_cast<std::int64_t>(line.seq))
          .bind(3, tx.now_us)
          .bind(4, ix.time_unix_us)
          .bind(5, std::string_view(ix.request_id))
          .bind(6, std::string_view(ix.decision))
          .bind(7, std::string_view(ix.layer))
          .bind(8, std::string_view(ix.reason))
          .bind(9, std::string_view(ix.caller))
          .bind(10, std::string_view(ix.target))
          .bind(11, std::string_view(ix.method))
          .bind(12, std::string_view(ix.path))
          .bind(13, ix.status)
          .bind(14, std::string_view(line.json_line));
      if (auto s = stmt->run(); !s.ok()) return StoreError::internal(s.error());
      added += static_cast<std::size_t>(tx.db.changes());
    }
    return added;
  });
}

StoreResult<AuditPage> Store::queryAuditEvents(const AuditQuery& query) {
  if (auto s = validateQuery(query); !s.ok()) return s.error();
  return impl_->read<AuditPage>([&](sqlite::Db& db) -> StoreResult<AuditPage> {
    Where where = whereFor(query, true);
    const std::size_t limit = clampLimit(query.limit);
    // One row more than asked tells whether another page exists.
    where.params.emplace_back(static_cast<std::int64_t>(limit + 1));
    auto stmt = prepareWhere(
        db, "SELECT id, source, line FROM audit_events" + where.sql + " ORDER BY id LIMIT ?",
        where);
    if (!stmt.ok()) return stmt.error();
    AuditPage page;
    for (;;) {
      auto row = nextRow(*stmt);
      if (!row.ok()) return row.error();
      if (!*row) break;
      if (page.rows.size() == limit) {
        page.next_after_id = page.rows.back().id;
        break;
      }
      page.rows.push_back(AuditRow{columnU64(*stmt, 0), stmt->columnText(1), stmt->columnText(2)});
    }
    return page;
  });
}

StoreResult<std::uint64_t> Store::countAuditEvents(const AuditQuery& query) {
  if (auto s = validateQuery(query); !s.ok()) return s.error();
  return impl_->read<std::uint64_t>([&](sqlite::Db& db) -> StoreResult<std::uint64_t> {
    const Where where = whereFor(query, false);
    auto stmt = prepareWhere(db, "SELECT COUNT(*) FROM audit_events" + where.sql, where);
    if (!stmt.ok()) return stmt.error();
    auto row = nextRow(*stmt);
    if (!row.ok()) return row.error();
    return *row ? columnU64(*stmt, 0) : 0;
  });
}

StoreResult<std::vector<AuditRow>> Store::recentIngressRequests(std::string_view target_id,
                                                                std::size_t limit) {
  if (target_id.empty()) return StoreError::invalid("target: a SPIFFE ID is required");
  if (limit < 1 || limit > 1000) return StoreError::invalid("limit: expected 1..1000");
  return impl_->read<std::vector<AuditRow>>([&](sqlite::Db& db) -> StoreResult<std::vector<AuditRow>> {
    // Kind and direction are not indexed columns: they are read from the line of the
    // target's rows only (audit_by_target). json_valid() guards json_extract(), which
    // fails the whole statement on a malformed line, and CASE guarantees the order. A
    // line without `event` (a sender using other names) counts as a request when it has
    // a method; one without `direction` as ingress.
    auto stmt = statement(
        db,
        "SELECT id, source, line FROM audit_events WHERE target = ?"
        " AND CASE WHEN json_valid(line) THEN"
        "   COALESCE(json_extract(line, '$.event'), CASE WHEN method <> '' THEN 'request' END)"
        "   = 'request'"
        "   AND COALESCE(json_extract(line, '$.direction'), 'ingress') = 'ingress'"
        " ELSE 0 END"
        " ORDER BY time_unix_us DESC, id DESC LIMIT ?",
        target_id, static_cast<std::int64_t>(limit));
    if (!stmt.ok()) return stmt.error();
    std::vector<AuditRow> rows;
    for (;;) {
      auto row = nextRow(*stmt);
      if (!row.ok()) return row.error();
      if (!*row) break;
      rows.push_back(AuditRow{columnU64(*stmt, 0), stmt->columnText(1), stmt->columnText(2)});
    }
    return rows;
  });
}

StoreResult<std::uint64_t> Store::pruneAuditEvents(std::int64_t older_than_unix_us) {
  return impl_->write<std::uint64_t>([&](WriteTx& tx) -> StoreResult<std::uint64_t> {
    auto deleted =
        execute(tx.db, "DELETE FROM audit_events WHERE time_unix_us < ?", older_than_unix_us);
    if (!deleted.ok()) return deleted.error();
    return static_cast<std::uint64_t>(*deleted);
  });
}

}  // namespace warden::controlplane
