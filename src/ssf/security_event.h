// What a verified Security Event Token (RFC 8417) says, as plain values: the SET envelope,
// the one event it carries (SSF 1.0, identity-standards §9.1), its subject (RFC 9493 / SSF
// `sub_id`) and the fields of the CAEP, RISC and SSF events Warden acts on.
//
// Only SetVerifier fills these in, after the signature, issuer and audience are checked; a
// SecurityEvent therefore is the transmitter's word. Event types Warden does not act on
// still verify and arrive with kind kUnknown and their payload (receivers ignore what
// they do not understand, §9.1). Applying an event (risk, revocation, state) is the
// caller's job. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "governance/agent_facts.h"

namespace warden::ssf {

// Event type URIs (identity-standards §9.2).
namespace event_type {
inline constexpr std::string_view kCaepPrefix =
    "https://schemas.openid.net/secevent/caep/event-type/";
inline constexpr std::string_view kRiscPrefix =
    "https://schemas.openid.net/secevent/risc/event-type/";
inline constexpr std::string_view kSsfPrefix =
    "https://schemas.openid.net/secevent/ssf/event-type/";

inline constexpr std::string_view kSessionRevoked =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
inline constexpr std::string_view kCredentialChange =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
inline constexpr std::string_view kRiskLevelChange =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
inline constexpr std::string_view kTokenClaimsChange =
    "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
inline constexpr std::string_view kAccountDisabled =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
inline constexpr std::string_view kAccountEnabled =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
inline constexpr std::string_view kAccountPurged =
    "https://schemas.openid.net/secevent/risc/event-type/account-purged";
inline constexpr std::string_view kCredentialCompromise =
    "https://schemas.openid.net/secevent/risc/event-type/credential-compromise";
// Deprecated by RISC in favour of CAEP session-revoked; accepted as its alias.
inline constexpr std::string_view kRiscSessionsRevoked =
    "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked";
inline constexpr std::string_view kVerification =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
inline constexpr std::string_view kStreamUpdated =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";
}  // namespace event_type

enum class EventKind : std::uint8_t {
  kUnknown,  // verified, but not a type Warden acts on: the caller ignores it
  kSessionRevoked,        // CAEP (also RISC sessions-revoked)
  kCredentialChange,      // CAEP
  kRiskLevelChange,       // CAEP
  kTokenClaimsChange,     // CAEP
  kAccountDisabled,       // RISC
  kAccountEnabled,        // RISC
  kAccountPurged,         // RISC
  kCredentialCompromise,  // RISC
  kVerification,          // SSF
  kStreamUpdated,         // SSF
};

// kUnknown for a URI not listed above.
EventKind eventKindFromUri(std::string_view uri);
// A short stable name ("session-revoked", ..., "unknown") for logs and metrics.
std::string_view eventKindName(EventKind kind);

// RFC 9493 subject identifier formats (and SSF's), as far as Warden maps them to agents.
enum class SubjectFormat : std::uint8_t {
  kOther,  // a format (or a complex/aliases subject) with nothing Warden can map
  kIssSub,
  kEmail,
  kOpaque,
  kUri,  // a SPIFFE ID arrives as this format
  kDid,
  kPhoneNumber,
  kAccount,
};

struct SubjectId {
  SubjectFormat format = SubjectFormat::kOther;
  // `format` as sent: "iss_sub", ..., or e.g. "complex" / "aliases" (then `format` above is
  // the mapped member's format and `member` says which member it was).
  std::string format_name;
  // For "complex": the member that was mapped ("user", "device", "session", ...); for
  // "aliases": "identifiers[<i>]". Empty for a simple subject.
  std::string member;
  std::string iss;           // iss_sub
  std::string sub;           // iss_sub
  std::string email;         // email
  std::string id;            // opaque
  std::string uri;           // uri, account (acct: URI), did (its `url` member)
  std::string phone_number;  // phone_number
};

// CAEP risk-level-change (CAEP 1.0). CAEP's levels are LOW, MEDIUM and HIGH; it has no
// "none", so RiskLevel::kNone never comes from here.
struct RiskLevelChange {
  std::string principal;  // USER, DEVICE, SESSION, TENANT, ORG_UNIT, GROUP, ...
  governance::RiskLevel current_level = governance::RiskLevel::kLow;
  std::optional<governance::RiskLevel> previous_level;
  std::string risk_reason;  // empty when absent
};

enum class ChangeType : std::uint8_t { kCreate, kRevoke, kUpdate, kDelete };
std::string_view changeTypeName(ChangeType type);

// CAEP credential-change.
struct CredentialChange {
  std::string credential_type;  // password, x509, fido2-platform, ... or an agreed value
  ChangeType change_type = ChangeType::kUpdate;
  std::string friendly_name;  // optional members: empty when absent
  std::string x509_issuer;
  std::string x509_serial;
  std::string fido2_aaguid;
};

// RISC account-disabled.
struct AccountDisabled {
  std::string reason;  // "hijacking", "bulk-account", another value, or empty
};

// RISC credential-compromise.
struct CredentialCompromise {
  std::string credential_type;
};

// SSF verification: the transmitter echoes the `state` the receiver asked for.
struct StreamVerification {
  std::optional<std::string> state;
};

// SSF stream-updated.
struct StreamUpdated {
  std::string status;  // enabled, paused, disabled
  std::string reason;  // empty when absent
};

struct SecurityEvent {
  // The SET (RFC 8417 §2.2).
  std::string issuer;                 // iss
  std::string jti;
  std::int64_t iat = 0;
  std::vector<std::string> audience;  // aud, as a list
  std::optional<std::string> txn;
  std::optional<std::int64_t> toe;    // RFC 8417 time of event, rarely sent
  SubjectId subject;                  // the top-level sub_id

  // The event.
  std::string event_type;  // the URI as sent
  EventKind kind = EventKind::kUnknown;
  nlohmann::json payload = nlohmann::json::object();  // as sent, for members not modelled

  // Optional on every CAEP event (§9.2).
  std::optional<std::int64_t> event_timestamp;
  std::string initiating_entity;  // admin, user, policy, system, or empty
  std::map<std::string, std::string> reason_admin;  // language tag -> text
  std::map<std::string, std::string> reason_user;

  // Exactly the one matching `kind` is set (none for the kinds without fields).
  std::optional<RiskLevelChange> risk_level_change;
  std::optional<CredentialChange> credential_change;
  std::optional<AccountDisabled> account_disabled;
  std::optional<CredentialCompromise> credential_compromise;
  std::optional<nlohmann::json> token_claims;  // token-claims-change `claims` (an object)
  std::optional<StreamVerification> verification;
  std::optional<StreamUpdated> stream_updated;
};

}  // namespace warden::ssf
