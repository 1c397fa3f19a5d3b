// Why a SET was refused, in the vocabulary the transmitter understands: the error codes of
// RFC 8935 §2.4 (the IANA "Security Event Token Error Codes" registry), plus SSF 1.0's
// `invalid_state` for a verification event whose state does not match (§9.2, §10.6 S4).
//
// Which code for what (identity-standards §9.3, §10.6 S2):
//   invalid_request       the body is not a SET Warden accepts: not application/secevent+jwt,
//                         malformed JWS/JSON, typ not secevent+jwt, a required claim missing
//                         or malformed, `sub` or `exp` present, iat too old or in the
//                         future, not exactly one event, an event payload that does not
//                         conform to its type.
//   invalid_key           the key or algorithm that signed it: alg not allowed for the
//                         issuer (none and HS* never are), kid missing or unknown, no keys
//                         yet, and a signature that does not verify (§10.6 S2: "bad
//                         signature -> invalid_key"; RFC 8935 keeps authentication_failed
//                         for authenticating the transmitter, the HTTP peer).
//   invalid_issuer        `iss` is not a configured transmitter.
//   invalid_audience      no `aud` value is one this receiver accepts from that issuer.
//   authentication_failed the push request's Authorization is missing or matches no
//                         transmitter.
//   access_denied         the Authorization belongs to another transmitter than the SET's
//                         issuer.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace warden::ssf {

enum class SetErrorCode : std::uint8_t {
  kInvalidRequest,
  kInvalidKey,
  kInvalidIssuer,
  kInvalidAudience,
  kAuthenticationFailed,
  kAccessDenied,
  kInvalidState,  // SSF 1.0, not RFC 8935
};

// The wire name: "invalid_request", "invalid_key", ...
std::string_view setErrorName(SetErrorCode code);

struct SetError {
  SetErrorCode err = SetErrorCode::kInvalidRequest;
  // Human-readable, sent to the transmitter. Never holds the SET or a secret; attacker
  // text in it (kid, iss) is truncated and reduced to printable ASCII.
  std::string description;
};

// The RFC 8935 §2.4 failure body: {"err":"<code>","description":"<text>"}.
std::string renderErrorBody(const SetError& error);

}  // namespace warden::ssf
