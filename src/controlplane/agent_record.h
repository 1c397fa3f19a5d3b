// An agent as the control plane's registry stores it, and the rules a record must follow.
//
// Trust posture: records come from administrators through the API (authenticated, but
// still input): validateAgentRecord() bounds every field and rejects what the sidecars or
// the token service could misread (bad names, SPIFFE IDs, tag keys, control characters,
// invalid UTF-8). Federated subject-pattern syntax is the token service's to check.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "governance/agent_facts.h"

namespace warden::controlplane {

enum class TrustDomainKind : std::uint8_t { kLocal, kFederated };
std::string_view trustDomainKindName(TrustDomainKind kind);  // "local", "federated"
std::optional<TrustDomainKind> trustDomainKindFromName(std::string_view name);

// Maps an external OIDC token to the agent (see tokenservice/config.h): `iss` must equal
// issuer, `sub` equal subject or match subject_pattern (exactly one is set), `aud` contain
// audience.
struct FederatedCredentialRule {
  std::string name;
  std::string issuer;
  std::string subject;
  std::string subject_pattern;
  std::string audience;

  bool operator==(const FederatedCredentialRule&) const = default;
};

struct AgentRecord {
  std::string name;       // unique key: [a-z0-9-]{1,63}
  std::string spiffe_id;  // unique when non-empty; empty for federation-only agents
  std::string client_id;  // OAuth client id; empty: the SPIFFE ID is the client id
  std::string display_name;
  std::string owner;
  governance::AgentState state = governance::AgentState::kEnabled;
  governance::RiskLevel risk = governance::RiskLevel::kNone;
  std::string risk_source;                                // "admin", "ssf:<issuer>", ...
  std::int64_t risk_updated_unix = 0;                     // 0: never set
  governance::Tags tags;                                  // keys normalised to lower case
  std::map<std::string, std::vector<std::string>> roles;  // audience -> app roles
  std::vector<FederatedCredentialRule> federated_credentials;
  TrustDomainKind trust_domain_kind = TrustDomainKind::kLocal;

  // Maintained by the store; ignored on input.
  std::uint64_t revision = 0;  // 1 at creation, +1 per change
  std::int64_t created_unix = 0;
  std::int64_t updated_unix = 0;

  bool operator==(const AgentRecord&) const = default;
};

bool validAgentName(std::string_view name);  // [a-z0-9-]{1,63}

// Checks `record` and normalises it in place (tag keys lower-cased). The error message
// names the offending field, e.g. "tags: key \"Team\" given twice".
Status validateAgentRecord(AgentRecord& record);

// True when the content is equal, ignoring what the store maintains (revision and the two
// timestamps).
bool sameAgentContent(const AgentRecord& a, const AgentRecord& b);

}  // namespace warden::controlplane
