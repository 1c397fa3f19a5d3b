// Versioned schema migrations for the control plane's database.
//
// The applied versions are rows of `schema_migrations(version, name, applied_at)`.
// migrate() applies, in one IMMEDIATE transaction, every migration whose version is not
// there yet, in order; either all of them land or none does. A database that already has a
// version newer than the code knows was written by a newer Warden: it is refused (rather
// than used with a schema this code does not understand), and nothing is changed.
// Migrations are append-only: a released migration is never edited, a change is a new one.
//
// Thread-safety: functions on a Db the caller owns.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "controlplane/sqlite_db.h"

namespace warden::controlplane {

struct Migration {
  std::int64_t version;   // 1, 2, 3, ... without gaps
  std::string_view name;  // short description, stored with the version
  std::string_view sql;   // one or more statements
};

// The migrations this build knows, ordered by version.
std::span<const Migration> storeMigrations();

// The highest applied version (0 for an empty database).
Result<std::int64_t> schemaVersion(sqlite::Db& db);

// Applies the missing migrations of `migrations` (ordered by version); `now_unix` is stored
// as applied_at. Returns the schema version after migrating.
Result<std::int64_t> migrate(sqlite::Db& db, std::span<const Migration> migrations,
                             std::int64_t now_unix);

}  // namespace warden::controlplane
