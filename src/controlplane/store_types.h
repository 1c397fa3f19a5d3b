// The values the Store takes and returns (besides AgentRecord, agent_record.h).
// Times are Unix seconds unless the name says _us (microseconds).
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/agent_record.h"

namespace warden::controlplane {

// Who made a change, as the API authenticated them: {"spiffe://example.org/admin", "mtls"},
// {"alice@example.org", "oidc"}, {"admin", "bootstrap"}.
struct Actor {
  std::string subject;
  std::string method;

  bool operator==(const Actor&) const = default;
};

// One revision of an agent; record is nullopt for the revision that deleted it.
struct AgentVersion {
  std::uint64_t revision = 0;
  std::int64_t time_unix = 0;
  Actor actor;
  std::string action;  // "agent.create", "agent.update", "agent.risk", ...
  std::string comment;
  std::optional<AgentRecord> record;
};

// Document kinds: a target's developer policy and its admin governance block.
inline constexpr std::string_view kPolicyDocument = "policy";
inline constexpr std::string_view kGovernanceDocument = "governance";

struct DocumentVersion {
  std::string kind;           // kPolicyDocument or kGovernanceDocument
  std::string target;         // the target agent's name
  std::uint64_t version = 0;  // 1, 2, 3, ... per document
  std::string content;        // empty in documentHistory() results
  std::string sha256;         // lower-case hex of content
  Actor author;
  std::int64_t time_unix = 0;
  std::string comment;
  std::string action;               // "put" or "restore"
  std::uint64_t restored_from = 0;  // for "restore": the version whose content this is
};

// One row of the management change log.
struct ChangeRecord {
  std::uint64_t id = 0;
  std::int64_t time_unix = 0;
  Actor actor;
  std::string action;                // "agent.update", "policy.put", "revocation.add", ...
  std::string object_kind;           // "agent", "policy", "governance", "revocation", "credential"
  std::string object_id;             // agent/target name, revocation subject, credential name
  std::uint64_t object_version = 0;  // the revision/version the change produced (0: none)
  std::string comment;
  // Agents: {"before":<agent JSON>|null,"after":<agent JSON>|null} (plus "restored_from").
  // Documents: the unified diff from the previous version. Revocations: the revocation as
  // JSON. Credentials: empty (never the hash).
  std::string detail;
};

struct ChangeQuery {
  std::uint64_t since_id = 0;   // only ids > since_id (0: no bound)
  std::uint64_t before_id = 0;  // only ids < before_id (0: no bound), to page back in time
  std::size_t limit = 100;      // 1..1000; 0 means 100, more is capped at 1000
  std::string object_kind;      // "" for any
  std::string object_id;        // "" for any
};

// One line of a sidecar's audit log and its per-sidecar sequence number.
struct AuditLine {
  std::uint64_t seq = 0;
  std::string json_line;
};

// Empty strings and zero bounds do not filter.
struct AuditQuery {
  std::int64_t from_unix_us = 0;  // event time >= from
  std::int64_t to_unix_us = 0;    // event time < to
  std::string caller;
  std::string target;
  std::string decision;  // "allow" / "deny"
  std::string layer;
  std::string reason;
  std::string request_id;
  std::string path_contains;   // case-sensitive substring of the path
  std::uint64_t after_id = 0;  // cursor: only ids > after_id
  std::size_t limit = 100;     // 1..1000; 0 means 100, more is capped at 1000
};

struct AuditRow {
  std::uint64_t id = 0;
  std::string source;  // the sidecar's SPIFFE ID
  std::string json_line;
};

struct AuditPage {
  std::vector<AuditRow> rows;  // ascending by id
  // Set when more rows match: pass it as after_id for the next page.
  std::optional<std::uint64_t> next_after_id;
};

// Aggregates of the audit events whose time is in [from, to) (docs/control-plane.md#audit-statistics).
// Egress events are left out: a call between two sidecars is audited by both, and the
// target's (ingress) record is the one its policy decided.
struct AuditStatsQuery {
  std::int64_t from_unix_us = 0;
  std::int64_t to_unix_us = 0;
  std::int64_t bucket_us = 60'000'000;  // > 0
  std::size_t max_edges = 1000;         // the busiest caller->target pairs kept
};

// Events of one (bucket, decision, layer); bucket = (time - from) / bucket_us.
struct AuditBucketCount {
  std::int64_t bucket = 0;
  std::string decision;  // "allow" / "deny"
  std::string layer;
  std::uint64_t count = 0;
};

struct AuditReasonCount {
  std::string reason;
  std::uint64_t count = 0;
};

// One caller->target pair; caller "" for a handshake refused before an identity was known.
struct AuditEdge {
  std::string caller;
  std::string target;
  std::uint64_t allow = 0;
  std::uint64_t deny = 0;
  std::int64_t last_time_unix_us = 0;
  std::string last_decision;  // of the pair's newest event
  std::string last_reason;
};

struct AuditStats {
  std::vector<AuditBucketCount> counts;     // by bucket, then decision, then layer
  std::vector<AuditReasonCount> deny_reasons;  // by reason
  std::vector<AuditEdge> edges;             // busiest first, then by caller and target
  bool edges_truncated = false;             // more pairs than max_edges
};

// Tokens whose `sub` equals subject and whose `iat` is before issued_before_unix are
// revoked (a CAEP session-revoked event, or an administrator's action).
struct Revocation {
  std::uint64_t id = 0;  // assigned by the store
  std::string subject;
  std::int64_t issued_before_unix = 0;
  std::string reason;
  std::string source;             // "ssf:<issuer>", "admin", ...
  std::int64_t expires_unix = 0;  // 0: never; afterwards the entry is inactive
  std::int64_t created_unix = 0;  // assigned by the store
};

// A local user's password hash (hashing and verification are the caller's) and role.
struct Credential {
  std::string name;
  std::string hash;
  std::string role = "admin";  // admin, developer or viewer
  std::int64_t created_unix = 0;
  std::int64_t updated_unix = 0;
};

}  // namespace warden::controlplane
