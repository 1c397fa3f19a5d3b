#include "tokenservice/agent_policy.h"

#include <algorithm>

namespace warden::tokenservice {

Result<SubjectPattern> SubjectPattern::parse(std::string_view pattern) {
  if (pattern.empty()) return Error{"a subject pattern must not be empty"};
  SubjectPattern out;
  out.text_ = std::string(pattern);
  std::size_t star = std::string_view::npos;
  std::size_t begin = 0;
  bool literal_segment = false;
  for (;;) {
    const std::size_t end = std::min(pattern.find(':', begin), pattern.size());
    const std::string_view segment = pattern.substr(begin, end - begin);
    if (segment == "*") {
      if (star != std::string_view::npos) return Error{"a subject pattern may hold one '*' only"};
      star = begin;
    } else if (segment.find('*') != std::string_view::npos) {
      return Error{"'*' must be a whole ':'-separated segment (\"" + std::string(segment) + "\")"};
    } else if (segment.empty()) {
      return Error{"a subject pattern has no empty segments"};
    } else {
      literal_segment = true;
    }
    if (end == pattern.size()) break;
    begin = end + 1;
  }
  if (!literal_segment) return Error{"a subject pattern needs at least one literal segment"};
  if (star != std::string_view::npos) {
    out.wildcard_ = true;
    out.prefix_ = std::string(pattern.substr(0, star));
    out.suffix_ = std::string(pattern.substr(star + 1));
  }
  return out;
}

bool SubjectPattern::matches(std::string_view subject) const {
  if (!wildcard_) return subject == text_;
  if (subject.size() <= prefix_.size() + suffix_.size()) return false;
  if (!subject.starts_with(prefix_) || !subject.ends_with(suffix_)) return false;
  const std::string_view middle =
      subject.substr(prefix_.size(), subject.size() - prefix_.size() - suffix_.size());
  return !middle.empty() && middle.find(':') == std::string_view::npos;
}

bool FederatedCredential::matches(std::string_view iss, std::string_view sub,
                                  const std::vector<std::string>& aud) const {
  if (iss != config.issuer) return false;
  const bool subject_ok = pattern ? pattern->matches(sub) : sub == config.subject;
  if (!subject_ok) return false;
  return std::find(aud.begin(), aud.end(), config.audience) != aud.end();
}

const std::string& Agent::subject() const {
  return config.spiffe_id.empty() ? config.client_id : config.spiffe_id;
}

const std::string& Agent::clientId() const {
  return config.client_id.empty() ? config.spiffe_id : config.client_id;
}

bool Agent::allows(GrantType grant) const {
  return std::find(config.grant_types.begin(), config.grant_types.end(), grant) !=
         config.grant_types.end();
}

Result<std::shared_ptr<const TokenPolicy>> TokenPolicy::compile(TokenPolicyConfig config) {
  if (auto st = validateTokenPolicy(config); !st) return st.error();
  std::shared_ptr<TokenPolicy> policy(new TokenPolicy());
  policy->config_ = std::move(config);
  policy->agents_.reserve(policy->config_.agents.size());
  for (const auto& a : policy->config_.agents) {
    Agent agent;
    agent.config = a;
    for (const auto& f : a.federated_credentials) {
      FederatedCredential fc;
      fc.config = f;
      if (!f.subject_pattern.empty()) {
        auto pattern = SubjectPattern::parse(f.subject_pattern);
        if (!pattern) return pattern.error();
        fc.pattern = std::move(*pattern);
      }
      agent.federated.push_back(std::move(fc));
    }
    policy->agents_.push_back(std::move(agent));
  }
  // Pointers into agents_ are stable from here on: the vector is never resized again.
  for (const auto& agent : policy->agents_) {
    policy->by_client_id_.emplace(agent.clientId(), &agent);
    if (!agent.config.spiffe_id.empty()) {
      policy->by_spiffe_id_.emplace(agent.config.spiffe_id, &agent);
      policy->by_client_id_.emplace(agent.config.spiffe_id, &agent);
    }
  }
  for (const auto& a : policy->config_.audiences) policy->audiences_.push_back(Audience{a});
  return std::shared_ptr<const TokenPolicy>(std::move(policy));
}

const Agent* TokenPolicy::agentByClientId(std::string_view client_id) const {
  const auto it = by_client_id_.find(client_id);
  return it == by_client_id_.end() ? nullptr : it->second;
}

const Agent* TokenPolicy::agentBySpiffeId(std::string_view spiffe_id) const {
  const auto it = by_spiffe_id_.find(spiffe_id);
  return it == by_spiffe_id_.end() ? nullptr : it->second;
}

const Audience* TokenPolicy::audience(std::string_view id) const {
  for (const auto& a : audiences_) {
    if (a.config.id == id) return &a;
  }
  return nullptr;
}

const ExternalIssuerConfig* TokenPolicy::externalIssuer(std::string_view issuer) const {
  for (const auto& e : config_.external_issuers) {
    if (e.issuer == issuer) return &e;
  }
  return nullptr;
}

Result<TokenPolicy::FederatedMatch> TokenPolicy::matchFederated(
    std::string_view iss, std::string_view sub, const std::vector<std::string>& aud,
    const Agent* only) const {
  FederatedMatch found;
  for (const auto& agent : agents_) {
    if (only != nullptr && only != &agent) continue;
    for (const auto& fc : agent.federated) {
      if (!fc.matches(iss, sub, aud)) continue;
      if (found.agent != nullptr && found.agent != &agent) {
        return Error{"the token matches federated credentials of more than one agent; "
                     "send client_id to choose"};
      }
      if (found.agent == nullptr) found = {&agent, &fc};
    }
  }
  if (found.agent == nullptr) {
    std::string why = "no federated credential";
    if (only != nullptr) why += " of " + only->clientId();
    return Error{why + " matches this issuer, subject and audience"};
  }
  return found;
}

std::optional<GovernanceDenial> TokenPolicy::governance(const Agent& agent,
                                                        const Audience& audience) const {
  switch (agent.config.state) {
    case AgentState::kEnabled:
      break;
    case AgentState::kDisabled:
      return GovernanceDenial{"agent_disabled", "agent " + agent.config.name + " is disabled"};
    case AgentState::kQuarantined:
      return GovernanceDenial{"agent_quarantined", "agent " + agent.config.name + " is quarantined"};
  }
  const RiskLevel max = audience.config.max_risk.value_or(config_.max_risk);
  if (agent.config.risk > max) {
    return GovernanceDenial{"risk_too_high",
                            "agent " + agent.config.name + " has risk " +
                                std::string(riskLevelName(agent.config.risk)) + ", above the " +
                                std::string(riskLevelName(max)) + " allowed for " +
                                audience.config.id};
  }
  return std::nullopt;
}

std::chrono::seconds TokenPolicy::tokenTtl(const Audience& audience) const {
  return audience.config.token_ttl.value_or(config_.token_ttl);
}

const std::vector<std::string>* TokenPolicy::roles(const Agent& agent,
                                                   const Audience& audience) const {
  const auto it = agent.config.roles.find(audience.config.id);
  return it == agent.config.roles.end() ? nullptr : &it->second;
}

}  // namespace warden::tokenservice
