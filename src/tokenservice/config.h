// The `token_service:` section of `warden server`'s configuration, as plain structs.
//
// Parsed strictly from YAML with the shared YamlReader (unknown keys are errors; messages
// name file, line and field path) and validated as a whole (cross references between
// agents, audiences and external issuers). docs/token-service.md describes the schema.
// The section sits in the same file as the identity settings (issuer/server_config.h),
// which skips it; loadTokenServiceConfig reads only this section.
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "governance/agent_facts.h"
#include "jose/jws.h"

namespace YAML {
class Node;
}

namespace warden {
class YamlReader;
}

namespace warden::tokenservice {

// Token-time governance (ARCHITECTURE.md §2, "4a at the STS").
// The governance vocabulary is one for the whole system (governance/agent_facts.h).
using governance::AgentState;
using governance::RiskLevel;
using governance::agentStateName;
using governance::riskLevelName;
using governance::riskLevelFromName;

enum class GrantType { kClientCredentials, kTokenExchange };
inline constexpr std::string_view kGrantClientCredentials = "client_credentials";
inline constexpr std::string_view kGrantTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kDefaultFederatedAudience = "api://AzureADTokenExchange";
// Entra's limit per application; a longer list is a sign of a rule that should be a pattern.
inline constexpr std::size_t kMaxFederatedCredentialsPerAgent = 20;

// Maps an external OIDC token to an agent (Entra's Federated Identity Credential, §8.1):
// `iss` must equal `issuer`, `sub` must equal `subject` (or match `subject_pattern`,
// agent_policy.h), and `aud` must contain `audience`. All comparisons are exact and
// case-sensitive.
struct FederatedCredentialConfig {
  std::string name;
  std::string issuer;
  std::string subject;          // exactly one of subject ...
  std::string subject_pattern;  // ... and subject_pattern
  std::string audience{kDefaultFederatedAudience};
};

struct AgentConfig {
  std::string name;
  std::string spiffe_id;  // may be empty for an agent that only signs in by federation
  std::string client_id;  // empty: the SPIFFE ID is the client id
  AgentState state = AgentState::kEnabled;
  RiskLevel risk = RiskLevel::kNone;
  std::vector<GrantType> grant_types{GrantType::kClientCredentials, GrantType::kTokenExchange};
  std::map<std::string, std::vector<std::string>> roles;  // audience id -> app roles
  std::vector<FederatedCredentialConfig> federated_credentials;
};

// A resource (RFC 8707) tokens can be issued for; `id` is the token's `aud`, the
// `resource` value, and the prefix of its `<id>/.default` scope.
struct AudienceConfig {
  std::string id;
  std::optional<std::chrono::seconds> token_ttl;  // overrides the service's
  std::optional<RiskLevel> max_risk;              // overrides the service's
};

struct ExternalIssuerConfig {
  std::string issuer;   // compared exactly with the discovery document and tokens' iss
  std::string ca_file;  // roots for its HTTPS endpoints instead of the system's (optional)
  std::vector<jose::Alg> algorithms{jose::Alg::kRS256};  // pinned per issuer (RFC 8725 §3.1)
};

struct FailedAuthLimit {
  std::uint32_t burst = 20;                                  // failures allowed at once
  std::chrono::milliseconds refill_every{std::chrono::seconds(3)};  // one more per interval
};

// What SIGHUP may change at run time: who may get which token.
struct TokenPolicyConfig {
  std::chrono::seconds token_ttl{std::chrono::minutes(5)};
  std::chrono::seconds max_assertion_ttl{std::chrono::minutes(10)};
  RiskLevel max_risk = RiskLevel::kMedium;
  std::vector<AudienceConfig> audiences;
  std::vector<ExternalIssuerConfig> external_issuers;
  std::vector<AgentConfig> agents;
};

struct TokenServiceConfig {
  std::string listen_host = "127.0.0.1";  // IP literal
  std::uint16_t listen_port = 0;          // 0: ephemeral (tests)
  std::string issuer;  // empty: https://<listen_host>:<bound port>
  // Server certificate: the X509-SVID of a registration entry, or files.
  std::string tls_svid_entry;
  std::string tls_cert_path;
  std::string tls_key_path;
  std::chrono::seconds key_ttl{std::chrono::hours(24)};
  FailedAuthLimit failed_auth;
  TokenPolicyConfig policy;
};

// Parses the mapping under `token_service` (path prefix "token_service").
TokenServiceConfig parseTokenServiceSection(const YamlReader& reader, const YAML::Node& node,
                                            const std::string& base_dir);
// Reads the `token_service` section of a server config file; nullopt when absent.
Result<std::optional<TokenServiceConfig>> parseTokenServiceConfig(const std::string& yaml_text,
                                                                  const std::string& source_path);
Result<std::optional<TokenServiceConfig>> loadTokenServiceConfig(const std::string& path);

// Cross-field validation (also run by the parser); `prefix` names the section in messages.
Status validateTokenPolicy(const TokenPolicyConfig& policy,
                           const std::string& prefix = "token_service");
// The policy against the embedded issuer's `jwt_issuer` (empty: none). JWT-SVIDs that
// carry it are verified with the trust domain's JWT authorities (token_validation.h), so
// an external issuer of the same URL would never be consulted: it is refused as a mistake.
Status validateAgainstJwtIssuer(const TokenPolicyConfig& policy, std::string_view jwt_issuer,
                                const std::string& prefix = "token_service");

}  // namespace warden::tokenservice
