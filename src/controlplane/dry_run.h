// Policy dry-run: what a candidate developer policy or governance block would have decided
// for the requests a target's sidecar actually recorded (docs/control-plane.md#dry-run).
//
// Each recorded ingress request is replayed through explainRequest() (explain.h: every
// layer, transport included, in the canonical order) twice: with the live documents and
// with the candidate in place of one of them; the other stays live. The replay uses what
// the event recorded: caller, method, path, the token's roles (none recorded: the token
// layer reports `requires_token` and does not deny), and the caller's governance facts
// (state, risk, tags) as the sidecar saw them. An event without governance facts (the
// target was not governed when it was recorded) is replayed with the caller's facts from
// today's registry, and says so (`caller_facts: "registry"`). Things the event cannot
// tell are not replayed: a token's signature, issuer, audience and expiry, governance
// data staleness, and refused handshakes (no method or path; they are not fetched).
//
// Trust posture: the body comes from an authenticated reader; recorded lines come from
// authenticated sidecars but are still input: a field of the wrong type is read as absent.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "controlplane/store_types.h"
#include "governance/governance.h"
#include "policy/policy.h"

namespace warden::controlplane {

inline constexpr std::size_t kDefaultDryRunLimit = 200;
inline constexpr std::size_t kMaxDryRunLimit = 1000;

struct DryRunRequest {
  std::string document;  // the candidate, in the text PUT accepts
  std::size_t limit = kDefaultDryRunLimit;
};

// Strict: `document` (a string) is required, `limit` an integer 1..1000, nothing else.
// The error names the member.
Result<DryRunRequest> parseDryRunRequest(const nlohmann::json& body);

// The stored policy compiled as the sidecars compile it, with the version label they
// carry in audit events ("label@v7").
Result<std::shared_ptr<const policy::PolicySnapshot>> compileStoredPolicy(
    const DocumentVersion& document);

struct DryRunInputs {
  // Null: no policy (every caller is refused at the transport layer).
  const policy::PolicySnapshot* live_policy = nullptr;
  const policy::PolicySnapshot* candidate_policy = nullptr;
  governance::TargetGovernance live_governance;
  governance::TargetGovernance candidate_governance;
  // Today's registry by SPIFFE ID: names, and facts for events that recorded none.
  std::map<std::string, governance::AgentFacts> registry;
};

struct DryRunOutcome {
  nlohmann::json results = nlohmann::json::array();  // in the order of `lines`
  std::size_t changed = 0;
};

// Replays recorded audit lines (newest first, as Store::recentIngressRequests gives
// them); a line that is not a JSON object is skipped.
DryRunOutcome replayRecordedRequests(const DryRunInputs& inputs, const std::vector<AuditRow>& lines);

// "key=value,key=value" as the sidecar records a caller's tags (sorted by key). A value may
// itself contain ',': a comma starts a new tag only where a valid key and '=' follow.
governance::Tags parseRecordedTags(std::string_view text);

}  // namespace warden::controlplane
