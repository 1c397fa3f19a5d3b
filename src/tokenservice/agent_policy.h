// The token service's compiled policy: agents looked up by client id and SPIFFE ID,
// audiences, roles, federated-credential rules and token-time governance.
//
// Federated subject patterns (documented in docs/token-service.md): the subject is split
// at ':' into segments (GitHub's `sub` is `repo:ORG/REPO:environment:NAME`, and GitHub
// encodes a ':' inside a value as %3A, so segments are unambiguous). A pattern may hold
// one `*`, and it must be a whole segment: it matches exactly one non-empty segment.
//   repo:octo/app:environment:*      matches repo:octo/app:environment:prod
//                                    not     repo:octo/app:ref:refs/heads/main
//                                    not     repo:octo/app:environment:prod:extra
// Anything else compares byte for byte (case-sensitive), as Entra does. There is no
// prefix glob: `repo:octo/*` would otherwise admit every repository of the owner.
// Thread-safety: TokenPolicy is immutable once compiled and shared by readers.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tokenservice/config.h"

namespace warden::tokenservice {

class SubjectPattern {
 public:
  static Result<SubjectPattern> parse(std::string_view pattern);
  bool matches(std::string_view subject) const;
  const std::string& text() const { return text_; }

 private:
  SubjectPattern() = default;
  std::string text_;
  std::string prefix_;  // everything before the `*` segment (ends with ':' or is empty)
  std::string suffix_;  // everything after it (starts with ':' or is empty)
  bool wildcard_ = false;
};

struct FederatedCredential {
  FederatedCredentialConfig config;
  std::optional<SubjectPattern> pattern;  // set when config.subject_pattern is

  bool matches(std::string_view iss, std::string_view sub,
               const std::vector<std::string>& aud) const;
};

struct Agent {
  AgentConfig config;
  std::vector<FederatedCredential> federated;
  // The token's `sub`: the SPIFFE ID, or the client id of a federation-only agent.
  const std::string& subject() const;
  const std::string& clientId() const;
  bool allows(GrantType grant) const;
};

struct Audience {
  AudienceConfig config;
};

// Why a token is refused at issue time (maps to access_denied).
struct GovernanceDenial {
  std::string reason;  // stable code: agent_disabled, agent_quarantined, risk_too_high
  std::string description;
};

class TokenPolicy {
 public:
  static Result<std::shared_ptr<const TokenPolicy>> compile(TokenPolicyConfig config);

  // By client id or, for agents with a SPIFFE ID, by that ID.
  const Agent* agentByClientId(std::string_view client_id) const;
  const Agent* agentBySpiffeId(std::string_view spiffe_id) const;
  const Audience* audience(std::string_view id) const;
  const ExternalIssuerConfig* externalIssuer(std::string_view issuer) const;
  bool hasExternalIssuers() const { return !config_.external_issuers.empty(); }

  struct FederatedMatch {
    const Agent* agent = nullptr;
    const FederatedCredential* credential = nullptr;
  };
  // The agent whose federated credential admits (iss, sub, aud). With `only`, that agent's
  // rules alone are tried; otherwise every agent's, and more than one matching agent is an
  // error (the caller must name its client_id).
  Result<FederatedMatch> matchFederated(std::string_view iss, std::string_view sub,
                                        const std::vector<std::string>& aud,
                                        const Agent* only) const;

  std::optional<GovernanceDenial> governance(const Agent& agent, const Audience& audience) const;
  std::chrono::seconds tokenTtl(const Audience& audience) const;
  // nullptr when the agent has no role assignment for the audience (not even an empty one).
  const std::vector<std::string>* roles(const Agent& agent, const Audience& audience) const;

  const TokenPolicyConfig& config() const { return config_; }
  const std::vector<Audience>& audiences() const { return audiences_; }

 private:
  TokenPolicy() = default;
  TokenPolicyConfig config_;
  std::vector<Agent> agents_;
  std::vector<Audience> audiences_;
  std::map<std::string, const Agent*, std::less<>> by_client_id_;
  std::map<std::string, const Agent*, std::less<>> by_spiffe_id_;
};

}  // namespace warden::tokenservice
