// Store: opening, the generation counter and its subscribers, and the change log.
// The other parts live in store_agents.cc, store_documents.cc, store_audit.cc and
// store_signals.cc.
#include "controlplane/store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/hex.h"
#include "controlplane/schema.h"
#include "controlplane/store_impl.h"

namespace warden::controlplane {
namespace {

std::int64_t systemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool printable(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<std::uint64_t> readGeneration(sqlite::Db& db) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'generation'");
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->step();
  if (!row.ok()) return row.error();
  if (!*row) return makeError("meta.generation is missing");
  return static_cast<std::uint64_t>(stmt->columnInt(0));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  if (!options.now_unix_us) options.now_unix_us = systemNowUs;
  auto db = sqlite::Db::open(path);
  if (!db.ok()) return db.error();
  auto version = migrate(*db, storeMigrations(), options.now_unix_us() / 1'000'000);
  if (!version.ok()) return makeError(path + ": " + version.error().message);

  auto generation = readGeneration(*db);
  if (!generation.ok()) return makeError(path + ": " + generation.error().message);

  auto impl = std::make_unique<Impl>(std::move(*db), std::move(options.now_unix_us), *generation);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::uint64_t Store::generation() const {
  return impl_->generation.load(std::memory_order_acquire);
}

std::uint64_t Store::subscribe(Subscriber subscriber) {
  std::lock_guard lock(impl_->subscribers_mutex);
  const std::uint64_t handle = impl_->next_handle++;
  impl_->subscribers.emplace(handle, std::move(subscriber));
  return handle;
}

void Store::unsubscribe(std::uint64_t handle) {
  std::lock_guard lock(impl_->subscribers_mutex);
  impl_->subscribers.erase(handle);
}

void Store::Impl::notify(std::uint64_t new_generation) {
  // notify_mutex orders announcements: two commits finishing at once may reach here in
  // either order, and a waiter must never be told an older generation after a newer one.
  std::lock_guard order(notify_mutex);
  if (new_generation <= last_announced) return;  // a later generation was announced already
  last_announced = new_generation;
  std::vector<Subscriber> targets;
  {
    std::lock_guard lock(subscribers_mutex);  // copied, so a subscriber may (un)subscribe
    targets.reserve(subscribers.size());
    for (const auto& [handle, fn] : subscribers) targets.push_back(fn);
  }
  for (const auto& fn : targets) {
    try {
      fn(new_generation);
    } catch (...) {  // a subscriber's failure is its own; the change is committed
    }
  }
}

StoreResult<std::int64_t> Store::schemaVersion() {
  return impl_->read<std::int64_t>([](sqlite::Db& db) -> StoreResult<std::int64_t> {
    auto version = controlplane::schemaVersion(db);
    if (!version.ok()) return StoreError::internal(version.error().message);
    return *version;
  });
}

StoreResult<std::vector<ChangeRecord>> Store::listChanges(const ChangeQuery& query) {
  return impl_->read<std::vector<ChangeRecord>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<ChangeRecord>> {
        // Optional filters as "? = 0 OR ..." keep one statement for every combination.
        auto stmt = statement(
            db,
            "SELECT id, time_unix, actor_subject, actor_method, action, object_kind, object_id,"
            " object_version, comment, detail FROM changes"
            " WHERE id > ?1 AND (?2 = 0 OR id < ?2) AND (?3 = '' OR object_kind = ?3)"
            " AND (?4 = '' OR object_id = ?4) ORDER BY id DESC LIMIT ?5",
            query.since_id, query.before_id, query.object_kind, query.object_id,
            static_cast<std::int64_t>(clampLimit(query.limit)));
        if (!stmt.ok()) return stmt.error();
        std::vector<ChangeRecord> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) break;
          ChangeRecord c;
          c.id = columnU64(*stmt, 0);
          c.time_unix = stmt->columnInt(1);
          c.actor = Actor{stmt->columnText(2), stmt->columnText(3)};
          c.action = stmt->columnText(4);
          c.object_kind = stmt->columnText(5);
          c.object_id = stmt->columnText(6);
          c.object_version = columnU64(*stmt, 7);
          c.comment = stmt->columnText(8);
          c.detail = stmt->columnText(9);
          out.push_back(std::move(c));
        }
        return out;
      });
}

StoreStatus validateActor(const Actor& actor) {
  if (actor.subject.empty() || actor.subject.size() > 512 || !printable(actor.subject)) {
    return StoreError::invalid("actor.subject: 1-512 printable characters required");
  }
  if (actor.method.empty() || actor.method.size() > 64 || !printable(actor.method)) {
    return StoreError::invalid("actor.method: 1-64 printable characters required");
  }
  return Done{};
}

StoreStatus validateComment(std::string_view comment) {
  // Free text; newlines are fine, NUL is not (it would truncate in most tools).
  if (comment.size() > 4096) return StoreError::invalid("comment: longer than 4096 bytes");
  if (comment.find('\0') != std::string_view::npos) {
    return StoreError::invalid("comment: contains NUL");
  }
  return Done{};
}

StoreStatus recordChange(WriteTx& tx, const Actor& actor, std::string_view action,
                         std::string_view object_kind, std::string_view object_id,
                         std::uint64_t object_version, std::string_view comment,
                         std::string_view detail) {
  auto done = execute(tx.db,
                      "INSERT INTO changes (time_unix, actor_subject, actor_method, action,"
                      " object_kind, object_id, object_version, comment, detail)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      tx.nowUnix(), actor.subject, actor.method, action, object_kind, object_id,
                      object_version, comment, detail);
  if (!done.ok()) return done.error();
  return Done{};
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  std::string out;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return out;  // only on allocation failure; an empty digest never matches a real one
  }
  appendHex(out, digest, size);
  return out;
}

std::size_t clampLimit(std::size_t limit) {
  if (limit == 0) return 100;
  return std::min<std::size_t>(limit, 1000);
}

}  // namespace warden::controlplane
