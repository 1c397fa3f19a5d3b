// Store: versioned documents (a target's policy and governance block), every version kept.
#include <string>
#include <vector>

#include "controlplane/store.h"
#include "controlplane/store_impl.h"
#include "controlplane/text_diff.h"

namespace warden::controlplane {
namespace {

// Policies are a few KiB; the bound keeps one bad request from bloating every history
// listing, diff and distribution snapshot.
constexpr std::size_t kMaxDocumentBytes = 1 << 20;

constexpr std::string_view kSelectVersion =
    "SELECT kind, target, version, content, sha256, author_subject, author_method, time_unix,"
    " comment, action, restored_from FROM document_versions";

StoreStatus validateKey(std::string_view kind, std::string_view target) {
  if (kind != kPolicyDocument && kind != kGovernanceDocument) {
    return StoreError::invalid("kind: must be \"policy\" or \"governance\"");
  }
  if (!validAgentName(target)) {
    return StoreError::invalid("target: must be 1-63 characters of [a-z0-9-]");
  }
  return Done{};
}

std::string label(std::string_view kind, std::string_view target) {
  return std::string(kind) + " \"" + std::string(target) + "\"";
}

DocumentVersion versionFromRow(const sqlite::Statement& s, bool with_content) {
  DocumentVersion v;
  v.kind = s.columnText(0);
  v.target = s.columnText(1);
  v.version = columnU64(s, 2);
  if (with_content) v.content = s.columnText(3);
  v.sha256 = s.columnText(4);
  v.author = Actor{s.columnText(5), s.columnText(6)};
  v.time_unix = s.columnInt(7);
  v.comment = s.columnText(8);
  v.action = s.columnText(9);
  v.restored_from = s.columnIsNull(10) ? 0 : columnU64(s, 10);
  return v;
}

StoreResult<std::optional<DocumentVersion>> findVersion(sqlite::Db& db, std::string_view kind,
                                                        std::string_view target,
                                                        std::uint64_t version) {
  auto stmt =
      statement(db, std::string(kSelectVersion) + " WHERE kind = ? AND target = ? AND version = ?",
                kind, target, version);
  if (!stmt.ok()) return stmt.error();
  auto row = nextRow(*stmt);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<DocumentVersion>();
  return std::optional<DocumentVersion>(versionFromRow(*stmt, true));
}

// The current version number (0: no such document).
StoreResult<std::uint64_t> currentVersion(sqlite::Db& db, std::string_view kind,
                                          std::string_view target) {
  auto stmt = statement(db, "SELECT current_version FROM documents WHERE kind = ? AND target = ?",
                        kind, target);
  if (!stmt.ok()) return stmt.error();
  auto row = nextRow(*stmt);
  if (!row.ok()) return row.error();
  return *row ? columnU64(*stmt, 0) : 0;
}

StoreResult<DocumentVersion> requireCurrent(sqlite::Db& db, std::string_view kind,
                                            std::string_view target) {
  auto current = currentVersion(db, kind, target);
  if (!current.ok()) return current.error();
  if (*current == 0) return StoreError::notFound(label(kind, target) + " does not exist");
  auto found = findVersion(db, kind, target, *current);
  if (!found.ok()) return found.error();
  if (!*found) return StoreError::internal("store: " + label(kind, target) + ": version missing");
  return std::move(**found);
}

// Checks the caller's expectation against the current version (0: none exists).
StoreStatus checkExpected(std::string_view kind, std::string_view target, std::uint64_t current,
                          std::optional<std::uint64_t> expected) {
  if (!expected) {
    if (current == 0) return Done{};
    return StoreError::conflict(label(kind, target) + " exists (version " +
                                std::to_string(current) + "); pass its current version");
  }
  if (current == 0) return StoreError::notFound(label(kind, target) + " does not exist");
  if (current != *expected) {
    return StoreError::conflict(label(kind, target) + " is at version " + std::to_string(current) +
                                ", not " + std::to_string(*expected));
  }
  return Done{};
}

// Appends a version after `current` (0: creates the document) and logs it with the diff.
StoreResult<DocumentVersion> appendVersion(WriteTx& tx, std::string_view kind,
                                           std::string_view target,
                                           const std::optional<DocumentVersion>& current,
                                           std::string_view content, std::string_view action,
                                           std::uint64_t restored_from, const Actor& actor,
                                           std::string_view comment) {
  DocumentVersion v;
  v.kind = std::string(kind);
  v.target = std::string(target);
  v.version = current ? current->version + 1 : 1;
  v.content = std::string(content);
  v.sha256 = sha256Hex(content);
  v.author = actor;
  v.time_unix = tx.nowUnix();
  v.comment = std::string(comment);
  v.action = std::string(action);
  v.restored_from = restored_from;

  auto doc = current ? execute(tx.db,
                               "UPDATE documents SET current_version = ?, updated_unix = ?"
                               " WHERE kind = ? AND target = ?",
                               v.version, v.time_unix, kind, target)
                     : execute(tx.db,
                               "INSERT INTO documents (kind, target, current_version,"
                               " created_unix, updated_unix) VALUES (?, ?, ?, ?, ?)",
                               kind, target, v.version, v.time_unix, v.time_unix);
  if (!doc.ok()) return doc.error();
  const std::optional<std::int64_t> restored =
      restored_from != 0 ? std::optional<std::int64_t>(static_cast<std::int64_t>(restored_from))
                         : std::nullopt;
  auto inserted = execute(tx.db,
                          "INSERT INTO document_versions (kind, target, version, content, sha256,"
                          " author_subject, author_method, time_unix, comment, action,"
                          " restored_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          kind, target, v.version, content, v.sha256, actor.subject, actor.method,
                          v.time_unix, comment, action, restored);
  if (!inserted.ok()) return inserted.error();

  const std::string name = std::string(kind) + "/" + std::string(target);
  const std::string diff =
      unifiedDiff(current ? std::string_view(current->content) : std::string_view(), content,
                  current ? name + " v" + std::to_string(current->version) : "/dev/null",
                  name + " v" + std::to_string(v.version));
  const std::string change_action = std::string(kind) + "." + std::string(action);
  if (auto s = recordChange(tx, actor, change_action, kind, target, v.version, comment, diff);
      !s.ok()) {
    return s.error();
  }
  tx.bump_generation = true;
  return v;
}

}  // namespace

StoreResult<DocumentVersion> Store::putDocument(std::string_view kind, std::string_view target,
                                                std::string_view content,
                                                std::optional<std::uint64_t> expected_version,
                                                const Actor& actor, std::string_view comment) {
  if (auto s = validateKey(kind, target); !s.ok()) return s.error();
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  if (auto s = validateComment(comment); !s.ok()) return s.error();
  if (content.size() > kMaxDocumentBytes) return StoreError::invalid("content: larger than 1 MiB");
  return impl_->write<DocumentVersion>([&](WriteTx& tx) -> StoreResult<DocumentVersion> {
    auto number = currentVersion(tx.db, kind, target);
    if (!number.ok()) return number.error();
    if (auto s = checkExpected(kind, target, *number, expected_version); !s.ok()) {
      return s.error();
    }
    std::optional<DocumentVersion> current;
    if (*number != 0) {
      auto found = requireCurrent(tx.db, kind, target);
      if (!found.ok()) return found.error();
      // Re-applying the same content (e.g. `warden policy apply` in CI) is not a change.
      if (found->content == content) return *found;
      current = std::move(*found);
    }
    return appendVersion(tx, kind, target, current, content, "put", 0, actor, comment);
  });
}

StoreResult<DocumentVersion> Store::getDocument(std::string_view kind, std::string_view target) {
  if (auto s = validateKey(kind, target); !s.ok()) return s.error();
  return impl_->read<DocumentVersion>(
      [&](sqlite::Db& db) { return requireCurrent(db, kind, target); });
}

StoreResult<DocumentVersion> Store::getDocumentVersion(std::string_view kind,
                                                       std::string_view target,
                                                       std::uint64_t version) {
  if (auto s = validateKey(kind, target); !s.ok()) return s.error();
  return impl_->read<DocumentVersion>([&](sqlite::Db& db) -> StoreResult<DocumentVersion> {
    auto found = findVersion(db, kind, target, version);
    if (!found.ok()) return found.error();
    if (!*found) {
      return StoreError::notFound(label(kind, target) + " has no version " +
                                  std::to_string(version));
    }
    return std::move(**found);
  });
}

StoreResult<std::vector<DocumentVersion>> Store::documentHistory(std::string_view kind,
                                                                 std::string_view target) {
  if (auto s = validateKey(kind, target); !s.ok()) return s.error();
  return impl_->read<std::vector<DocumentVersion>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<DocumentVersion>> {
        auto stmt = statement(
            db,
            std::string(kSelectVersion) + " WHERE kind = ? AND target = ? ORDER BY version DESC",
            kind, target);
        if (!stmt.ok()) return stmt.error();
        std::vector<DocumentVersion> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) break;
          out.push_back(versionFromRow(*stmt, false));
        }
        if (out.empty()) return StoreError::notFound(label(kind, target) + " does not exist");
        return out;
      });
}

StoreResult<DocumentVersion> Store::restoreDocument(std::string_view kind, std::string_view target,
                                                    std::uint64_t version,
                                                    std::optional<std::uint64_t> expected_version,
                                                    const Actor& actor, std::string_view comment) {
  if (auto s = validateKey(kind, target); !s.ok()) return s.error();
  if (auto s = validateActor(actor); !s.ok()) return s.error();
  if (auto s = validateComment(comment); !s.ok()) return s.error();
  return impl_->write<DocumentVersion>([&](WriteTx& tx) -> StoreResult<DocumentVersion> {
    auto current = requireCurrent(tx.db, kind, target);
    if (!current.ok()) return current.error();
    if (expected_version) {
      if (auto s = checkExpected(kind, target, current->version, expected_version); !s.ok()) {
        return s.error();
      }
    }
    auto old = findVersion(tx.db, kind, target, version);
    if (!old.ok()) return old.error();
    if (!*old) {
      return StoreError::notFound(label(kind, target) + " has no version " +
                                  std::to_string(version));
    }
    if ((*old)->content == current->content) return std::move(*current);  // already in force
    return appendVersion(tx, kind, target, *current, (*old)->content, "restore", version, actor,
                         comment);
  });
}

StoreResult<std::vector<DocumentVersion>> Store::listDocuments(std::string_view kind) {
  if (kind != kPolicyDocument && kind != kGovernanceDocument) {
    return StoreError::invalid("kind: must be \"policy\" or \"governance\"");
  }
  return impl_->read<std::vector<DocumentVersion>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<DocumentVersion>> {
        auto stmt =
            statement(db,
                      "SELECT v.kind, v.target, v.version, v.content, v.sha256, v.author_subject,"
                      " v.author_method, v.time_unix, v.comment, v.action, v.restored_from"
                      " FROM documents d JOIN document_versions v ON v.kind = d.kind AND"
                      " v.target = d.target AND v.version = d.current_version"
                      " WHERE d.kind = ? ORDER BY d.target",
                      kind);
        if (!stmt.ok()) return stmt.error();
        std::vector<DocumentVersion> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) return out;
          out.push_back(versionFromRow(*stmt, true));
        }
      });
}

}  // namespace warden::controlplane
