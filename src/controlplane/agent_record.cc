#include "controlplane/agent_record.h"

#include <set>

#include "identity/spiffe_id.h"

namespace warden::controlplane {
namespace {

// Bounds keep one record small enough to render, diff and distribute without surprises;
// they are far above what a real agent needs.
constexpr std::size_t kMaxText = 256;
constexpr std::size_t kMaxTags = 64;
constexpr std::size_t kMaxAudiences = 64;
constexpr std::size_t kMaxRolesPerAudience = 64;
// The token service's limit (tokenservice/config.h kMaxFederatedCredentialsPerAgent,
// Entra's per-application limit); repeated here because the store does not link it.
constexpr std::size_t kMaxFederatedCredentials = 20;

// Well-formed UTF-8 without C0/C1 controls or DEL: display names and owners are free text
// shown in the portal and logs, where a control character could forge lines.
bool cleanUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong =
        (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp >= 0x80 && cp <= 0x9F) return false;  // C1 controls
    i += len;
  }
  return true;
}

// Identifiers (client ids, issuers, audiences, roles): visible ASCII, no spaces.
bool visibleAscii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Status fieldError(std::string_view field, std::string_view problem) {
  return makeError(std::string(field) + ": " + std::string(problem));
}

Status checkText(std::string_view field, std::string_view value) {
  if (value.size() > kMaxText) return fieldError(field, "longer than 256 bytes");
  if (!cleanUtf8(value)) return fieldError(field, "must be UTF-8 without control characters");
  return {};
}

Status checkIdentifier(std::string_view field, std::string_view value, bool required) {
  if (value.empty()) return required ? fieldError(field, "must not be empty") : Status{};
  if (value.size() > kMaxText) return fieldError(field, "longer than 256 bytes");
  if (!visibleAscii(value)) return fieldError(field, "must be visible ASCII without spaces");
  return {};
}

Status normalizeTags(governance::Tags& tags) {
  if (tags.size() > kMaxTags) return fieldError("tags", "more than 64 tags");
  governance::Tags out;
  for (const auto& [key, value] : tags) {
    if (!governance::validTagKey(key)) {
      return fieldError("tags", "key \"" + key + "\" must be 1-63 characters of [a-z0-9._-]");
    }
    if (!governance::validTagValue(value) || !cleanUtf8(value)) {
      return fieldError("tags." + key, "value must be at most 255 characters, no controls");
    }
    if (!out.emplace(governance::normalizeTagKey(key), value).second) {
      return fieldError("tags", "key \"" + governance::normalizeTagKey(key) + "\" given twice");
    }
  }
  tags = std::move(out);
  return {};
}

Status checkRoles(const std::map<std::string, std::vector<std::string>>& roles) {
  if (roles.size() > kMaxAudiences) return fieldError("roles", "more than 64 audiences");
  for (const auto& [audience, list] : roles) {
    if (auto s = checkIdentifier("roles", audience, true); !s.ok()) {
      return fieldError("roles", "audience \"" + audience + "\": " + s.message());
    }
    if (list.size() > kMaxRolesPerAudience) {
      return fieldError("roles." + audience, "more than 64 roles");
    }
    std::set<std::string_view> seen;
    for (const auto& role : list) {
      if (auto s = checkIdentifier("roles." + audience, role, true); !s.ok()) return s;
      if (!seen.insert(role).second) {
        return fieldError("roles." + audience, "role \"" + role + "\" given twice");
      }
    }
  }
  return {};
}

Status checkFederated(const std::vector<FederatedCredentialRule>& rules) {
  if (rules.size() > kMaxFederatedCredentials) {
    return fieldError("federated_credentials", "more than 20 rules");
  }
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    const std::string field = "federated_credentials[" + std::to_string(i) + "]";
    if (auto s = checkIdentifier(field + ".name", r.name, true); !s.ok()) return s;
    if (!names.insert(r.name).second) {
      return fieldError(field + ".name", "\"" + r.name + "\" given twice");
    }
    if (auto s = checkIdentifier(field + ".issuer", r.issuer, true); !s.ok()) return s;
    if (auto s = checkIdentifier(field + ".audience", r.audience, true); !s.ok()) return s;
    if (r.subject.empty() == r.subject_pattern.empty()) {
      return fieldError(field, "exactly one of subject and subject_pattern must be set");
    }
    if (auto s = checkIdentifier(field + ".subject", r.subject, false); !s.ok()) return s;
    if (auto s = checkIdentifier(field + ".subject_pattern", r.subject_pattern, false); !s.ok()) {
      return s;
    }
  }
  return {};
}

}  // namespace

std::string_view trustDomainKindName(TrustDomainKind kind) {
  return kind == TrustDomainKind::kFederated ? "federated" : "local";
}

std::optional<TrustDomainKind> trustDomainKindFromName(std::string_view name) {
  if (name == "local") return TrustDomainKind::kLocal;
  if (name == "federated") return TrustDomainKind::kFederated;
  return std::nullopt;
}

bool validAgentName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status validateAgentRecord(AgentRecord& record) {
  if (!validAgentName(record.name)) {
    return fieldError("name", "must be 1-63 characters of [a-z0-9-]");
  }
  if (!record.spiffe_id.empty()) {
    auto id = identity::SpiffeId::parse(record.spiffe_id);
    if (!id.ok()) return fieldError("spiffe_id", id.error().message);
  }
  if (auto s = checkIdentifier("client_id", record.client_id, false); !s.ok()) return s;
  if (record.spiffe_id.empty() && record.client_id.empty()) {
    return fieldError("spiffe_id", "an agent needs a SPIFFE ID or a client_id");
  }
  if (auto s = checkText("display_name", record.display_name); !s.ok()) return s;
  if (auto s = checkText("owner", record.owner); !s.ok()) return s;
  if (auto s = checkText("risk_source", record.risk_source); !s.ok()) return s;
  if (record.risk_updated_unix < 0) return fieldError("risk_updated_unix", "must not be negative");
  if (governance::agentStateName(record.state) == "unknown") {
    return fieldError("state", "unknown state");
  }
  if (governance::riskLevelName(record.risk) == "unknown") {
    return fieldError("risk", "unknown risk level");
  }
  if (auto s = normalizeTags(record.tags); !s.ok()) return s;
  if (auto s = checkRoles(record.roles); !s.ok()) return s;
  return checkFederated(record.federated_credentials);
}

bool sameAgentContent(const AgentRecord& a, const AgentRecord& b) {
  AgentRecord x = a;
  AgentRecord y = b;
  x.revision = y.revision = 0;
  x.created_unix = y.created_unix = 0;
  x.updated_unix = y.updated_unix = 0;
  return x == y;
}

}  // namespace warden::controlplane
