// Store: Shared Signals state (SET replay protection, token revocations) and the
// administrators' password hashes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/store.h"
#include "controlplane/store_impl.h"

namespace warden::controlplane {
namespace {

bool visible(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

bool noControls(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

StoreStatus checkField(std::string_view field, std::string_view value, std::size_t max,
                       bool required) {
  if (required && value.empty()) return StoreError::invalid(std::string(field) + ": required");
  if (value.size() > max || !noControls(value)) {
    return StoreError::invalid(std::string(field) + ": at most " + std::to_string(max) +
                               " bytes without control characters");
  }
  return Done{};
}

std::string revocationJson(const Revocation& r) {
  const nlohmann::json j = {{"id", r.id},
                            {"subject", r.subject},
                            {"issued_before_unix", r.issued_before_unix},
                            {"reason", r.reason},
                            {"source", r.source},
                            {"expires_unix", r.expires_unix},
                            {"created_unix", r.created_unix}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool knownRole(std::string_view role) {
  return role == "admin" || role == "developer" || role == "viewer";
}

StoreStatus checkCredential(std::string_view name, std::string_view hash) {
  if (name.empty() || name.size() > 128 || !visible(name)) {
    return StoreError::invalid("name: 1-128 visible ASCII characters required");
  }
  // A PHC string ($argon2id$v=19$...) or similar: never free text.
  if (hash.empty() || hash.size() > 1024 || !visible(hash)) {
    return StoreError::invalid("hash: 1-1024 visible ASCII characters required");
  }
  return Done{};
}

}  // namespace

StoreResult<bool> Store::rememberJti(std::string_view issuer, std::string_view jti,
                                     std::int64_t now_unix, std::int64_t ttl_seconds) {
  if (auto s = checkField("issuer", issuer, 2048, true); !s.ok()) return s.error();
  if (auto s = checkField("jti", jti, 512, true); !s.ok()) return s.error();
  if (ttl_seconds <= 0) return StoreError::invalid("ttl: must be positive");
  return impl_->write<bool>([&](WriteTx& tx) -> StoreResult<bool> {
    // A row that has expired is taken over (the upsert's WHERE); an unexpired one is left
    // alone and changes() stays 0: that is the replay.
    auto changed = execute(tx.db,
                           "INSERT INTO ssf_jtis (issuer, jti, expires_unix) VALUES (?, ?, ?)"
                           " ON CONFLICT (issuer, jti) DO UPDATE SET"
                           " expires_unix = excluded.expires_unix"
                           " WHERE ssf_jtis.expires_unix <= ?",
                           issuer, jti, now_unix + ttl_seconds, now_unix);
    if (!changed.ok()) return changed.error();
    return *changed == 1;
  });
}

StoreResult<bool> Store::forgetJti(std::string_view issuer, std::string_view jti) {
  return impl_->write<bool>([&](WriteTx& tx) -> StoreResult<bool> {
    auto deleted = execute(tx.db, "DELETE FROM ssf_jtis WHERE issuer = ? AND jti = ?", issuer, jti);
    if (!deleted.ok()) return deleted.error();
    return *deleted == 1;
  });
}

StoreResult<std::uint64_t> Store::pruneJtis(std::int64_t now_unix) {
  return impl_->write<std::uint64_t>([&](WriteTx& tx) -> StoreResult<std::uint64_t> {
    auto deleted = execute(tx.db, "DELETE FROM ssf_jtis WHERE expires_unix <= ?", now_unix);
    if (!deleted.ok()) return deleted.error();
    return static_cast<std::uint64_t>(*deleted);
  });
}

StoreResult<Revocation> Store::addRevocation(Revocation r, const Actor& actor) {
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  if (auto s = checkField("subject", r.subject, 2048, true); !s.ok()) return s.error();
  if (auto s = checkField("reason", r.reason, 1024, false); !s.ok()) return s.error();
  if (auto s = checkField("source", r.source, 2048, false); !s.ok()) return s.error();
  if (r.issued_before_unix <= 0) return StoreError::invalid("issued_before_unix: must be set");
  if (r.expires_unix < 0) return StoreError::invalid("expires_unix: must not be negative");
  return impl_->write<Revocation>([&](WriteTx& tx) -> StoreResult<Revocation> {
    r.created_unix = tx.nowUnix();
    auto inserted = execute(tx.db,
                            "INSERT INTO revocations (subject, issued_before_unix, reason, source,"
                            " expires_unix, created_unix) VALUES (?, ?, ?, ?, ?, ?)",
                            r.subject, r.issued_before_unix, r.reason, r.source, r.expires_unix,
                            r.created_unix);
    if (!inserted.ok()) return inserted.error();
    r.id = static_cast<std::uint64_t>(tx.db.lastInsertRowId());
    if (auto s = recordChange(tx, actor, "revocation.add", "revocation", r.subject, r.id, r.reason,
                              revocationJson(r));
        !s.ok()) {
      return s.error();
    }
    tx.bump_generation = true;  // sidecars enforce revocations
    return r;
  });
}

StoreResult<std::vector<Revocation>> Store::listRevocations(std::int64_t now_unix) {
  return impl_->read<std::vector<Revocation>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<Revocation>> {
        auto stmt = statement(db,
                              "SELECT id, subject, issued_before_unix, reason, source,"
                              " expires_unix, created_unix FROM revocations"
                              " WHERE expires_unix = 0 OR expires_unix > ? ORDER BY id",
                              now_unix);
        if (!stmt.ok()) return stmt.error();
        std::vector<Revocation> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) return out;
          out.push_back(Revocation{columnU64(*stmt, 0), stmt->columnText(1), stmt->columnInt(2),
                                   stmt->columnText(3), stmt->columnText(4), stmt->columnInt(5),
                                   stmt->columnInt(6)});
        }
      });
}

StoreResult<std::uint64_t> Store::pruneRevocations(std::int64_t now_unix) {
  // Expired entries are already absent from listRevocations(): no generation change.
  return impl_->write<std::uint64_t>([&](WriteTx& tx) -> StoreResult<std::uint64_t> {
    auto deleted = execute(
        tx.db, "DELETE FROM revocations WHERE expires_unix <> 0 AND expires_unix <= ?", now_unix);
    if (!deleted.ok()) return deleted.error();
    return static_cast<std::uint64_t>(*deleted);
  });
}

StoreStatus Store::storeCredential(std::string_view name, std::string_view hash,
                                   const Actor& actor, std::string_view role) {
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  if (auto s = checkCredential(name, hash); !s.ok()) return s.error();
  if (!knownRole(role)) return StoreError::invalid("role: admin, developer or viewer");
  return impl_->write<Done>([&](WriteTx& tx) -> StoreStatus {
    auto inserted = execute(tx.db,
                            "INSERT INTO admin_credentials (name, hash, role, created_unix,"
                            " updated_unix) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                            name, hash, role, tx.nowUnix(), tx.nowUnix());
    if (!inserted.ok()) return inserted.error();
    if (*inserted == 0) {
      return StoreError::exists("credential \"" + std::string(name) + "\" exists; rotate it");
    }
    // The change log names the credential and its role, never the hash.
    return recordChange(tx, actor, "credential.create", "credential", name, 0, "",
                        "role: " + std::string(role));
  });
}

StoreResult<Credential> Store::getCredential(std::string_view name) {
  return impl_->read<Credential>([&](sqlite::Db& db) -> StoreResult<Credential> {
    auto stmt = statement(db,
                          "SELECT name, hash, role, created_unix, updated_unix FROM"
                          " admin_credentials WHERE name = ?",
                          name);
    if (!stmt.ok()) return stmt.error();
    auto row = nextRow(*stmt);
    if (!row.ok()) return row.error();
    if (!*row) {
      return StoreError::notFound("credential \"" + std::string(name) + "\" does not exist");
    }
    return Credential{stmt->columnText(0), stmt->columnText(1), stmt->columnText(2),
                      stmt->columnInt(3), stmt->columnInt(4)};
  });
}

StoreResult<std::vector<Credential>> Store::listCredentials() {
  return impl_->read<std::vector<Credential>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<Credential>> {
        auto stmt = statement(db,
                              "SELECT name, hash, role, created_unix, updated_unix FROM"
                              " admin_credentials ORDER BY name");
        if (!stmt.ok()) return stmt.error();
        std::vector<Credential> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) return out;
          out.push_back(Credential{stmt->columnText(0), stmt->columnText(1), stmt->columnText(2),
                                   stmt->columnInt(3), stmt->columnInt(4)});
        }
      });
}

StoreStatus Store::deleteCredential(std::string_view name, const Actor& actor) {
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  return impl_->write<Done>([&](WriteTx& tx) -> StoreStatus {
    // Counted inside the write transaction, so two concurrent deletions cannot each see
    // another admin and remove both.
    std::string role;
    std::int64_t admins = 0;
    {
      auto stmt = statement(tx.db,
                            "SELECT role, (SELECT COUNT(*) FROM admin_credentials WHERE role ="
                            " 'admin') FROM admin_credentials WHERE name = ?",
                            name);
      if (!stmt.ok()) return stmt.error();
      auto row = nextRow(*stmt);
      if (!row.ok()) return row.error();
      if (!*row) {
        return StoreError::notFound("credential \"" + std::string(name) + "\" does not exist");
      }
      role = stmt->columnText(0);
      admins = stmt->columnInt(1);
    }
    if (role == "admin" && admins <= 1) {
      return StoreError::conflict("\"" + std::string(name) +
                                  "\" is the last admin; add another admin first");
    }
    auto deleted = execute(tx.db, "DELETE FROM admin_credentials WHERE name = ?", name);
    if (!deleted.ok()) return deleted.error();
    return recordChange(tx, actor, "credential.delete", "credential", name, 0, "", "");
  });
}

StoreStatus Store::rotateCredential(std::string_view name, std::string_view new_hash,
                                    const Actor& actor) {
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  if (auto s = checkCredential(name, new_hash); !s.ok()) return s.error();
  return impl_->write<Done>([&](WriteTx& tx) -> StoreStatus {
    auto updated =
        execute(tx.db, "UPDATE admin_credentials SET hash = ?, updated_unix = ? WHERE name = ?",
                new_hash, tx.nowUnix(), name);
    if (!updated.ok()) return updated.error();
    if (*updated == 0) {
      return StoreError::notFound("credential \"" + std::string(name) + "\" does not exist");
    }
    return recordChange(tx, actor, "credential.rotate", "credential", name, 0, "", "");
  });
}

}  // namespace warden::controlplane
