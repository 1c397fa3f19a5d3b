// Applying a verified Shared Signals event to the registry (docs/control-plane.md#shared-
// signals has the table): the SET's subject is mapped to one registered agent, then
//
//   CAEP risk-level-change            -> Store::setRisk(level, source "ssf:<iss>")
//   RISC account-disabled, -purged    -> Store::setState(disabled)
//   CAEP session-revoked (and RISC sessions-revoked), CAEP credential-change (any
//   change_type), RISC credential-compromise
//                                     -> Store::addRevocation(the agent's token subject,
//                                        issued_before = event_timestamp, else now)
//   anything else (account-enabled, token-claims-change, verification, stream-updated)
//                                     -> nothing; logged by the caller
//
// Every change is attributed to Actor{"ssf:<iss>", "ssf"} with a comment naming the event
// type and jti, so the change log shows who (which transmitter) changed what.
//
// Subject mapping (the first rule that matches decides):
//   uri       -> the agent whose SPIFFE ID is the URI, else whose client_id is the URI
//   iss_sub   -> the agent with a federated credential {issuer: iss, subject: sub} (exact
//                subject; patterns are not used), else client_id == sub, else name == sub
//   opaque    -> client_id == id, else name == id
//   email     -> client_id == email, else name == email
//   complex / aliases: the member the event parser mapped (ssf/security_event.h)
//   anything else (phone_number, account, did, jwt_id, ...) -> unmatched
// Two agents matching the same rule (a client_id registered twice) -> unmatched
// ("ambiguous"): a signal is never applied to a guess.
// An unmatched subject is not an error for the transmitter (202): it may send signals
// about every user of its tenant. It is logged; nothing is written.
//
// Out of order: a risk-level-change that would *lower* the agent's risk and whose
// event_timestamp (else iat) is older than the agent's last risk change is stale and not
// applied (raising always applies: failing toward deny).
// Thread-safety: free functions over the (thread-safe) store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "controlplane/agent_record.h"
#include "controlplane/store.h"
#include "ssf/security_event.h"

namespace warden::controlplane {

enum class ApplyOutcome : std::uint8_t {
  kApplied,     // the registry changed: risk, state, or a revocation added
  kUnchanged,   // matched, already so (e.g. disabled already)
  kUnmatched,   // no registered agent is the subject (or two are): nothing written
  kNotApplied,  // an event type Warden reads but does not act on
  kStale,       // a lowering risk-level-change older than the agent's last risk change
  kFailed,      // the store failed; the caller answers 503 so the transmitter retries
};
std::string_view applyOutcomeName(ApplyOutcome outcome);  // "applied", "unmatched", ...

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::kFailed;
  std::string agent;   // the matched agent's name; empty when unmatched
  std::string detail;  // for the log: what was done, or why not
};

struct SubjectMatch {
  std::optional<AgentRecord> agent;
  std::string rule;  // "spiffe_id", "client_id", "federated_credential", "name"; or why not
};

// The registered agent a SET's subject names (mapping above).
StoreResult<SubjectMatch> findAgentForSubject(Store& store, const ssf::SubjectId& subject);

// The `sub` of the agent's access tokens (the token service's Agent::subject()): its
// SPIFFE ID, else its client id. Revocations are keyed by it.
const std::string& tokenSubject(const AgentRecord& agent);

struct ApplyOptions {
  // A revocation expires this long after its issued_before: the longest token lifetime.
  std::int64_t revocation_ttl_s = 24 * 3600;
};

ApplyResult applySecurityEvent(Store& store, const ssf::SecurityEvent& event,
                               std::int64_t now_unix, const ApplyOptions& options = {});

}  // namespace warden::controlplane
