// Store: the agent registry, with every revision kept in agent_versions.
#include <string>
#include <vector>

#include "controlplane/agent_json.h"
#include "controlplane/store.h"
#include "controlplane/store_impl.h"

namespace warden::controlplane {
namespace {

constexpr std::string_view kSelectAgent =
    "SELECT name, spiffe_id, client_id, display_name, owner, state, risk, risk_source,"
    " risk_updated_unix, tags_json, roles_json, federated_json, trust_domain_kind, revision,"
    " created_unix, updated_unix FROM agents";

StoreResult<AgentRecord> agentFromRow(const sqlite::Statement& s) {
  AgentRecord r;
  r.name = s.columnText(0);
  r.spiffe_id = s.columnText(1);
  r.client_id = s.columnText(2);
  r.display_name = s.columnText(3);
  r.owner = s.columnText(4);
  auto state = governance::agentStateFromName(s.columnText(5));
  auto risk = governance::riskLevelFromName(s.columnText(6));
  auto kind = trustDomainKindFromName(s.columnText(12));
  if (!state || !risk || !kind) {
    return StoreError::internal("store: agent " + r.name + ": unknown state/risk/kind stored");
  }
  r.state = *state;
  r.risk = *risk;
  r.trust_domain_kind = *kind;
  r.risk_source = s.columnText(7);
  r.risk_updated_unix = s.columnInt(8);
  auto tags = tagsFromJson(s.columnText(9));
  auto roles = rolesFromJson(s.columnText(10));
  auto federated = federatedFromJson(s.columnText(11));
  if (!tags.ok() || !roles.ok() || !federated.ok()) {
    return StoreError::internal("store: agent " + r.name + ": unreadable JSON column");
  }
  r.tags = std::move(*tags);
  r.roles = std::move(*roles);
  r.federated_credentials = std::move(*federated);
  r.revision = columnU64(s, 13);
  r.created_unix = s.columnInt(14);
  r.updated_unix = s.columnInt(15);
  return r;
}

// The agent whose `column` equals `value`, if any.
StoreResult<std::optional<AgentRecord>> findAgent(sqlite::Db& db, std::string_view column,
                                                  std::string_view value) {
  auto stmt =
      statement(db, std::string(kSelectAgent) + " WHERE " + std::string(column) + " = ?", value);
  if (!stmt.ok()) return stmt.error();
  auto row = nextRow(*stmt);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<AgentRecord>();
  auto record = agentFromRow(*stmt);
  if (!record.ok()) return record.error();
  return std::optional<AgentRecord>(std::move(*record));
}

StoreResult<AgentRecord> requireAgent(sqlite::Db& db, std::string_view name) {
  auto found = findAgent(db, "name", name);
  if (!found.ok()) return found.error();
  if (!*found) return StoreError::notFound("agent \"" + std::string(name) + "\" does not exist");
  return std::move(**found);
}

// The highest revision the name ever had (0: never existed). Re-created agents continue
// from it, so a stale ETag of a deleted agent cannot match its successor.
StoreResult<std::uint64_t> lastRevision(sqlite::Db& db, std::string_view name) {
  auto stmt =
      statement(db, "SELECT COALESCE(MAX(revision), 0) FROM agent_versions WHERE name = ?", name);
  if (!stmt.ok()) return stmt.error();
  auto row = nextRow(*stmt);
  if (!row.ok()) return row.error();
  return *row ? columnU64(*stmt, 0) : 0;
}

StoreStatus checkSpiffeIdFree(sqlite::Db& db, const AgentRecord& record) {
  if (record.spiffe_id.empty()) return Done{};
  auto holder = findAgent(db, "spiffe_id", record.spiffe_id);
  if (!holder.ok()) return holder.error();
  if (*holder && (*holder)->name != record.name) {
    return StoreError::exists("spiffe_id " + record.spiffe_id + " belongs to agent \"" +
                              (*holder)->name + "\"");
  }
  return Done{};
}

StoreStatus checkRevision(const AgentRecord& current, std::uint64_t expected) {
  if (current.revision == expected) return Done{};
  return StoreError::conflict("agent \"" + current.name + "\" is at revision " +
                              std::to_string(current.revision) + ", not " +
                              std::to_string(expected));
}

// risk_updated_unix says when the risk was last asserted: it moves when the level or its
// source changes (or on creation), and stays otherwise.
void stampRisk(const AgentRecord* before, AgentRecord& after, std::int64_t now) {
  const bool changed =
      before == nullptr || before->risk != after.risk || before->risk_source != after.risk_source;
  after.risk_updated_unix = changed ? now : before->risk_updated_unix;
}

StoreStatus saveRow(WriteTx& tx, const AgentRecord& r, bool exists) {
  const std::string_view insert =
      "INSERT INTO agents (spiffe_id, client_id, display_name, owner, state, risk, risk_source,"
      " risk_updated_unix, tags_json, roles_json, federated_json, trust_domain_kind, revision,"
      " created_unix, updated_unix, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  const std::string_view update =
      "UPDATE agents SET spiffe_id = ?, client_id = ?, display_name = ?, owner = ?, state = ?,"
      " risk = ?, risk_source = ?, risk_updated_unix = ?, tags_json = ?, roles_json = ?,"
      " federated_json = ?, trust_domain_kind = ?, revision = ?, created_unix = ?,"
      " updated_unix = ? WHERE name = ?";
  auto done =
      execute(tx.db, exists ? update : insert, r.spiffe_id, r.client_id, r.display_name, r.owner,
              governance::agentStateName(r.state), governance::riskLevelName(r.risk), r.risk_source,
              r.risk_updated_unix, tagsToJson(r.tags), rolesToJson(r.roles),
              federatedToJson(r.federated_credentials), trustDomainKindName(r.trust_domain_kind),
              r.revision, r.created_unix, r.updated_unix, r.name);
  if (!done.ok()) return done.error();
  if (*done != 1) return StoreError::internal("store: agent row not written");
  return Done{};
}

StoreStatus saveVersion(WriteTx& tx, std::string_view name, std::uint64_t revision,
                        const Actor& actor, std::string_view action, std::string_view comment,
                        const std::optional<std::string>& content) {
  auto done =
      execute(tx.db,
              "INSERT INTO agent_versions (name, revision, time_unix, actor_subject,"
              " actor_method, action, comment, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              name, revision, tx.nowUnix(), actor.subject, actor.method, action, comment, content);
  if (!done.ok()) return done.error();
  return Done{};
}

std::string changeDetail(const std::optional<std::string>& before,
                         const std::optional<std::string>& after, std::uint64_t restored_from = 0) {
  std::string out = "{\"before\":";
  out.append(before ? *before : "null");
  out.append(",\"after\":");
  out.append(after ? *after : "null");
  if (restored_from != 0) out.append(",\"restored_from\":" + std::to_string(restored_from));
  out.push_back('}');
  return out;
}

// Writes `after` as the agent's new revision: row, version, change log, generation.
StoreResult<AgentRecord> commitRevision(WriteTx& tx, const std::optional<AgentRecord>& before,
                                        AgentRecord after, std::string_view action,
                                        const Actor& actor, std::string_view comment,
                                        std::uint64_t restored_from = 0) {
  after.updated_unix = tx.nowUnix();
  if (auto s = saveRow(tx, after, before.has_value()); !s.ok()) return s.error();
  const std::string json = agentToJson(after);
  if (auto s = saveVersion(tx, after.name, after.revision, actor, action, comment, json); !s.ok()) {
    return s.error();
  }
  const std::optional<std::string> before_json =
      before ? std::optional<std::string>(agentToJson(*before)) : std::nullopt;
  if (auto s = recordChange(tx, actor, action, "agent", after.name, after.revision, comment,
                            changeDetail(before_json, json, restored_from));
      !s.ok()) {
    return s.error();
  }
  tx.bump_generation = true;
  return after;
}

StoreStatus validateInputs(AgentRecord* record, const Actor& actor, std::string_view comment) {
  if (auto s = validateActor(actor); !s.ok()) return s;
  if (auto s = validateComment(comment); !s.ok()) return s;
  if (record != nullptr) {
    if (auto s = validateAgentRecord(*record); !s.ok()) return StoreError::invalid(s.message());
  }
  return Done{};
}

StoreStatus validateName(std::string_view name) {
  if (validAgentName(name)) return Done{};
  return StoreError::invalid("name: must be 1-63 characters of [a-z0-9-]");
}

}  // namespace

StoreResult<std::vector<AgentRecord>> Store::listAgents() {
  return impl_->read<std::vector<AgentRecord>>(
      [](sqlite::Db& db) -> StoreResult<std::vector<AgentRecord>> {
        auto stmt = statement(db, std::string(kSelectAgent) + " ORDER BY name");
        if (!stmt.ok()) return stmt.error();
        std::vector<AgentRecord> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) return out;
          auto record = agentFromRow(*stmt);
          if (!record.ok()) return record.error();
          out.push_back(std::move(*record));
        }
      });
}

StoreResult<AgentRecord> Store::getAgent(std::string_view name) {
  return impl_->read<AgentRecord>([&](sqlite::Db& db) { return requireAgent(db, name); });
}

StoreResult<AgentRecord> Store::getAgentBySpiffeId(std::string_view spiffe_id) {
  return impl_->read<AgentRecord>([&](sqlite::Db& db) -> StoreResult<AgentRecord> {
    if (spiffe_id.empty()) return StoreError::notFound("no agent has an empty SPIFFE ID");
    auto found = findAgent(db, "spiffe_id", spiffe_id);
    if (!found.ok()) return found.error();
    if (!*found) return StoreError::notFound("no agent has SPIFFE ID " + std::string(spiffe_id));
    return std::move(**found);
  });
}

StoreResult<AgentRecord> Store::createAgent(AgentRecord record, const Actor& actor,
                                            std::string_view comment) {
  if (auto s = validateInputs(&record, actor, comment); !s.ok()) return s.error();
  return impl_->write<AgentRecord>([&](WriteTx& tx) -> StoreResult<AgentRecord> {
    auto existing = findAgent(tx.db, "name", record.name);
    if (!existing.ok()) return existing.error();
    if (*existing) return StoreError::exists("agent \"" + record.name + "\" exists");
    if (auto s = checkSpiffeIdFree(tx.db, record); !s.ok()) return s.error();
    auto last = lastRevision(tx.db, record.name);
    if (!last.ok()) return last.error();
    record.revision = *last + 1;
    record.created_unix = tx.nowUnix();
    stampRisk(nullptr, record, tx.nowUnix());
    return commitRevision(tx, std::nullopt, std::move(record), "agent.create", actor, comment);
  });
}

StoreResult<AgentRecord> Store::updateAgent(AgentRecord record, std::uint64_t expected_revision,
                                            const Actor& actor, std::string_view comment) {
  if (auto s = validateInputs(&record, actor, comment); !s.ok()) return s.error();
  return impl_->write<AgentRecord>([&](WriteTx& tx) -> StoreResult<AgentRecord> {
    auto current = requireAgent(tx.db, record.name);
    if (!current.ok()) return current.error();
    if (auto s = checkRevision(*current, expected_revision); !s.ok()) return s.error();
    if (auto s = checkSpiffeIdFree(tx.db, record); !s.ok()) return s.error();
    stampRisk(&*current, record, tx.nowUnix());
    if (sameAgentContent(*current, record)) return std::move(*current);  // nothing changed
    record.revision = current->revision + 1;
    record.created_unix = current->created_unix;
    return commitRevision(tx, *current, std::move(record), "agent.update", actor, comment);
  });
}

StoreStatus Store::deleteAgent(std::string_view name, std::uint64_t expected_revision,
                               const Actor& actor, std::string_view comment) {
  if (auto s = validateInputs(nullptr, actor, comment); !s.ok()) return s.error();
  return impl_->write<Done>([&](WriteTx& tx) -> StoreStatus {
    auto current = requireAgent(tx.db, name);
    if (!current.ok()) return current.error();
    if (auto s = checkRevision(*current, expected_revision); !s.ok()) return s.error();
    auto deleted = execute(tx.db, "DELETE FROM agents WHERE name = ?", name);
    if (!deleted.ok()) return deleted.error();
    // The deletion is a revision of its own (content NULL), so history shows it and a
    // re-created agent continues after it.
    const std::uint64_t tombstone = current->revision + 1;
    if (auto s = saveVersion(tx, name, tombstone, actor, "agent.delete", comment, std::nullopt);
        !s.ok()) {
      return s.error();
    }
    if (auto s = recordChange(tx, actor, "agent.delete", "agent", name, tombstone, comment,
                              changeDetail(agentToJson(*current), std::nullopt));
        !s.ok()) {
      return s.error();
    }
    tx.bump_generation = true;
    return Done{};
  });
}

StoreResult<AgentRecord> Store::setRisk(std::string_view name, governance::RiskLevel risk,
                                        std::string_view source, const Actor& actor,
                                        std::string_view comment) {
  if (auto s = validateInputs(nullptr, actor, comment); !s.ok()) return s.error();
  return impl_->write<AgentRecord>([&](WriteTx& tx) -> StoreResult<AgentRecord> {
    auto current = requireAgent(tx.db, name);
    if (!current.ok()) return current.error();
    AgentRecord after = *current;
    after.risk = risk;
    after.risk_source = std::string(source);
    if (auto s = validateAgentRecord(after); !s.ok()) return StoreError::invalid(s.message());
    after.risk_updated_unix = tx.nowUnix();  // always: a re-assertion refreshes staleness
    after.revision = current->revision + 1;
    return commitRevision(tx, *current, std::move(after), "agent.risk", actor, comment);
  });
}

StoreResult<AgentRecord> Store::setState(std::string_view name, governance::AgentState state,
                                         const Actor& actor, std::string_view comment) {
  if (auto s = validateInputs(nullptr, actor, comment); !s.ok()) return s.error();
  return impl_->write<AgentRecord>([&](WriteTx& tx) -> StoreResult<AgentRecord> {
    auto current = requireAgent(tx.db, name);
    if (!current.ok()) return current.error();
    if (current->state == state) return std::move(*current);
    AgentRecord after = *current;
    after.state = state;
    if (auto s = validateAgentRecord(after); !s.ok()) return StoreError::invalid(s.message());
    after.revision = current->revision + 1;
    return commitRevision(tx, *current, std::move(after), "agent.state", actor, comment);
  });
}

StoreResult<std::vector<AgentVersion>> Store::agentHistory(std::string_view name) {
  return impl_->read<std::vector<AgentVersion>>(
      [&](sqlite::Db& db) -> StoreResult<std::vector<AgentVersion>> {
        auto stmt = statement(db,
                              "SELECT revision, time_unix, actor_subject, actor_method, action,"
                              " comment, content FROM agent_versions WHERE name = ?"
                              " ORDER BY revision DESC",
                              name);
        if (!stmt.ok()) return stmt.error();
        std::vector<AgentVersion> out;
        for (;;) {
          auto row = nextRow(*stmt);
          if (!row.ok()) return row.error();
          if (!*row) break;
          AgentVersion v;
          v.revision = columnU64(*stmt, 0);
          v.time_unix = stmt->columnInt(1);
          v.actor = Actor{stmt->columnText(2), stmt->columnText(3)};
          v.action = stmt->columnText(4);
          v.comment = stmt->columnText(5);
          if (!stmt->columnIsNull(6)) {
            auto record = agentFromJson(stmt->columnText(6));
            if (!record.ok()) return StoreError::internal("store: " + record.error().message);
            v.record = std::move(*record);
          }
          out.push_back(std::move(v));
        }
        if (out.empty()) {
          return StoreError::notFound("agent \"" + std::string(name) + "\" has no history");
        }
        return out;
      });
}

StoreResult<AgentRecord> Store::restoreAgent(std::string_view name, std::uint64_t revision,
                                             const Actor& actor, std::string_view comment,
                                             std::optional<std::uint64_t> expected_revision) {
  if (auto s = validateInputs(nullptr, actor, comment); !s.ok()) return s.error();
  if (auto s = validateName(name); !s.ok()) return s.error();
  return impl_->write<AgentRecord>([&](WriteTx& tx) -> StoreResult<AgentRecord> {
    auto stmt =
        statement(tx.db, "SELECT content FROM agent_versions WHERE name = ? AND revision = ?", name,
                  revision);
    if (!stmt.ok()) return stmt.error();
    auto row = nextRow(*stmt);
    if (!row.ok()) return row.error();
    const std::string label = "agent \"" + std::string(name) + "\"";
    if (!*row) return StoreError::notFound(label + " has no revision " + std::to_string(revision));
    if (stmt->columnIsNull(0)) {
      return StoreError::invalid(label + " revision " + std::to_string(revision) +
                                 " is its deletion; restore an earlier revision");
    }
    auto old = agentFromJson(stmt->columnText(0));
    if (!old.ok()) return StoreError::internal("store: " + old.error().message);
    stmt->reset();

    auto current = findAgent(tx.db, "name", name);
    if (!current.ok()) return current.error();
    if (expected_revision) {
      if (!*current) {
        return StoreError::conflict(label + " does not exist (expected revision " +
                                    std::to_string(*expected_revision) + ")");
      }
      if (auto s = checkRevision(**current, *expected_revision); !s.ok()) return s.error();
    }
    AgentRecord after = std::move(*old);
    after.name = std::string(name);
    // Rules may have tightened since that revision was written.
    if (auto s = validateAgentRecord(after); !s.ok()) {
      return StoreError::invalid("revision " + std::to_string(revision) +
                                 " is no longer valid: " + s.message());
    }
    if (auto s = checkSpiffeIdFree(tx.db, after); !s.ok()) return s.error();
    if (*current) {
      stampRisk(&**current, after, tx.nowUnix());
      if (sameAgentContent(**current, after)) return std::move(**current);
      after.revision = (*current)->revision + 1;
      after.created_unix = (*current)->created_unix;
    } else {
      auto last = lastRevision(tx.db, name);
      if (!last.ok()) return last.error();
      stampRisk(nullptr, after, tx.nowUnix());
      after.revision = *last + 1;
      after.created_unix = tx.nowUnix();
    }
    return commitRevision(tx, *current, std::move(after), "agent.restore", actor, comment,
                          revision);
  });
}

}  // namespace warden::controlplane
