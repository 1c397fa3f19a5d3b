#include "controlplane/external_idp.h"

#include <algorithm>

#include "controlplane/role_mapping.h"

namespace warden::controlplane {

Result<std::unique_ptr<ExternalIdentityProviders>> ExternalIdentityProviders::create(
    const std::vector<IdentityProviderConfig>& providers) {
  std::unique_ptr<ExternalIdentityProviders> out(new ExternalIdentityProviders());
  out->providers_ = providers;
  if (providers.empty()) return out;
  std::vector<token::TokenIssuerConfig> configs;
  for (const auto& p : providers) configs.push_back(p.issuer);
  if (auto st = token::validateIssuerConfigs(configs, "control_plane.access.identity_providers"); !st) {
    return st.error();
  }
  std::vector<token::IssuerKeys> keys;
  token::TokenRequirements requirements;
  for (const auto& p : providers) {
    auto source = token::JwksSource::start(p.issuer);
    if (!source) return Error{"identity provider " + p.issuer.issuer + ": " + source.error().message};
    out->sources_.push_back(*source);
    keys.push_back({p.issuer, *source});
    requirements.issuers.push_back(p.issuer.issuer);
  }
  auto verifier = token::AccessTokenVerifier::create(requirements, keys);
  if (!verifier) return verifier.error();
  out->verifier_ = std::move(*verifier);
  return out;
}

Result<Principal> ExternalIdentityProviders::authenticate(std::string_view token,
                                                          std::chrono::system_clock::time_point now) const {
  if (!verifier_) return Error{"no identity provider configured"};
  const auto verdict = verifier_->verify(token, token::CallerBinding{}, now);
  if (!verdict.ok) return Error{verdict.reason + ": " + verdict.detail};
  const auto& t = *verdict.token;
  const auto provider = std::find_if(providers_.begin(), providers_.end(),
                                     [&](const auto& p) { return p.issuer.issuer == t.issuer; });
  if (provider == providers_.end()) return Error{"token from an unconfigured issuer"};
  Principal p;
  p.subject = t.subject.empty() ? t.client_id : t.subject;
  p.method = "oidc";
  p.role = roleFromClaimValues(t.roles, provider->admin_values, provider->developer_values,
                               provider->viewer_values);
  if (p.role == Role::kNone) {
    return Error{"the token's " + provider->issuer.roles_claim + " grant no control-plane role"};
  }
  if (p.subject.empty()) return Error{"the token names no subject"};
  return p;
}

std::vector<ExternalIdentityProviders::ProviderStatus> ExternalIdentityProviders::status() const {
  std::vector<ProviderStatus> out;
  for (std::size_t i = 0; i < providers_.size() && i < sources_.size(); ++i) {
    out.push_back({providers_[i].issuer.issuer, sources_[i]->ready()});
  }
  return out;
}

bool ExternalIdentityProviders::waitReady(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& s : sources_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!s->waitReady(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

}  // namespace warden::controlplane
