// The `sub_id` and `events` members of a SET, read into a SecurityEvent.
//
// Trust posture: called by SetVerifier only after the signature, issuer and audience
// verified, so the input is the transmitter's word; it is still checked for shape, since a
// transmitter's bug must not become a wrong action. Every failure here is the
// transmitter's to fix and becomes `invalid_request` (RFC 8935 §2.4: "the Event Payload
// ... does not conform to the event's definition"). Members Warden does not model are
// ignored (identity-standards §9.1) and stay readable in SecurityEvent::payload.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "ssf/security_event.h"

namespace warden::ssf {

// An RFC 9493 subject identifier, or SSF's `complex` form (its first mappable member in
// the order user, device, session, application, tenant, org_unit, group), or `aliases`
// (its first mappable identifier). Formats Warden cannot map give SubjectFormat::kOther;
// a known format without its required members is an error.
Result<SubjectId> parseSubjectId(const nlohmann::json& sub_id);

// Reads the `events` claim into event_type, kind, payload and the kind's fields of `out`.
// SSF 1.0 (identity-standards §9.1): exactly one event, or several keys only when they
// are aliases of one event (RISC sessions-revoked beside CAEP session-revoked).
Status parseEvents(const nlohmann::json& events, SecurityEvent& out);

}  // namespace warden::ssf
