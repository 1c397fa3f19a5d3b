// The X.509 signing authority of one trust domain: CA keys and certificates, rotation, and
// X509-SVID issuance (X509-SVID spec §4-§5; identity-standards §2).
//
// Rotation keeps trust continuous: a CA moves through
//   prepared (published in the bundle, not signing) -> active (signing) -> retired
//   (published until it expires, since SVIDs it signed still chain to it) -> dropped.
// With the default schedule the next CA is prepared at 1/2 of the active CA's lifetime and
// activated at 3/4, so it has been in every bundle for a quarter of a CA lifetime before
// its first SVID appears (the federation spec asks for 3-5 refresh hints). SVIDs never
// outlive the CA that signs them.
// Persistence: `<state_dir>/x509/{active,prepared,retired}.{key,pem}` (keys 0600), plus the
// bundle sequence number, so a restart keeps trust and never reuses a sequence.
// Trust posture: inputs are the issuer's own config and registration entries.
// Thread-safety: all members may be called from any thread (internally locked).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_id.h"
#include "issuer/key_store.h"

namespace warden::issuer {

struct X509AuthorityOptions {
  std::string trust_domain;
  std::string state_dir;  // empty: keys live in memory only (tests)
  std::chrono::seconds ca_ttl{std::chrono::hours(24)};
  // Fractions of the active CA's lifetime at which the next CA is prepared / activated.
  double prepare_at = 0.5;
  double activate_at = 0.75;
};

struct IssuedX509Svid {
  std::vector<X509Ref> chain;  // leaf first (Warden's CA is a root: the chain is the leaf)
  PkeyRef key;
  // When it was minted. notBefore is backdated (clock skew), so it does not say this.
  std::time_t issued_at = 0;
  std::time_t not_after = 0;
  // The instant half of its lifetime *from issuance* has passed: when to re-mint it.
  std::time_t halfLife() const { return issued_at + (not_after - issued_at) / 2; }
};

class X509Authority {
 public:
  static Result<std::unique_ptr<X509Authority>> open(X509AuthorityOptions options);

  // Advances the rotation schedule to `now`; true when the published bundle changed.
  Result<bool> rotate(std::time_t now);
  // Manual steps (admin and tests): prepare a next CA (published at once), activate it.
  Status prepareNext();
  Status activatePrepared();

  // A fresh P-256 key and an X509-SVID for `id`, valid for `ttl` (capped at the CA's end).
  Result<IssuedX509Svid> issue(const identity::SpiffeId& id, std::chrono::seconds ttl,
                               const std::vector<std::string>& dns_names) const;

  // Every CA a peer may need: prepared, active and retired (unexpired).
  std::vector<X509Ref> bundle() const;
  std::int64_t sequence() const;
  X509Ref activeCertificate() const;
  const std::string& trustDomain() const { return options_.trust_domain; }

 private:
  struct Ca {
    X509Ref cert;
    PkeyRef key;
  };
  explicit X509Authority(X509AuthorityOptions options) : options_(std::move(options)) {}
  Status load();
  Status persistLocked();
  Result<Ca> mintCa(std::time_t now) const;

  X509AuthorityOptions options_;
  mutable std::mutex mutex_;
  Ca active_;
  std::optional<Ca> prepared_;
  std::vector<Ca> retired_;
  std::int64_t sequence_ = 1;
};

// The instant `fraction` of the way through `cert`'s validity period.
std::time_t lifetimePoint(X509* cert, double fraction);
std::time_t notAfter(X509* cert);

}  // namespace warden::issuer
