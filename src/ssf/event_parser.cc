#include "ssf/event_parser.h"

#include <array>
#include <initializer_list>
#include <utility>

#include "ssf/claim_reading.h"

namespace warden::ssf {
namespace {

using nlohmann::json;
using detail::printable;

// A required string member: present, a string, not empty.
Result<std::string> requiredString(const json& object, const char* name, std::string_view where) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Error{std::string(where) + ": \"" + name + "\" missing or not a non-empty string"};
  }
  return it->get<std::string>();
}

// An optional string member: empty when absent, an error when present with another type.
Result<std::string> optionalString(const json& object, const char* name, std::string_view where) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Error{std::string(where) + ": \"" + name + "\" is not a string"};
  return it->get<std::string>();
}

// One simple (non-container) RFC 9493 identifier. complex and aliases are containers and
// are never nested (RFC 9493: an alias list holds no alias list; SSF's complex members are
// simple identifiers).
Result<SubjectId> parseSimple(const json& sub_id) {
  if (!sub_id.is_object()) return Error{"sub_id: not an object"};
  auto format = requiredString(sub_id, "format", "sub_id");
  if (!format) return format.error();
  SubjectId subject;
  subject.format_name = *format;
  const std::string& name = subject.format_name;
  const std::string where = "sub_id (" + printable(name) + ")";

  // Each format's required members, as RFC 9493 §3.2 (and SSF for complex) define them.
  struct Member {
    const char* json_name;
    std::string SubjectId::*field;
  };
  auto take = [&](SubjectFormat format_kind, std::initializer_list<Member> members) -> Status {
    for (const Member& m : members) {
      auto value = requiredString(sub_id, m.json_name, where);
      if (!value) return value.error();
      subject.*(m.field) = std::move(*value);
    }
    subject.format = format_kind;
    return Status::okStatus();
  };

  Status st;
  if (name == "iss_sub") {
    st = take(SubjectFormat::kIssSub, {{"iss", &SubjectId::iss}, {"sub", &SubjectId::sub}});
  } else if (name == "email") {
    st = take(SubjectFormat::kEmail, {{"email", &SubjectId::email}});
  } else if (name == "opaque") {
    st = take(SubjectFormat::kOpaque, {{"id", &SubjectId::id}});
  } else if (name == "uri") {
    st = take(SubjectFormat::kUri, {{"uri", &SubjectId::uri}});
  } else if (name == "did") {
    st = take(SubjectFormat::kDid, {{"url", &SubjectId::uri}});
  } else if (name == "phone_number") {
    st = take(SubjectFormat::kPhoneNumber, {{"phone_number", &SubjectId::phone_number}});
  } else if (name == "account") {
    st = take(SubjectFormat::kAccount, {{"uri", &SubjectId::uri}});
  } else if (name == "complex" || name == "aliases") {
    // parseSubjectId reads these at the top level; here they would be nested.
    return Error{where + ": may not appear inside a complex or aliases subject"};
  }
  // Any other format (jwt_id, saml_assertion_id, ip-addresses, a private one) is valid
  // but names nothing Warden can map: kOther.
  if (!st) return st.error();
  return subject;
}

// SSF `complex`: members describe one principal; Warden keys agents by one identifier, so
// it takes the first member it can map, in a fixed order (JSON objects have none).
constexpr std::array<const char*, 7> kComplexMembers = {
    "user", "device", "session", "application", "tenant", "org_unit", "group"};

Result<SubjectId> parseComplex(const json& sub_id) {
  std::optional<SubjectId> chosen;
  bool any = false;
  for (const char* member : kComplexMembers) {
    const auto it = sub_id.find(member);
    if (it == sub_id.end()) continue;
    any = true;
    auto simple = parseSimple(*it);
    if (!simple) {
      return Error{std::string("sub_id (complex) ") + member + ": " + simple.error().message};
    }
    if (!chosen && simple->format != SubjectFormat::kOther) {
      simple->member = member;
      chosen = std::move(*simple);
    }
  }
  if (!any) return Error{"sub_id (complex): no user, device, session, application, tenant, "
                         "org_unit or group member"};
  if (!chosen) {
    SubjectId other;
    other.format_name = "complex";
    return other;
  }
  chosen->format_name = "complex";
  return std::move(*chosen);
}

Result<SubjectId> parseAliases(const json& sub_id) {
  const auto list = sub_id.find("identifiers");
  if (list == sub_id.end() || !list->is_array() || list->empty()) {
    return Error{"sub_id (aliases): \"identifiers\" missing or not a non-empty array"};
  }
  std::optional<SubjectId> chosen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto simple = parseSimple((*list)[i]);
    if (!simple) {
      return Error{"sub_id (aliases) identifiers[" + std::to_string(i) + "]: " +
                   simple.error().message};
    }
    if (!chosen && simple->format != SubjectFormat::kOther) {
      simple->member = "identifiers[" + std::to_string(i) + "]";
      chosen = std::move(*simple);
    }
  }
  if (!chosen) {
    SubjectId other;
    other.format_name = "aliases";
    return other;
  }
  chosen->format_name = "aliases";
  return std::move(*chosen);
}

// CAEP 1.0 levels are upper-case; a lower-case level is read too, because dropping a
// HIGH risk signal over its spelling would fail open.
std::optional<governance::RiskLevel> caepRiskLevel(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string level = detail::lower(value.get_ref<const std::string&>());
  if (level == "low") return governance::RiskLevel::kLow;
  if (level == "medium") return governance::RiskLevel::kMedium;
  if (level == "high") return governance::RiskLevel::kHigh;
  return std::nullopt;  // CAEP has no "none"
}

std::optional<ChangeType> changeType(std::string_view text) {
  if (text == "create") return ChangeType::kCreate;
  if (text == "revoke") return ChangeType::kRevoke;
  if (text == "update") return ChangeType::kUpdate;
  if (text == "delete") return ChangeType::kDelete;
  return std::nullopt;
}

Result<std::map<std::string, std::string>> languageMap(const json& payload, const char* name) {
  std::map<std::string, std::string> out;
  const auto it = payload.find(name);
  if (it == payload.end() || it->is_null()) return out;
  if (!it->is_object()) return Error{std::string("\"") + name + "\" is not an object"};
  for (const auto& [tag, text] : it->items()) {
    if (!text.is_string()) {
      return Error{std::string("\"") + name + "\" value for \"" + printable(tag) +
                   "\" is not a string"};
    }
    out.emplace(tag, text.get<std::string>());
  }
  return out;
}

// The optional members CAEP defines for every event (§9.2).
Status readCommon(const json& payload, SecurityEvent& out) {
  if (const auto ts = payload.find("event_timestamp"); ts != payload.end()) {
    const auto value = detail::numericDate(*ts);
    if (!value) return Error{"\"event_timestamp\" is not a NumericDate"};
    out.event_timestamp = *value;
  }
  auto initiating = optionalString(payload, "initiating_entity", "event");
  if (!initiating) return initiating.error();
  out.initiating_entity = std::move(*initiating);
  auto admin = languageMap(payload, "reason_admin");
  if (!admin) return admin.error();
  out.reason_admin = std::move(*admin);
  auto user = languageMap(payload, "reason_user");
  if (!user) return user.error();
  out.reason_user = std::move(*user);
  return Status::okStatus();
}

Status readKind(const json& payload, SecurityEvent& out) {
  const std::string where = std::string(eventKindName(out.kind));
  switch (out.kind) {
    case EventKind::kRiskLevelChange: {
      RiskLevelChange risk;
      auto principal = requiredString(payload, "principal", where);
      if (!principal) return principal.error();
      risk.principal = std::move(*principal);
      const auto current = payload.find("current_level");
      if (current == payload.end()) return Error{where + ": \"current_level\" missing"};
      const auto level = caepRiskLevel(*current);
      if (!level) return Error{where + ": \"current_level\" is not LOW, MEDIUM or HIGH"};
      risk.current_level = *level;
      if (const auto previous = payload.find("previous_level"); previous != payload.end()) {
        const auto prev = caepRiskLevel(*previous);
        if (!prev) return Error{where + ": \"previous_level\" is not LOW, MEDIUM or HIGH"};
        risk.previous_level = *prev;
      }
      auto reason = optionalString(payload, "risk_reason", where);
      if (!reason) return reason.error();
      risk.risk_reason = std::move(*reason);
      out.risk_level_change = std::move(risk);
      return Status::okStatus();
    }
    case EventKind::kCredentialChange: {
      CredentialChange change;
      auto type = requiredString(payload, "credential_type", where);
      if (!type) return type.error();
      change.credential_type = std::move(*type);
      auto change_text = requiredString(payload, "change_type", where);
      if (!change_text) return change_text.error();
      const auto parsed = changeType(*change_text);
      if (!parsed) {
        return Error{where + ": \"change_type\" \"" + printable(*change_text) +
                     "\" is not create, revoke, update or delete"};
      }
      change.change_type = *parsed;
      for (const auto& [name, field] :
           {std::pair{"friendly_name", &CredentialChange::friendly_name},
            std::pair{"x509_issuer", &CredentialChange::x509_issuer},
            std::pair{"x509_serial", &CredentialChange::x509_serial},
            std::pair{"fido2_aaguid", &CredentialChange::fido2_aaguid}}) {
        auto value = optionalString(payload, name, where);
        if (!value) return value.error();
        change.*field = std::move(*value);
      }
      out.credential_change = std::move(change);
      return Status::okStatus();
    }
    case EventKind::kTokenClaimsChange: {
      const auto claims = payload.find("claims");
      if (claims == payload.end() || !claims->is_object()) {
        return Error{where + ": \"claims\" missing or not an object"};
      }
      out.token_claims = *claims;
      return Status::okStatus();
    }
    case EventKind::kAccountDisabled: {
      auto reason = optionalString(payload, "reason", where);
      if (!reason) return reason.error();
      out.account_disabled = AccountDisabled{std::move(*reason)};
      return Status::okStatus();
    }
    case EventKind::kCredentialCompromise: {
      auto type = requiredString(payload, "credential_type", where);
      if (!type) return type.error();
      out.credential_compromise = CredentialCompromise{std::move(*type)};
      return Status::okStatus();
    }
    case EventKind::kVerification: {
      StreamVerification verification;
      if (const auto state = payload.find("state"); state != payload.end() && !state->is_null()) {
        if (!state->is_string()) return Error{where + ": \"state\" is not a string"};
        verification.state = state->get<std::string>();
      }
      out.verification = std::move(verification);
      return Status::okStatus();
    }
    case EventKind::kStreamUpdated: {
      StreamUpdated updated;
      auto status = requiredString(payload, "status", where);
      if (!status) return status.error();
      updated.status = std::move(*status);
      auto reason = optionalString(payload, "reason", where);
      if (!reason) return reason.error();
      updated.reason = std::move(*reason);
      out.stream_updated = std::move(updated);
      return Status::okStatus();
    }
    case EventKind::kSessionRevoked:
    case EventKind::kAccountEnabled:
    case EventKind::kAccountPurged:
    case EventKind::kUnknown:
      return Status::okStatus();  // no required members
  }
  return Status::okStatus();
}

}  // namespace

Result<SubjectId> parseSubjectId(const json& sub_id) {
  if (!sub_id.is_object()) return Error{"sub_id: not an object"};
  const auto format = sub_id.find("format");
  if (format != sub_id.end() && format->is_string()) {
    const std::string& name = format->get_ref<const std::string&>();
    if (name == "complex") return parseComplex(sub_id);
    if (name == "aliases") return parseAliases(sub_id);
  }
  return parseSimple(sub_id);
}

Status parseEvents(const json& events, SecurityEvent& out) {
  if (!events.is_object() || events.empty()) return Error{"\"events\" is not a non-empty object"};
  // SSF 1.0 (identity-standards §9.1): one event per SET. Several keys are accepted only
  // when they all name the same event (aliases); the CAEP one is then read.
  const json* payload = nullptr;
  EventKind kind = EventKind::kUnknown;
  std::string uri;
  for (const auto& [key, value] : events.items()) {
    const EventKind this_kind = eventKindFromUri(key);
    if (payload != nullptr) {
      if (this_kind == EventKind::kUnknown || this_kind != kind) {
        return Error{"\"events\" holds " + std::to_string(events.size()) +
                     " events; SSF 1.0 allows one per SET (or aliases of one)"};
      }
      if (key != event_type::kSessionRevoked) continue;  // keep the CAEP alias
    }
    payload = &value;
    kind = this_kind;
    uri = key;
  }
  if (!payload->is_object()) {
    return Error{"event \"" + printable(uri) + "\": payload is not an object"};
  }
  out.event_type = std::move(uri);
  out.kind = kind;
  out.payload = *payload;
  // A type Warden does not understand is ignored whole, its members included (§9.1).
  if (kind == EventKind::kUnknown) return Status::okStatus();
  if (auto st = readCommon(*payload, out); !st) {
    return Error{"event " + std::string(eventKindName(kind)) + ": " + st.message()};
  }
  return readKind(*payload, out);
}

}  // namespace warden::ssf
