// People signed in at an external OpenID Connect provider (Entra, Keycloak, Okta, ...):
// their bearer access tokens are verified with the same layer-3 verifier the sidecar uses
// (token/access_token.h: RFC 8725 rules, pinned algorithms, JWKS with background refresh)
// and their role in the control plane comes from a claim (groups or app roles), mapped by
// configuration: admin wins over developer over viewer; no listed value -> no role (401).
// Thread-safety: immutable after create(); authenticate() from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "controlplane/principal.h"
#include "token/access_token.h"
#include "token/jwks_source.h"
#include "token/token_config.h"

namespace warden::controlplane {

struct IdentityProviderConfig {
  token::TokenIssuerConfig issuer;  // issuer, key source, audiences, algorithms, typ, roles_claim
  std::vector<std::string> admin_values;      // values of roles_claim that make an admin
  std::vector<std::string> developer_values;
  std::vector<std::string> viewer_values;
};

class ExternalIdentityProviders {
 public:
  static Result<std::unique_ptr<ExternalIdentityProviders>> create(
      const std::vector<IdentityProviderConfig>& providers);
  // The principal of a verified token, or why it is refused (for logs; never the token).
  Result<Principal> authenticate(std::string_view token, std::chrono::system_clock::time_point now) const;
  // Blocks until every provider has keys or `timeout` passes (startup).
  bool waitReady(std::chrono::milliseconds timeout) const;
  // Per provider, in configuration order: its issuer and whether its keys are held
  // (GET /api/v1/health).
  struct ProviderStatus {
    std::string issuer;
    bool ready = false;
  };
  std::vector<ProviderStatus> status() const;

 private:
  ExternalIdentityProviders() = default;
  std::vector<IdentityProviderConfig> providers_;
  std::vector<std::shared_ptr<token::JwksSource>> sources_;
  std::unique_ptr<const token::AccessTokenVerifier> verifier_;
};

}  // namespace warden::controlplane
