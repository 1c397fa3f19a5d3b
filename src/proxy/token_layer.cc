#include "proxy/token_layer.h"

#include "common/yaml_reader.h"

namespace warden::proxy {
namespace {

std::string sourceKey(const token::TokenIssuerConfig& c) {
  std::string key = c.issuer + '\n' + c.discovery_url + '\n' + c.jwks_url + '\n' + c.jwks_file +
                    '\n' + c.ca_file + '\n';
  for (const auto& a : c.algorithms) key += a + ',';
  key += '\n';
  for (const auto& a : c.audiences) key += a + ',';
  key += '\n' + c.require_typ + '\n' + c.roles_claim + '\n' + std::to_string(c.clock_skew.count());
  for (const auto& r : c.required_claims) key += ',' + r;
  return key;
}

}  // namespace

token::TokenIssuerConfig toIssuerConfig(const policy::TokenIssuerPolicy& p,
                                        const std::string& policy_dir) {
  token::TokenIssuerConfig c;
  c.issuer = p.issuer;
  c.discovery_url = p.discovery_url;
  c.jwks_url = p.jwks_url;
  c.jwks_file = resolveConfigPath(policy_dir, p.jwks_file);
  c.ca_file = resolveConfigPath(policy_dir, p.ca_file);
  if (!p.algorithms.empty()) c.algorithms = p.algorithms;
  c.audiences = p.audiences;
  c.clock_skew = std::chrono::seconds(p.clock_skew_seconds);
  c.require_typ = p.typ;
  c.required_claims = p.required_claims;
  c.roles_claim = p.roles_claim;
  return c;
}

TokenLayer::TokenLayer() : cache_(std::make_shared<token::VerifiedTokenCache>()) {}

Result<std::shared_ptr<const token::AccessTokenVerifier>> TokenLayer::verifierFor(
    const policy::PolicyConfig& policy, const std::string& policy_dir) {
  std::lock_guard lock(mutex_);
  if (!policy.token) {
    sources_.clear();
    return std::shared_ptr<const token::AccessTokenVerifier>();
  }
  std::vector<token::IssuerKeys> issuers;
  std::vector<std::pair<std::string, std::shared_ptr<token::JwksSource>>> next;
  token::TokenRequirements requirements;
  for (const auto& p : policy.token->issuers) {
    auto config = toIssuerConfig(p, policy_dir);
    const std::string key = sourceKey(config);
    std::shared_ptr<token::JwksSource> source;
    for (const auto& [k, s] : sources_) {
      if (k == key) source = s;
    }
    if (!source) {
      auto started = token::JwksSource::start(config);
      if (!started) return Error{"token.issuers (" + p.issuer + "): " + started.error().message};
      source = *started;
    }
    next.emplace_back(key, source);
    issuers.push_back({config, source});
    requirements.issuers.push_back(config.issuer);
  }
  switch (policy.token->binding) {
    case policy::TokenBinding::kNone: requirements.binding = token::BindingMode::kNone; break;
    case policy::TokenBinding::kSubject: requirements.binding = token::BindingMode::kSubToSpiffe; break;
    case policy::TokenBinding::kCertificate: requirements.binding = token::BindingMode::kCnfX5t; break;
  }
  requirements.binding_claim = policy.token->binding_claim;
  requirements.client_ids = policy.token->client_ids;
  auto verifier = token::AccessTokenVerifier::create(requirements, issuers, cache_);
  if (!verifier) return Error{"token: " + verifier.error().message};
  sources_ = std::move(next);  // sources no longer named are stopped when unreferenced
  return std::shared_ptr<const token::AccessTokenVerifier>(std::move(*verifier));
}

bool TokenLayer::ready() const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, s] : sources_) {
    if (!s->ready()) return false;
  }
  return true;
}

bool TokenLayer::waitReady(std::chrono::milliseconds timeout) const {
  std::vector<std::shared_ptr<token::JwksSource>> sources;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [k, s] : sources_) sources.push_back(s);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& s : sources) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!s->waitReady(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

std::vector<token::JwksStatus> TokenLayer::status() const {
  std::lock_guard lock(mutex_);
  std::vector<token::JwksStatus> out;
  for (const auto& [k, s] : sources_) out.push_back(s->status());
  return out;
}

}  // namespace warden::proxy
