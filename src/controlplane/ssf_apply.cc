#include "controlplane/ssf_apply.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace warden::controlplane {
namespace {

using ssf::EventKind;
using ssf::SubjectFormat;

// Transmitter text (reasons) goes into comments: printable, bounded.
std::string clean(std::string_view text, std::size_t max = 256) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  if (text.size() > max) out += "...";
  return out;
}

// The reason a transmitter gave, if any: risk_reason, else reason_admin (English first).
std::string reasonOf(const ssf::SecurityEvent& e) {
  if (e.risk_level_change && !e.risk_level_change->risk_reason.empty()) {
    return e.risk_level_change->risk_reason;
  }
  if (e.account_disabled && !e.account_disabled->reason.empty()) return e.account_disabled->reason;
  if (auto it = e.reason_admin.find("en"); it != e.reason_admin.end()) return it->second;
  if (!e.reason_admin.empty()) return e.reason_admin.begin()->second;
  return {};
}

std::string commentFor(const ssf::SecurityEvent& e) {
  std::string comment = "ssf " + std::string(ssf::eventKindName(e.kind)) + " jti " + clean(e.jti);
  if (const std::string reason = reasonOf(e); !reason.empty()) comment += ": " + clean(reason, 512);
  return comment;
}

// One rule of the mapping: the agents `pick` selects. Exactly one -> matched.
template <class Pick>
std::optional<SubjectMatch> matchOne(const std::vector<AgentRecord>& agents, std::string rule,
                                     Pick pick) {
  const AgentRecord* found = nullptr;
  for (const auto& a : agents) {
    if (!pick(a)) continue;
    if (found != nullptr) return SubjectMatch{std::nullopt, "ambiguous: two agents match by " + rule};
    found = &a;
  }
  if (found == nullptr) return std::nullopt;
  return SubjectMatch{*found, std::move(rule)};
}

ApplyResult failed(const StoreError& e, std::string agent) {
  return {ApplyOutcome::kFailed, std::move(agent), "store: " + e.message};
}

}  // namespace

std::string_view applyOutcomeName(ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::kApplied:
      return "applied";
    case ApplyOutcome::kUnchanged:
      return "unchanged";
    case ApplyOutcome::kUnmatched:
      return "unmatched";
    case ApplyOutcome::kNotApplied:
      return "not_applied";
    case ApplyOutcome::kStale:
      return "stale";
    case ApplyOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

const std::string& tokenSubject(const AgentRecord& agent) {
  return agent.spiffe_id.empty() ? agent.client_id : agent.spiffe_id;
}

StoreResult<SubjectMatch> findAgentForSubject(Store& store, const ssf::SubjectId& subject) {
  std::string key;
  switch (subject.format) {
    case SubjectFormat::kUri:
      key = subject.uri;
      break;
    case SubjectFormat::kIssSub:
      key = subject.sub;
      break;
    case SubjectFormat::kOpaque:
      key = subject.id;
      break;
    case SubjectFormat::kEmail:
      key = subject.email;
      break;
    default:
      return SubjectMatch{std::nullopt, "subject format " +
                                            clean(subject.format_name.empty() ? "?" : subject.format_name) +
                                            " is not mapped to agents"};
  }
  if (key.empty()) return SubjectMatch{std::nullopt, "empty subject"};
  auto agents = store.listAgents();
  if (!agents) return agents.error();
  std::vector<std::pair<std::string, std::function<bool(const AgentRecord&)>>> rules;
  if (subject.format == SubjectFormat::kUri) {
    rules.emplace_back("spiffe_id", [&](const AgentRecord& a) { return a.spiffe_id == key; });
  }
  if (subject.format == SubjectFormat::kIssSub) {
    rules.emplace_back("federated_credential", [&](const AgentRecord& a) {
      return std::any_of(a.federated_credentials.begin(), a.federated_credentials.end(),
                         [&](const FederatedCredentialRule& f) {
                           return f.issuer == subject.iss && !f.subject.empty() && f.subject == key;
                         });
    });
  }
  rules.emplace_back("client_id", [&](const AgentRecord& a) { return a.client_id == key; });
  if (subject.format != SubjectFormat::kUri) {
    rules.emplace_back("name", [&](const AgentRecord& a) { return a.name == key; });
  }
  for (auto& [rule, pick] : rules) {
    if (auto m = matchOne(*agents, rule, pick)) return std::move(*m);
  }
  return SubjectMatch{std::nullopt, "no registered agent is " + clean(key)};
}

ApplyResult applySecurityEvent(Store& store, const ssf::SecurityEvent& event, std::int64_t now_unix,
                               const ApplyOptions& options) {
  enum class Action { kNone, kRisk, kDisable, kRevoke };
  Action action = Action::kNone;
  switch (event.kind) {
    case EventKind::kRiskLevelChange:
      action = event.risk_level_change ? Action::kRisk : Action::kNone;
      break;
    case EventKind::kAccountDisabled:
    case EventKind::kAccountPurged:
      action = Action::kDisable;
      break;
    case EventKind::kSessionRevoked:
    case EventKind::kCredentialChange:
    case EventKind::kCredentialCompromise:
      action = Action::kRevoke;
      break;
    default:
      break;
  }
  if (action == Action::kNone) {
    return {ApplyOutcome::kNotApplied, "",
            std::string(ssf::eventKindName(event.kind)) + " is not acted on"};
  }
  auto match = findAgentForSubject(store, event.subject);
  if (!match) return failed(match.error(), "");
  if (!match->agent) return {ApplyOutcome::kUnmatched, "", match->rule};
  const AgentRecord& agent = *match->agent;
  const std::string source = "ssf:" + event.issuer;
  const Actor actor{source, "ssf"};
  const std::string comment = commentFor(event);
  const std::string matched = " (matched by " + match->rule + ")";

  switch (action) {
    case Action::kRisk: {
      const auto level = event.risk_level_change->current_level;
      const std::int64_t event_time = event.event_timestamp.value_or(event.iat);
      if (level < agent.risk && agent.risk_updated_unix > event_time) {
        return {ApplyOutcome::kStale, agent.name,
                "risk " + std::string(governance::riskLevelName(level)) + " at " +
                    std::to_string(event_time) + " is older than the current " +
                    std::string(governance::riskLevelName(agent.risk)) + " set at " +
                    std::to_string(agent.risk_updated_unix)};
      }
      auto updated = store.setRisk(agent.name, level, source, actor, comment);
      if (!updated) return failed(updated.error(), agent.name);
      return {ApplyOutcome::kApplied, agent.name,
              "risk " + std::string(governance::riskLevelName(level)) + matched};
    }
    case Action::kDisable: {
      auto updated = store.setState(agent.name, governance::AgentState::kDisabled, actor, comment);
      if (!updated) return failed(updated.error(), agent.name);
      if (updated->revision == agent.revision) {
        return {ApplyOutcome::kUnchanged, agent.name, "already disabled" + matched};
      }
      return {ApplyOutcome::kApplied, agent.name, "state disabled" + matched};
    }
    case Action::kRevoke: {
      // Tokens issued before the event (or before now, without a timestamp) are revoked;
      // a timestamp in the future is not trusted to revoke tokens not yet issued.
      const std::int64_t before = std::min(event.event_timestamp.value_or(now_unix), now_unix);
      Revocation r;
      r.subject = tokenSubject(agent);
      r.issued_before_unix = before;
      r.reason = clean(std::string(ssf::eventKindName(event.kind)) +
                       (event.credential_change
                            ? " " + std::string(ssf::changeTypeName(event.credential_change->change_type)) +
                                  " " + event.credential_change->credential_type
                            : std::string()));
      r.source = source;
      r.expires_unix = before + options.revocation_ttl_s;
      if (r.issued_before_unix <= 0) {
        return {ApplyOutcome::kNotApplied, agent.name, "event_timestamp before 1970"};
      }
      auto added = store.addRevocation(std::move(r), actor);
      if (!added) return failed(added.error(), agent.name);
      return {ApplyOutcome::kApplied, agent.name,
              "tokens of " + added->subject + " issued before " + std::to_string(before) +
                  " revoked" + matched};
    }
    case Action::kNone:
      break;
  }
  return {ApplyOutcome::kNotApplied, agent.name, "nothing to do"};
}

}  // namespace warden::controlplane
