#include "ssf/security_event.h"

#include <array>
#include <utility>

namespace warden::ssf {
namespace {

// RISC sessions-revoked maps to the CAEP kind that replaced it.
constexpr std::array<std::pair<std::string_view, EventKind>, 11> kKinds{{
    {event_type::kSessionRevoked, EventKind::kSessionRevoked},
    {event_type::kRiscSessionsRevoked, EventKind::kSessionRevoked},
    {event_type::kCredentialChange, EventKind::kCredentialChange},
    {event_type::kRiskLevelChange, EventKind::kRiskLevelChange},
    {event_type::kTokenClaimsChange, EventKind::kTokenClaimsChange},
    {event_type::kAccountDisabled, EventKind::kAccountDisabled},
    {event_type::kAccountEnabled, EventKind::kAccountEnabled},
    {event_type::kAccountPurged, EventKind::kAccountPurged},
    {event_type::kCredentialCompromise, EventKind::kCredentialCompromise},
    {event_type::kVerification, EventKind::kVerification},
    {event_type::kStreamUpdated, EventKind::kStreamUpdated},
}};

}  // namespace

EventKind eventKindFromUri(std::string_view uri) {
  for (const auto& [known, kind] : kKinds) {
    if (known == uri) return kind;
  }
  return EventKind::kUnknown;
}

std::string_view eventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kUnknown:
      return "unknown";
    case EventKind::kSessionRevoked:
      return "session-revoked";
    case EventKind::kCredentialChange:
      return "credential-change";
    case EventKind::kRiskLevelChange:
      return "risk-level-change";
    case EventKind::kTokenClaimsChange:
      return "token-claims-change";
    case EventKind::kAccountDisabled:
      return "account-disabled";
    case EventKind::kAccountEnabled:
      return "account-enabled";
    case EventKind::kAccountPurged:
      return "account-purged";
    case EventKind::kCredentialCompromise:
      return "credential-compromise";
    case EventKind::kVerification:
      return "verification";
    case EventKind::kStreamUpdated:
      return "stream-updated";
  }
  return "unknown";
}

std::string_view changeTypeName(ChangeType type) {
  switch (type) {
    case ChangeType::kCreate:
      return "create";
    case ChangeType::kRevoke:
      return "revoke";
    case ChangeType::kUpdate:
      return "update";
    case ChangeType::kDelete:
      return "delete";
  }
  return "update";
}

}  // namespace warden::ssf
