// JWT-SVID validation (JWT-SVID spec; identity-standards §3, §10.3, §11).
//
// Trust posture: the token is attacker-controlled. The rules, in order: compact JWS only,
// parsed strictly (jose::parseCompact); `alg` one of RS/PS/ES 256/384/512 (never none, HS*
// or EdDSA); `typ`, if present, JWT or JOSE; `kid` required; any other header member
// (jku, x5u, jwk, x5c, crit...) rejected, never followed; `sub` a SPIFFE ID; the key looked
// up by kid in the bundle of `sub`'s trust domain only; the key must fit the alg; then the
// signature, then `exp` (required) and `nbf` with the leeway, then `aud` (string or array)
// must contain the expected audience.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "identity/spiffe_bundle.h"
#include "identity/spiffe_id.h"

namespace warden::identity {

struct ValidatedJwtSvid {
  SpiffeId spiffe_id;
  nlohmann::json claims;  // the verified payload
};

struct JwtSvidCheck {
  std::string audience;  // must be in `aud`
  std::time_t now = 0;   // 0: current time
  std::chrono::seconds leeway{60};
};

// `bundles`: trust domain (bare) -> bundle holding JWT authorities.
Result<ValidatedJwtSvid> validateJwtSvid(std::string_view token,
                                         const std::map<std::string, SpiffeBundle>& bundles,
                                         const JwtSvidCheck& check);

}  // namespace warden::identity
