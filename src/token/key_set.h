// One issuer's verification keys, parsed from a JWK Set (RFC 7517 §5), and the interface
// through which verification reads the current set.
//
// Trust posture: the JWKS comes from the configured key source (after TLS and, for
// discovery, the issuer check); its content is still checked: a size cap, at most
// kMaxJwksKeys entries, EC/RSA keys only through jose::readPublicJwk (curve points
// checked, RSA >= 2048 bits, no private members), no duplicate kid. Entries we cannot or
// must not use for signatures are skipped and reported, not fatal: `use` other than `sig`,
// `key_ops` without `verify`, no kid, an unsupported kty or alg (a JWKS may well carry an
// encryption or OKP key beside the signing keys). A set with no usable key is an error, so
// that a broken document never replaces working keys. Header material in tokens (jku, x5u,
// jwk, x5c) never reaches here: keys come only from this set, looked up by kid.
// Thread-safety: KeySet is immutable after parsing and shared read-only across threads
// (EVP_PKEY verification with a per-call context is thread-safe in OpenSSL 3).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::token {

inline constexpr std::size_t kMaxJwksBytes = 256 * 1024;
inline constexpr std::size_t kMaxJwksKeys = 64;
// Real kids are short (Entra: 27 characters, thumbprints: 43); a longer one in a token
// cannot match and is refused without a refetch.
inline constexpr std::size_t kMaxKidBytes = 256;

struct VerificationKey {
  std::string kid;
  std::string kty;                // "RSA" or "EC"
  std::optional<jose::Alg> alg;   // the JWK's `alg`, when published: then the only one
  std::string thumbprint;         // RFC 7638, base64url
  jose::PkeyPtr key;
};

class KeySet {
 public:
  static Result<std::shared_ptr<const KeySet>> fromJwks(std::string_view json_text);

  const VerificationKey* find(std::string_view kid) const;
  const std::vector<VerificationKey>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  // One line per skipped entry, for logs and status.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Unique in the process (never 0): lets a cache tell which set verified an entry
  // without holding the set.
  std::uint64_t generation() const { return generation_; }
  // Same kids, algs and key material (thumbprints), in any order.
  bool sameKeys(const KeySet& other) const;

 private:
  KeySet() = default;
  std::vector<VerificationKey> keys_;
  std::vector<std::string> skipped_;
  std::uint64_t generation_ = 0;
};

// What verification needs from a key source.
// Thread-safety: every member may be called concurrently from any thread; implementations
// must make current() and generation() cheap (they are on the request path).
class KeySetProvider {
 public:
  virtual ~KeySetProvider() = default;
  // The keys in force; nullptr while none have ever been obtained.
  virtual std::shared_ptr<const KeySet> current() const = 0;
  // current()'s generation, or 0 while there is none.
  virtual std::uint64_t generation() const = 0;
  // Asks for the keys to be fetched again soon (an unknown kid). Never blocks; a source
  // rate-limits these.
  virtual void requestRefresh() = 0;
};

// A provider whose keys are set by its owner: tests, benchmarks, and inline keys.
// Thread-safety: all members are safe to call concurrently.
class FixedKeySetProvider final : public KeySetProvider {
 public:
  explicit FixedKeySetProvider(std::shared_ptr<const KeySet> keys = nullptr);
  std::shared_ptr<const KeySet> current() const override { return keys_.load(); }
  std::uint64_t generation() const override { return generation_.load(); }
  void requestRefresh() override { refresh_requests_.fetch_add(1); }

  void set(std::shared_ptr<const KeySet> keys);
  std::uint64_t refreshRequests() const { return refresh_requests_.load(); }

 private:
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> refresh_requests_{0};
};

}  // namespace warden::token
