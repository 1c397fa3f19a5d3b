// JSON Web Keys (RFC 7517/7518): public EC (P-256/384/521) and RSA keys to and from
// their JWK members, and RFC 7638 thumbprints. Private key material is never written.
// Thread-safety: pure functions; PublicKey is immutable and shareable.
#pragma once

#include <openssl/ossl_typ.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/result.h"

namespace warden::jose {

struct PkeyFree { void operator()(EVP_PKEY* key) const; };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Fills kty and crv/x/y (EC) or n/e (RSA) of `out` from a public or private key.
Status writePublicJwk(EVP_PKEY* key, nlohmann::json& out);
// Reads kty and its members; rejects unknown kty, unknown curves, private members ("d"),
// points not on the curve, and RSA moduli under 2048 bits.
Result<PkeyPtr> readPublicJwk(const nlohmann::json& jwk);
// RFC 7638 thumbprint (SHA-256 over the required members), base64url.
Result<std::string> jwkThumbprint(EVP_PKEY* key);

// A fresh ECDSA P-256 key pair.
PkeyPtr generateP256Key();
// A fresh RSA key pair of `bits` (>= 2048, RFC 7518 §3.3) with e = 65537; null on failure.
PkeyPtr generateRsaKey(unsigned bits);

}  // namespace warden::jose
