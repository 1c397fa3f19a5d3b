#include "controlplane/schema.h"

#include <array>
#include <string>

namespace warden::controlplane {
namespace {

// Version 1: everything the store holds. Notes on choices that are not obvious:
// - AUTOINCREMENT on changes/audit_events/revocations: ids are cursors handed to clients;
//   plain rowids may be reused after the newest rows are deleted (audit retention), which
//   would make a cursor skip or repeat rows.
// - agents keeps tags, roles and federated credentials as JSON text: they are read and
//   written with the agent as a whole, never queried on their own.
// - agent_versions/document_versions keep every revision in full, so any one can be shown
//   or restored without replaying diffs.
// - CHECK constraints repeat the code's validation, so a bug cannot store a state the
//   sidecars would not understand.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('generation', 0);

CREATE TABLE agents (
  name              TEXT PRIMARY KEY,
  spiffe_id         TEXT NOT NULL DEFAULT '',
  client_id         TEXT NOT NULL DEFAULT '',
  display_name      TEXT NOT NULL DEFAULT '',
  owner             TEXT NOT NULL DEFAULT '',
  state             TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'quarantined')),
  risk              TEXT NOT NULL CHECK (risk IN ('none', 'low', 'medium', 'high')),
  risk_source       TEXT NOT NULL DEFAULT '',
  risk_updated_unix INTEGER NOT NULL DEFAULT 0,
  tags_json         TEXT NOT NULL DEFAULT '{}',
  roles_json        TEXT NOT NULL DEFAULT '{}',
  federated_json    TEXT NOT NULL DEFAULT '[]',
  trust_domain_kind TEXT NOT NULL CHECK (trust_domain_kind IN ('local', 'federated')),
  revision          INTEGER NOT NULL CHECK (revision >= 1),
  created_unix      INTEGER NOT NULL,
  updated_unix      INTEGER NOT NULL
);
CREATE UNIQUE INDEX agents_by_spiffe_id ON agents (spiffe_id) WHERE spiffe_id <> '';
CREATE INDEX agents_by_client_id ON agents (client_id) WHERE client_id <> '';

-- content is the agent's JSON at that revision; NULL marks a deletion.
CREATE TABLE agent_versions (
  name          TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  time_unix     INTEGER NOT NULL,
  actor_subject TEXT NOT NULL,
  actor_method  TEXT NOT NULL,
  action        TEXT NOT NULL,
  comment       TEXT NOT NULL DEFAULT '',
  content       TEXT,
  PRIMARY KEY (name, revision)
);

CREATE TABLE documents (
  kind            TEXT NOT NULL CHECK (kind IN ('policy', 'governance')),
  target          TEXT NOT NULL,
  current_version INTEGER NOT NULL CHECK (current_version >= 1),
  created_unix    INTEGER NOT NULL,
  updated_unix    INTEGER NOT NULL,
  PRIMARY KEY (kind, target)
);

CREATE TABLE document_versions (
  kind           TEXT NOT NULL,
  target         TEXT NOT NULL,
  version        INTEGER NOT NULL CHECK (version >= 1),
  content        TEXT NOT NULL,
  sha256         TEXT NOT NULL,
  author_subject TEXT NOT NULL,
  author_method  TEXT NOT NULL,
  time_unix      INTEGER NOT NULL,
  comment        TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL,
  restored_from  INTEGER,
  PRIMARY KEY (kind, target, version),
  FOREIGN KEY (kind, target) REFERENCES documents (kind, target)
);

CREATE TABLE changes (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  time_unix      INTEGER NOT NULL,
  actor_subject  TEXT NOT NULL,
  actor_method   TEXT NOT NULL,
  action         TEXT NOT NULL,
  object_kind    TEXT NOT NULL,
  object_id      TEXT NOT NULL,
  object_version INTEGER NOT NULL DEFAULT 0,
  comment        TEXT NOT NULL DEFAULT '',
  detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX changes_by_object ON changes (object_kind, object_id, id);

CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  source         TEXT NOT NULL,
  seq            INTEGER NOT NULL,
  received_unix_us INTEGER NOT NULL,
  time_unix_us   INTEGER NOT NULL,
  request_id     TEXT NOT NULL DEFAULT '',
  decision       TEXT NOT NULL DEFAULT '',
  layer          TEXT NOT NULL DEFAULT '',
  reason         TEXT NOT NULL DEFAULT '',
  caller         TEXT NOT NULL DEFAULT '',
  target         TEXT NOT NULL DEFAULT '',
  method         TEXT NOT NULL DEFAULT '',
  path           TEXT NOT NULL DEFAULT '',
  status         INTEGER NOT NULL DEFAULT 0,
  line           TEXT NOT NULL,
  UNIQUE (source, seq)
);
CREATE INDEX audit_by_time ON audit_events (time_unix_us);
CREATE INDEX audit_by_caller ON audit_events (caller, id);
CREATE INDEX audit_by_target ON audit_events (target, id);
CREATE INDEX audit_by_request_id ON audit_events (request_id) WHERE request_id <> '';

CREATE TABLE ssf_jtis (
  issuer       TEXT NOT NULL,
  jti          TEXT NOT NULL,
  expires_unix INTEGER NOT NULL,
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX ssf_jtis_by_expiry ON ssf_jtis (expires_unix);

-- expires_unix 0: never expires.
CREATE TABLE revocations (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  subject            TEXT NOT NULL,
  issued_before_unix INTEGER NOT NULL,
  reason             TEXT NOT NULL DEFAULT '',
  source             TEXT NOT NULL DEFAULT '',
  expires_unix       INTEGER NOT NULL DEFAULT 0,
  created_unix       INTEGER NOT NULL
);
CREATE INDEX revocations_by_subject ON revocations (subject);

CREATE TABLE admin_credentials (
  name         TEXT PRIMARY KEY,
  hash         TEXT NOT NULL,
  created_unix INTEGER NOT NULL,
  updated_unix INTEGER NOT NULL
);
)sql";

// Version 2: local users with roles (the portal's sign-in). Credentials that exist were
// the bootstrap administrator's, so they become admins.
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE admin_credentials ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
  CHECK (role IN ('admin', 'developer', 'viewer'));
)sql";

constexpr std::array<Migration, 2> kMigrations{{
    {1, "initial store: agents, documents, changes, audit, signals, credentials", kSchemaV1},
    {2, "credentials carry a role (local users)", kSchemaV2},
}};

constexpr std::string_view kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at INTEGER NOT NULL
))sql";

Result<std::int64_t> readVersion(sqlite::Db& db) {
  auto stmt = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->step();
  if (!row.ok()) return row.error();
  return *row ? stmt->columnInt(0) : 0;
}

Result<bool> migrationsTableExists(sqlite::Db& db) {
  auto stmt =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!stmt.ok()) return stmt.error();
  return stmt->step();
}

}  // namespace

std::span<const Migration> storeMigrations() {
  return kMigrations;
}

Result<std::int64_t> schemaVersion(sqlite::Db& db) {
  auto exists = migrationsTableExists(db);
  if (!exists.ok()) return exists.error();
  if (!*exists) return std::int64_t{0};
  return readVersion(db);
}

Result<std::int64_t> migrate(sqlite::Db& db, std::span<const Migration> migrations,
                             std::int64_t now_unix) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<std::int64_t>(i) + 1) {
      return makeError("schema: migrations must be numbered 1, 2, 3, ... without gaps");
    }
  }
  const std::int64_t known = static_cast<std::int64_t>(migrations.size());

  auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.error();
  if (auto s = db.exec(kCreateMigrationsTable); !s.ok()) return s.error();
  auto current = readVersion(db);
  if (!current.ok()) return current.error();
  if (*current > known) {
    return makeError("schema: the database is at schema version " + std::to_string(*current) +
                     ", newer than this build of Warden knows (" + std::to_string(known) +
                     "); it was written by a newer Warden. Run that version, or restore a "
                     "backup taken before the upgrade");
  }
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    if (auto s = db.exec(m.sql); !s.ok()) {
      return makeError("schema: migration " + std::to_string(m.version) + " (" +
                       std::string(m.name) + "): " + s.message());
    }
    auto insert =
        db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    if (!insert.ok()) return insert.error();
    insert->bind(1, m.version).bind(2, m.name).bind(3, now_unix);
    if (auto s = insert->run(); !s.ok()) return s.error();
  }
  if (auto s = tx->commit(); !s.ok()) return s.error();
  return known;
}

}  // namespace warden::controlplane
