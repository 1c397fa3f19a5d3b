// SPIFFE trust bundles (SPIFFE_Trust_Domain_and_Bundle.md; identity-standards §5.1, §11).
//
// A bundle belongs to exactly one trust domain, which it does not name itself: the name
// travels beside it. Parsing follows the spec's consumer rules: `keys` required (may be
// empty: every key revoked); entries with an unknown `kty` or `use`, and x509-svid entries
// without `x5c`, are ignored; x509-svid entries use the first x5c certificate; a jwt-svid
// entry without `kid` rejects the whole bundle (go-spiffe does the same); duplicate member
// names anywhere reject the document. An entry with a known `use` and `kty` that is
// malformed (bad key members, undecodable x5c, key members that differ from the x5c
// certificate's key, a duplicate jwt-svid kid) rejects the document too: a broken producer
// should leave the last good bundle in place rather than silently drop one CA. EC keys on
// curves other than P-256/384/521 count as an unknown kty. Serialising emits one x5c per CA
// and no kid on x509-svid entries, `spiffe_sequence` and `spiffe_refresh_hint` when set.
// Thread-safety: SpiffeBundle is a value (certificates and keys are shared, immutable).
#pragma once

#include <openssl/ossl_typ.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace warden::identity {

struct JwtAuthority {
  std::string kid;
  std::shared_ptr<EVP_PKEY> key;  // public key; freed with EVP_PKEY_free
};

struct SpiffeBundle {
  std::string trust_domain;  // bare name, e.g. "example.org"
  std::vector<std::shared_ptr<X509>> x509_authorities;
  std::vector<JwtAuthority> jwt_authorities;
  std::optional<std::int64_t> sequence;
  std::optional<std::int64_t> refresh_hint_seconds;

  // Concatenated DER of the X.509 authorities (Workload API `bundle` fields).
  std::string x509Der() const;
  // PEM of the X.509 authorities (TrustBundleSet::fromPem input).
  std::string x509Pem() const;
  // Plain JWKS of the JWT authorities as the Workload API serves it (no `use`, no spiffe_*
  // members; every key has its kid).
  std::string jwtJwks() const;
  // The SPIFFE bundle document (both kinds of keys, `use` set, sequence and hint).
  std::string toJson() const;
  // Same content (keys and certificates), ignoring sequence and hint.
  bool sameKeys(const SpiffeBundle& other) const;
};

inline constexpr std::size_t kMaxBundleBytes = 1024 * 1024;

// Parses a SPIFFE bundle document for `trust_domain`.
Result<SpiffeBundle> parseSpiffeBundle(std::string_view json_text, std::string_view trust_domain);
// Parses a plain JWKS of JWT authorities (Workload API JWTBundlesResponse value; `use`
// not required there).
Result<SpiffeBundle> parseJwtJwks(std::string_view json_text, std::string_view trust_domain);
// Parses concatenated DER certificates (Workload API `bundle`/`federated_bundles` values).
// Empty input is an error (no certificates); callers that accept an empty bundle check
// for it first.
Result<std::vector<std::shared_ptr<X509>>> parseDerCertificates(std::string_view der);
// Parses concatenated PEM certificates.
Result<std::vector<std::shared_ptr<X509>>> parsePemCertificates(std::string_view pem);

}  // namespace warden::identity
