// SPIFFE ID parsing and comparison (SPIFFE-ID spec; docs/sidecar.md describes its use).
//
// Trust posture: input is untrusted (URI SANs of peer certificates, config files). The
// parser is strict: lowercase `spiffe://` prefix only, trust domain [a-z0-9._-]{1,255},
// path segments [A-Za-z0-9._-]+, no empty/dot segments, no trailing slash, whole ID at
// most 2048 bytes. IDs compare byte for byte. Thread-safety: immutable value type.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::identity {

inline constexpr std::size_t kMaxSpiffeIdLength = 2048;
inline constexpr std::size_t kMaxTrustDomainLength = 255;

class SpiffeId {
 public:
  // An empty placeholder (str() == "", no trust domain), so that aggregates holding an ID,
  // such as VerifyOutcome, can be default-constructed. Only parse() makes a real ID.
  SpiffeId() = default;
  static Result<SpiffeId> parse(std::string_view text);

  // The whole ID, e.g. "spiffe://example.org/ns/a".
  const std::string& str() const { return value_; }
  // "example.org"
  std::string_view trustDomain() const;
  // "/ns/a", or "" for a trust-domain ID.
  std::string_view path() const;
  bool hasPath() const { return !path().empty(); }

  friend bool operator==(const SpiffeId& a, const SpiffeId& b) { return a.value_ == b.value_; }

 private:
  SpiffeId(std::string value, std::size_t td_end) : value_(std::move(value)), td_end_(td_end) {}
  std::string value_;
  std::size_t td_end_ = 0;  // index one past the trust domain's last character
};

// Validates a bare trust domain name ("example.org").
Status validateTrustDomain(std::string_view trust_domain);

}  // namespace warden::identity
