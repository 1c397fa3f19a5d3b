// A small RAII layer over SQLite's C API: a connection, prepared statements, transactions.
//
// Every failure comes back as a Status/Result whose message holds SQLite's own text
// (sqlite3_errmsg), prefixed with what was being done; nothing throws. Binding errors are
// remembered by the Statement and reported by the next step(), so binds can be chained.
//
// Durability: open() turns on WAL (readers never block the writer), synchronous=FULL (a
// write is on disk before commit returns, so an acknowledged change survives power loss,
// not only a process crash; NORMAL in WAL mode may lose the last transactions), foreign
// keys, and a busy timeout so a second process on the same file waits instead of failing.
//
// Thread-safety: a Db and its Statements are used by one thread at a time (the Store's
// mutex serialises them); SQLite is built thread-safe, so distinct Dbs are independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace warden::controlplane::sqlite {

class Statement;

class Db {
 public:
  struct Options {
    int busy_timeout_ms = 5000;
  };

  // Opens (creating if needed) the database file at `path` with the pragmas above.
  static Result<Db> open(const std::string& path, Options options);
  static Result<Db> open(const std::string& path) { return open(path, Options{}); }

  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements that return no rows (DDL, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);

  std::int64_t changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  std::int64_t lastInsertRowId() const;
  std::string lastErrorMessage() const;
  bool inTransaction() const;

 private:
  explicit Db(sqlite3* handle) : handle_(handle) {}
  sqlite3* handle_ = nullptr;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bindNull(int index);
  // nullopt binds NULL.
  Statement& bind(int index, const std::optional<std::string>& text);

  // true: a row is available; false: done.
  Result<bool> step();
  // Steps to the end, for statements whose rows (if any) are not needed.
  Status run();
  // Makes the statement runnable again; bindings are kept.
  void reset();

  // Columns are 0-based, as in SQLite.
  std::int64_t columnInt(int column) const;
  std::string columnText(int column) const;  // "" for NULL
  bool columnIsNull(int column) const;

 private:
  friend class Db;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  void noteBindResult(int rc, int index);

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  std::string bind_error_;  // the first failed bind, reported by step()
};

// BEGIN ... COMMIT, rolled back by the destructor unless commit() succeeded.
//
// Writers use kImmediate: the write lock is taken at BEGIN, so a transaction that read
// something never fails later with SQLITE_BUSY when it upgrades to write (the deadlock
// of deferred transactions between two processes); busy_timeout covers the wait.
class Transaction {
 public:
  enum class Mode : std::uint8_t { kDeferred, kImmediate };

  static Result<Transaction> begin(Db& db, Mode mode);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_ = nullptr;  // null once committed, rolled back or moved from
};

}  // namespace warden::controlplane::sqlite
