// Verification of a Security Event Token (RFC 8417) as profiled by SSF 1.0, CAEP 1.0 and
// RISC 1.0 (identity-standards §9.1), from configured transmitters.
//
// Trust posture: the SET is attacker-controlled until its signature verifies with a key of
// the transmitter its `iss` names. In order (RFC 8935 §2.4 codes, see set_error.h):
//   1. over kMaxSetBytes, not a strict compact JWS (jose::parseCompact: three parts, JSON
//      objects, no duplicate members, no `crit`) -> invalid_request; alg none -> invalid_key.
//   2. header: `jku`, `x5u`, `jwk` (a SET never chooses its key, RFC 8725 §3.10) and `cty`
//      -> invalid_request; `typ` must be secevent+jwt (or application/secevent+jwt, RFC 7515
//      §4.1.9, case-insensitive): required, §9.1 and §10.6 S2 -> invalid_request. This is
//      what keeps an access token (at+jwt) from passing as a SET (RFC 8417 §2.3).
//   3. `iss` (a string; missing -> invalid_request) selects the transmitter by exact string
//      -> invalid_issuer.
//   4. `alg` must be one the transmitter allows (asymmetric only; jose has no HS* or none)
//      -> invalid_key; `kid` required and in the transmitter's current key set (else one
//      rate-limited refresh request) -> invalid_key; the key must fit the alg -> invalid_key.
//   5. signature -> invalid_key (§10.6 S2).
//   6. only now is the payload the transmitter's word: `sub` or `exp` present (SETs are not
//      access tokens, §9.1 and RFC 8417 §2.3) -> invalid_request; `jti` (<= kMaxJtiBytes),
//      `iat`, `aud` required -> invalid_request; no `aud` value the transmitter's audiences
//      hold -> invalid_audience; `iat` more than clock_skew ahead or more than max_age old
//      -> invalid_request; `txn` and `toe` checked if present; `sub_id` required and
//      `events` must hold one event (event_parser.h) -> invalid_request.
// Unknown event types verify (kind kUnknown); the receiver accepts and ignores them.
// Thread-safety: a SetVerifier is immutable after create(); verify() may be called
// concurrently from any number of threads if the key providers allow it (token::
// KeySetProvider requires that).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "jose/jws.h"
#include "ssf/security_event.h"
#include "ssf/set_error.h"
#include "token/key_set.h"

namespace warden::ssf {

// SETs are small (one event); a body this large is not one.
inline constexpr std::size_t kMaxSetBytes = 16 * 1024;
// A jti is recorded by the ledger; real ones are UUIDs or short random strings.
inline constexpr std::size_t kMaxJtiBytes = 256;

// One transmitter (one SSF stream's issuer), as configured by the receiver's operator.
struct Transmitter {
  std::string issuer;  // exactly the SETs' `iss`
  // Its keys (a JwksSource on the transmitter's jwks_uri, or fixed keys).
  std::shared_ptr<token::KeySetProvider> keys;
  // The algorithms its SETs may use, e.g. {RS256} (the CAEP interop profile), ES256, PS256.
  std::vector<jose::Alg> algorithms;
  // The `aud` values this receiver accepts from it (the stream's `aud`).
  std::vector<std::string> audiences;
};

struct SetVerifierOptions {
  // SETs whose iat is older are refused: a transmitter retrying across an outage of up to
  // a day still gets through, and the jti ledger must remember that long (plus skew).
  std::chrono::seconds max_age{std::chrono::hours(24)};
  // Tolerated clock difference for an iat in the future.
  std::chrono::seconds clock_skew{60};
};

// A verified event or the error that refuses it. (warden::Result carries a message only;
// the transmitter needs the RFC 8935 code too.) Same accessors as warden::Result.
class [[nodiscard]] VerifyResult {
 public:
  VerifyResult(SecurityEvent event) : state_(std::move(event)) {}  // NOLINT: implicit by design
  VerifyResult(SetError error) : state_(std::move(error)) {}       // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const SecurityEvent& value() const& { return std::get<0>(state_); }
  SecurityEvent&& value() && { return std::get<0>(std::move(state_)); }
  const SecurityEvent& operator*() const& { return value(); }
  const SecurityEvent* operator->() const { return &value(); }
  const SetError& error() const { return std::get<1>(state_); }

 private:
  std::variant<SecurityEvent, SetError> state_;
};

class SetVerifier {
 public:
  // Fails when a transmitter has no issuer, no keys, no algorithm or no audience, when two
  // share an issuer, or when the options are not positive.
  static Result<std::unique_ptr<const SetVerifier>> create(std::vector<Transmitter> transmitters,
                                                           SetVerifierOptions options = {});

  VerifyResult verify(std::string_view compact_jws,
                      std::chrono::system_clock::time_point now) const;

  bool knowsIssuer(std::string_view issuer) const;
  // The configured transmitters' issuers, in configuration order.
  std::vector<std::string> issuers() const;
  // How long a verified SET's jti must be remembered: beyond it, a replay is too old.
  std::chrono::seconds acceptanceWindow() const { return options_.max_age + options_.clock_skew; }

 private:
  SetVerifier() = default;
  const Transmitter* find(std::string_view issuer) const;

  std::vector<Transmitter> transmitters_;
  SetVerifierOptions options_;
};

}  // namespace warden::ssf
