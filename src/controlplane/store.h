// The control plane's durable store: one SQLite database (docs/control-plane.md#store).
//
// Concurrency: one connection guarded by a mutex; every public method is one transaction,
// so each call sees and leaves a consistent state. Updates are optimistic: the caller
// passes the revision/version it read (from an ETag, etag.h), and a stale one fails with
// kConflict inside the transaction, so two concurrent writers can never both win.
// Errors are StoreResult values whose kind maps to an HTTP status (store_error.h); nothing
// throws.
//
// generation() counts committed changes to what sidecars receive (agents, documents,
// revocations). Subscribers are called after the commit, outside the store's mutex, with
// the new generation, in increasing order; a generation may be skipped when a later one
// was already announced. A subscriber must be quick (wake a waiter) and may call the store.
//
// Trust posture: callers are the authenticated API and the SSF receiver. Agent records are
// validated here (agent_record.h); document content is opaque text that the API has
// validated with the policy compiler before calling putDocument.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controlplane/agent_record.h"
#include "controlplane/store_error.h"
#include "controlplane/store_types.h"

namespace warden::controlplane {

struct StoreOptions {
  // The clock, in Unix microseconds; tests pass a fake. Default: the system clock.
  std::function<std::int64_t()> now_unix_us;
};

class Store {
 public:
  // Opens or creates the database, applying missing migrations (schema.h). Fails on a
  // database written by a newer Warden.
  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Agents (ETag: etagFor("agent", name, revision)) ---
  StoreResult<std::vector<AgentRecord>> listAgents();  // ordered by name
  StoreResult<AgentRecord> getAgent(std::string_view name);
  StoreResult<AgentRecord> getAgentBySpiffeId(std::string_view spiffe_id);
  // kExists when the name or the SPIFFE ID is taken. A name that was deleted continues its
  // revision numbers, so an ETag of the old agent never matches the new one.
  StoreResult<AgentRecord> createAgent(AgentRecord record, const Actor& actor,
                                       std::string_view comment = {});
  // Replaces the agent named record.name. kNotFound, kConflict (stale revision), kExists
  // (SPIFFE ID taken). Unchanged content returns the current record without a new revision.
  StoreResult<AgentRecord> updateAgent(AgentRecord record, std::uint64_t expected_revision,
                                       const Actor& actor, std::string_view comment = {});
  StoreStatus deleteAgent(std::string_view name, std::uint64_t expected_revision,
                          const Actor& actor, std::string_view comment = {});
  // Always a new revision: re-asserting a level refreshes risk_updated_unix.
  StoreResult<AgentRecord> setRisk(std::string_view name, governance::RiskLevel risk,
                                   std::string_view source, const Actor& actor,
                                   std::string_view comment = {});
  // A new revision unless the state is already `state`.
  StoreResult<AgentRecord> setState(std::string_view name, governance::AgentState state,
                                    const Actor& actor, std::string_view comment = {});
  // Every revision, newest first, deletions included. kNotFound if the name never existed.
  StoreResult<std::vector<AgentVersion>> agentHistory(std::string_view name);
  // A new revision with the content of `revision` (re-creating a deleted agent).
  // expected_revision: nullopt for no precondition.
  StoreResult<AgentRecord> restoreAgent(std::string_view name, std::uint64_t revision,
                                        const Actor& actor, std::string_view comment = {},
                                        std::optional<std::uint64_t> expected_revision = {});

  // --- Versioned documents (ETag: etagFor(kind, target, version)) ---
  // expected_version: nullopt means the document must not exist yet (else kConflict);
  // otherwise its current version (kNotFound if it does not exist, kConflict if stale).
  // Content equal to the current version's returns that version, no new one.
  StoreResult<DocumentVersion> putDocument(std::string_view kind, std::string_view target,
                                           std::string_view content,
                                           std::optional<std::uint64_t> expected_version,
                                           const Actor& actor, std::string_view comment = {});
  StoreResult<DocumentVersion> getDocument(std::string_view kind, std::string_view target);
  StoreResult<DocumentVersion> getDocumentVersion(std::string_view kind, std::string_view target,
                                                  std::uint64_t version);
  // Newest first, without content (fetch one with getDocumentVersion).
  StoreResult<std::vector<DocumentVersion>> documentHistory(std::string_view kind,
                                                            std::string_view target);
  // A new version whose content is exactly version `version`'s. expected_version: the
  // current version, or nullopt for no precondition.
  StoreResult<DocumentVersion> restoreDocument(std::string_view kind, std::string_view target,
                                               std::uint64_t version,
                                               std::optional<std::uint64_t> expected_version,
                                               const Actor& actor, std::string_view comment = {});
  // The current version of every document of `kind`, with content, ordered by target.
  StoreResult<std::vector<DocumentVersion>> listDocuments(std::string_view kind);

  // The schema version of the database (schema.h), read from it (GET /api/v1/health).
  StoreResult<std::int64_t> schemaVersion();

  // --- Generation and change notification ---
  std::uint64_t generation() const;
  using Subscriber = std::function<void(std::uint64_t generation)>;
  std::uint64_t subscribe(Subscriber subscriber);  // returns a handle for unsubscribe
  void unsubscribe(std::uint64_t handle);

  // --- Management change log ---
  StoreResult<std::vector<ChangeRecord>> listChanges(const ChangeQuery& query);  // newest first

  // --- Sidecar audit events ---
  // Idempotent per (source, seq): a batch re-sent after a lost answer adds nothing twice.
  // Returns how many lines were new.
  StoreResult<std::size_t> insertAuditEvents(std::string_view source,
                                             const std::vector<AuditLine>& lines);
  StoreResult<AuditPage> queryAuditEvents(const AuditQuery& query);
  // Matching rows, ignoring after_id and limit.
  StoreResult<std::uint64_t> countAuditEvents(const AuditQuery& query);
  // The newest `limit` (1..1000) ingress request events whose target is `target_id`
  // (handshakes and egress events left out), newest first by event time then id: what a
  // policy dry-run replays.
  StoreResult<std::vector<AuditRow>> recentIngressRequests(std::string_view target_id,
                                                           std::size_t limit);
  // Counts per time bucket, denial reasons and caller->target pairs, aggregated in SQL
  // (store_audit_stats.cc). kInvalid for an empty or reversed range or a bucket <= 0.
  StoreResult<AuditStats> auditStats(const AuditStatsQuery& query);
  // Retention: deletes events whose time is before older_than_unix_us; returns how many.
  StoreResult<std::uint64_t> pruneAuditEvents(std::int64_t older_than_unix_us);

  // --- Shared Signals state ---
  // Records (issuer, jti) until now + ttl; false if it is already recorded and unexpired
  // (a replayed SET).
  StoreResult<bool> rememberJti(std::string_view issuer, std::string_view jti,
                                std::int64_t now_unix, std::int64_t ttl_seconds);
  // Drops (issuer, jti) so that the transmitter's retry is not taken for a replay: for a
  // SET that was recorded but could not be applied. True if it was there.
  StoreResult<bool> forgetJti(std::string_view issuer, std::string_view jti);
  StoreResult<std::uint64_t> pruneJtis(std::int64_t now_unix);
  StoreResult<Revocation> addRevocation(Revocation revocation, const Actor& actor);
  StoreResult<std::vector<Revocation>> listRevocations(std::int64_t now_unix);  // active
  StoreResult<std::uint64_t> pruneRevocations(std::int64_t now_unix);           // expired ones

  // --- Local users' credentials (hashes only) ---
  StoreStatus storeCredential(std::string_view name, std::string_view hash, const Actor& actor,
                              std::string_view role = "admin");  // kExists if present
  StoreResult<Credential> getCredential(std::string_view name);
  StoreResult<std::vector<Credential>> listCredentials();  // by name
  // kNotFound if absent; kConflict if it is the last admin (nobody could sign in to fix it).
  StoreStatus deleteCredential(std::string_view name, const Actor& actor);
  StoreStatus rotateCredential(std::string_view name, std::string_view new_hash,
                               const Actor& actor);  // kNotFound if absent

 private:
  struct Impl;  // store_impl.h, shared by the store_*.cc files
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::controlplane
