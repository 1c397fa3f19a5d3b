#include "controlplane/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace warden::controlplane::sqlite {
namespace {

Error sqliteError(sqlite3* db, std::string_view what) {
  std::string message = "sqlite: ";
  message.append(what);
  message.append(": ");
  message.append(db != nullptr ? sqlite3_errmsg(db) : "out of memory");
  return makeError(std::move(message));
}

// The database holds password hashes and the audit trail: it is created 0600 before SQLite
// opens it (SQLite would use 0644 under the usual umask). SQLite gives its -wal and -shm
// files the permissions of the main file.
Status createPrivateFile(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) return {};
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError("sqlite: cannot create " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return {};
}

// A pragma whose answer we must check: SQLite silently keeps the old journal mode when the
// file system cannot do WAL (e.g. some network file systems).
Result<std::string> pragmaValue(Db& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->step();
  if (!row.ok()) return row.error();
  if (!*row) return makeError(std::string("sqlite: no answer to ") + std::string(sql));
  return stmt->columnText(0);
}

}  // namespace

Result<Db> Db::open(const std::string& path, Options options) {
  if (auto created = createPrivateFile(path); !created.ok()) return created.error();
  sqlite3* handle = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  Db db(handle);  // closes the handle on every return below, even when open failed
  if (rc != SQLITE_OK) return sqliteError(handle, "open " + path);
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);

  auto mode = pragmaValue(db, "PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.error();
  if (*mode != "wal" && *mode != "memory") {
    return makeError("sqlite: " + path + ": WAL journal mode unavailable (got " + *mode + ")");
  }
  if (auto s = db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !s.ok()) {
    return s.error();
  }
  auto fk = pragmaValue(db, "PRAGMA foreign_keys");
  if (!fk.ok()) return fk.error();
  if (*fk != "1") return makeError("sqlite: foreign keys unsupported by this SQLite build");
  return db;
}

Db::Db(Db&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) sqlite3_close_v2(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Db::~Db() {
  // close_v2 defers the close until outstanding statements are finalised, so destruction
  // order between a Db and its Statements does not matter.
  if (handle_ != nullptr) sqlite3_close_v2(handle_);
}

Status Db::exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* message = nullptr;
  const int rc = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string error = "sqlite: exec: ";
    error.append(message != nullptr ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return makeError(std::move(error));
  }
  return {};
}

Result<Statement> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqliteError(handle_, "prepare");
  }
  return Statement(stmt, handle_);
}

std::int64_t Db::changes() const {
  return sqlite3_changes64(handle_);
}
std::int64_t Db::lastInsertRowId() const {
  return sqlite3_last_insert_rowid(handle_);
}
std::string Db::lastErrorMessage() const {
  return sqlite3_errmsg(handle_);
}
bool Db::inTransaction() const {
  return sqlite3_get_autocommit(handle_) == 0;
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::noteBindResult(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.empty()) {
    bind_error_ = "sqlite: bind parameter " + std::to_string(index) + ": " + sqlite3_errstr(rc);
  }
}

Statement& Statement::bind(int index, std::int64_t value) {
  noteBindResult(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  // A default-constructed string_view has data() == nullptr, which SQLite would store as
  // NULL; text is never NULL, so bind an empty string instead.
  const char* data = text.data() != nullptr ? text.data() : "";
  noteBindResult(
      sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  return *this;
}

Statement& Statement::bindNull(int index) {
  noteBindResult(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bindNull(index);
}

Result<bool> Statement::step() {
  if (!bind_error_.empty()) return makeError(bind_error_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db_, "step");
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return row.error();
    if (!*row) return {};
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
}

std::int64_t Statement::columnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::columnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

bool Statement::columnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<Transaction> Transaction::begin(Db& db, Mode mode) {
  auto s = db.exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  if (!s.ok()) return s.error();
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // A failed statement may already have rolled back (e.g. SQLITE_FULL); only roll back
  // what is still open, and ignore the outcome: there is nobody to report it to.
  if (db_ != nullptr && db_->inTransaction()) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (db_ == nullptr) return makeError("sqlite: commit: no open transaction");
  auto s = db_->exec("COMMIT");
  if (!s.ok()) return s;  // the destructor rolls back
  db_ = nullptr;
  return {};
}

}  // namespace warden::controlplane::sqlite
