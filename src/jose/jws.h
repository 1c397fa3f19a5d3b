// JWS compact serialization (RFC 7515) with the rules of RFC 8725 built in.
//
// parseCompact is strict: exactly three base64url parts, header and payload are UTF-8 JSON
// objects with no duplicate member names (nlohmann silently keeps the last one, so this
// uses a SAX check), and a size cap. It does not verify; verify() does, for one algorithm
// chosen by the caller's policy (the header's `alg` is only compared against it, never
// trusted to pick the key type). ES* signatures are raw r||s (RFC 7518 §3.4), never DER.
// `none` and HS* are not supported here at all: parseCompact already refuses `alg: none`,
// an empty signature and any `crit` header (RFC 7515 §4.1.11; we understand no extension).
// Thread-safety: pure functions.
#pragma once

#include <openssl/ossl_typ.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::jose {

enum class Alg { kRS256, kRS384, kRS512, kPS256, kPS384, kPS512, kES256, kES384, kES512 };
std::optional<Alg> algFromName(std::string_view name);
std::string_view algName(Alg alg);
// True when `key` has the type (and, for EC, the curve) `alg` needs.
bool keyFitsAlg(EVP_PKEY* key, Alg alg);

inline constexpr std::size_t kMaxCompactJwsBytes = 16 * 1024;

struct CompactJws {
  nlohmann::json header;   // an object
  nlohmann::json payload;  // an object
  std::string signing_input;  // "<b64 header>.<b64 payload>"
  std::string signature;      // decoded bytes
};

Result<CompactJws> parseCompact(std::string_view token,
                                std::size_t max_bytes = kMaxCompactJwsBytes);

// Verifies `jws.signature` over `jws.signing_input` with `key` for `alg`. Fails when the
// key does not fit the algorithm.
Status verify(const CompactJws& jws, Alg alg, EVP_PKEY* key);

// Signs header+payload (objects; header gets "alg" set from `alg`) with a private key.
Result<std::string> signCompact(nlohmann::json header, const nlohmann::json& payload, Alg alg,
                                EVP_PKEY* private_key);

// Parses a JSON object text rejecting duplicate member names at any depth, nesting deeper
// than 64 levels, invalid UTF-8 and a leading byte order mark. Never throws.
Result<nlohmann::json> parseJsonNoDuplicates(std::string_view text);

}  // namespace warden::jose
