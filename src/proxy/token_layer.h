// Layer 3 in the sidecar: turns the policy's `token` section into a verifier, keeping
// the JWKS sources alive across policy reloads.
//
// A JWKS source is keyed by everything that defines it (issuer, key source, TLS roots,
// algorithms...); a reload that keeps an issuer unchanged keeps its source, its keys and
// its refresh schedule, so a policy edit never causes a JWKS fetch storm or a window
// without keys. The verified-token cache is shared by every verifier this sidecar builds
// (entries are scoped per verifier, so a stricter new policy never reuses a verdict).
// Thread-safety: TokenLayer is used from the control thread (create/reload) and read by
// the admin handlers; it locks internally. Verifiers it returns are immutable and shared
// by all workers.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/policy_config.h"
#include "token/access_token.h"
#include "token/jwks_source.h"

namespace warden::proxy {

class TokenLayer {
 public:
  TokenLayer();

  // `policy_dir` resolves relative jwks_file / ca_file paths. Null verifier when the
  // policy has no token section.
  Result<std::shared_ptr<const token::AccessTokenVerifier>> verifierFor(
      const policy::PolicyConfig& policy, const std::string& policy_dir);

  // True when every issuer in force has a key set (readiness: keys before traffic).
  bool ready() const;
  // Waits (bounded) for every issuer in force to have keys; false on timeout.
  bool waitReady(std::chrono::milliseconds timeout) const;
  // Per issuer: ready, key count, fetch counters, last error (for /readyz and /metrics).
  std::vector<token::JwksStatus> status() const;
  token::TokenCacheStats cacheStats() const { return cache_->stats(); }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<token::JwksSource>>> sources_;  // in force
  std::shared_ptr<token::VerifiedTokenCache> cache_;
};

// The policy's issuer section as the token module's config (paths resolved).
token::TokenIssuerConfig toIssuerConfig(const policy::TokenIssuerPolicy& p,
                                        const std::string& policy_dir);

}  // namespace warden::proxy
