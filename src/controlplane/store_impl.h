// Internal to the store: the state behind Store, the one-transaction-per-call helpers and
// the SQL plumbing shared by store_*.cc. Not included outside src/controlplane/.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "controlplane/sqlite_db.h"
#include "controlplane/store.h"

namespace warden::controlplane {

// What a write transaction's body sees.
struct WriteTx {
  sqlite::Db& db;
  std::int64_t now_us;
  bool bump_generation = false;  // set by bodies that change what sidecars receive

  std::int64_t nowUnix() const { return now_us / 1'000'000; }
};

struct Store::Impl {
  Impl(sqlite::Db database, std::function<std::int64_t()> clock, std::uint64_t gen)
      : db(std::move(database)), now_us(std::move(clock)), generation(gen) {}

  // Runs body(WriteTx&) -> StoreResult<T> in one IMMEDIATE transaction: committed if the
  // body succeeds, rolled back otherwise. Subscribers hear of a new generation after the
  // commit, outside `mutex`.
  template <class T, class Body>
  StoreResult<T> write(Body&& body);

  // Runs body(sqlite::Db&) -> StoreResult<T> in one read transaction (a consistent snapshot).
  template <class T, class Body>
  StoreResult<T> read(Body&& body);

  void notify(std::uint64_t new_generation);

  sqlite::Db db;  // guarded by mutex
  std::mutex mutex;
  std::function<std::int64_t()> now_us;
  std::atomic<std::uint64_t> generation;  // written under mutex after commit

  std::mutex subscribers_mutex;  // guards subscribers and next_handle
  std::map<std::uint64_t, Subscriber> subscribers;
  std::uint64_t next_handle = 1;

  std::mutex notify_mutex;  // serialises announcements so they are increasing
  std::uint64_t last_announced = 0;
};

// --- SQL helpers: bind a parameter pack, map errors to StoreError::kInternal ---

inline void bindValue(sqlite::Statement& s, int i, std::int64_t v) {
  s.bind(i, v);
}
inline void bindValue(sqlite::Statement& s, int i, int v) {
  s.bind(i, std::int64_t{v});
}
// Stored as SQLite's signed 64-bit integer; callers keep values below 2^63.
inline void bindValue(sqlite::Statement& s, int i, std::uint64_t v) {
  s.bind(i, static_cast<std::int64_t>(v));
}
inline void bindValue(sqlite::Statement& s, int i, std::string_view v) {
  s.bind(i, v);
}
inline void bindValue(sqlite::Statement& s, int i, const std::string& v) {
  s.bind(i, std::string_view(v));
}
inline void bindValue(sqlite::Statement& s, int i, const char* v) {
  s.bind(i, std::string_view(v));
}
inline void bindValue(sqlite::Statement& s, int i, std::nullptr_t) {
  s.bindNull(i);
}
inline void bindValue(sqlite::Statement& s, int i, const std::optional<std::string>& v) {
  s.bind(i, v);
}
inline void bindValue(sqlite::Statement& s, int i, const std::optional<std::int64_t>& v) {
  if (v) {
    s.bind(i, *v);
  } else {
    s.bindNull(i);
  }
}

template <class... Args>
StoreResult<sqlite::Statement> statement(sqlite::Db& db, std::string_view sql,
                                         const Args&... args) {
  auto stmt = db.prepare(sql);
  if (!stmt.ok()) return StoreError::internal(stmt.error());
  [[maybe_unused]] int index = 0;
  (bindValue(*stmt, ++index, args), ...);
  return std::move(*stmt);
}

// Runs a statement that returns no rows; returns the number of rows it changed.
template <class... Args>
StoreResult<std::int64_t> execute(sqlite::Db& db, std::string_view sql, const Args&... args) {
  auto stmt = statement(db, sql, args...);
  if (!stmt.ok()) return stmt.error();
  if (auto s = stmt->run(); !s.ok()) return StoreError::internal(s.error());
  return db.changes();
}

// Steps once: true when a row is available.
inline StoreResult<bool> nextRow(sqlite::Statement& stmt) {
  auto row = stmt.step();
  if (!row.ok()) return StoreError::internal(row.error());
  return *row;
}

inline std::uint64_t columnU64(const sqlite::Statement& s, int column) {
  return static_cast<std::uint64_t>(s.columnInt(column));
}

// --- Shared by the store_*.cc files ---

StoreStatus validateActor(const Actor& actor);
StoreStatus validateComment(std::string_view comment);
// Appends one row to the change log.
StoreStatus recordChange(WriteTx& tx, const Actor& actor, std::string_view action,
                         std::string_view object_kind, std::string_view object_id,
                         std::uint64_t object_version, std::string_view comment,
                         std::string_view detail);
// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);
// 0 -> default 100; above 1000 -> 1000.
std::size_t clampLimit(std::size_t limit);

// --- Template definitions ---

template <class T, class Body>
StoreResult<T> Store::Impl::write(Body&& body) {
  std::optional<StoreResult<T>> result;
  std::uint64_t announce = 0;
  {
    std::lock_guard lock(mutex);
    auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Mode::kImmediate);
    if (!tx.ok()) return StoreError::internal(tx.error());
    WriteTx ctx{db, now_us()};
    try {
      result.emplace(body(ctx));
    } catch (const std::exception& e) {  // a bug or bad_alloc: never let it cross the API
      return StoreError::internal(std::string("store: unexpected exception: ") + e.what());
    }
    if (!result->ok()) return std::move(*result);  // tx rolls back
    std::uint64_t next = 0;
    if (ctx.bump_generation) {
      auto stmt = statement(
          db, "UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value");
      if (!stmt.ok()) return stmt.error();
      auto row = nextRow(*stmt);
      if (!row.ok()) return row.error();
      if (!*row) return StoreError::internal("store: meta.generation is missing");
      next = columnU64(*stmt, 0);
    }
    if (auto s = tx->commit(); !s.ok()) return StoreError::internal(s.error());
    if (ctx.bump_generation) {
      generation.store(next, std::memory_order_release);
      announce = next;
    }
  }
  if (announce != 0) notify(announce);
  return std::move(*result);
}

template <class T, class Body>
StoreResult<T> Store::Impl::read(Body&& body) {
  std::lock_guard lock(mutex);
  auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Mode::kDeferred);
  if (!tx.ok()) return StoreError::internal(tx.error());
  std::optional<StoreResult<T>> result;
  try {
    result.emplace(body(db));
  } catch (const std::exception& e) {
    return StoreError::internal(std::string("store: unexpected exception: ") + e.what());
  }
  if (result->ok()) {
    if (auto s = tx->commit(); !s.ok()) return StoreError::internal(s.error());
  }
  return std::move(*result);
}

}  // namespace warden::controlplane
