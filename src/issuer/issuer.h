// The embedded SPIFFE issuer of one trust domain: what the Workload API serves.
//
// It owns the X.509 and JWT authorities, the registration entries and the federated
// bundles, and answers "what does a caller with these selectors (on this socket) get?".
// X509-SVIDs are cached per entry and re-minted at half their lifetime (SPIRE's agent does
// the same), so every caller of one entry holds the same SVID and rotation is one event.
// Any change (rotation, entries, federated bundles) bumps `generation()`; streams wait on
// it with waitForChange() and recompute the caller's full state (Workload API §4.3: every
// message is the complete state).
// Thread-safety: every member may be called from any thread. A background thread (start)
// runs the rotation schedule.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/result.h"
#include "identity/jwt_svid.h"
#include "identity/spiffe_bundle.h"
#include "issuer/jwt_authority.h"
#include "issuer/registration.h"
#include "issuer/x509_authority.h"

namespace warden::issuer {

struct IssuerOptions {
  std::string trust_domain;
  std::string state_dir;  // empty: in memory only (tests)
  std::chrono::seconds ca_ttl{std::chrono::hours(24)};
  std::chrono::seconds jwt_key_ttl{std::chrono::hours(24)};
  JwtKeyType jwt_key_type = JwtKeyType::kEcP256;
  std::string jwt_issuer;  // `iss` of every JWT-SVID (validateIssuerUrl, common/https_url.h); empty: none
  std::chrono::seconds bundle_refresh_hint{std::chrono::minutes(5)};
  std::chrono::milliseconds tick{std::chrono::seconds(1)};  // rotation schedule resolution
};

struct EntrySvid {
  std::shared_ptr<const RegistrationEntry> entry;
  std::shared_ptr<const IssuedX509Svid> svid;
};

// The complete X.509 state of one caller (FetchX509SVID message).
struct X509State {
  std::vector<EntrySvid> svids;
  std::vector<X509Ref> own_bundle;
  std::map<std::string, std::vector<X509Ref>> federated;  // bare TD -> CAs
};

enum class IssuerErrorKind { kPermissionDenied, kInvalidArgument, kInternal };
struct IssuerError {
  IssuerErrorKind kind;
  std::string message;
};

class Issuer {
 public:
  static Result<std::unique_ptr<Issuer>> create(IssuerOptions options,
                                                std::vector<RegistrationEntry> entries);
  ~Issuer();  // stops the rotation thread

  void start();  // starts the rotation thread (idempotent)

  // Entries a caller may use: selector match, and on a per-workload socket only the entry
  // bound to it. Empty when nothing matches.
  std::vector<std::shared_ptr<const RegistrationEntry>> entriesFor(
      const std::vector<std::string>& selectors, const std::string& socket_path) const;
  // Whether any entry uses unix:sha256 (attestation hashes executables only then).
  bool needsExecutableHash() const;

  Result<X509State> x509State(
      const std::vector<std::shared_ptr<const RegistrationEntry>>& entries);
  // FetchJWTSVID: one token per entry (or only `spiffe_id` when set).
  struct JwtSvidOut {
    std::string spiffe_id;
    std::string token;
    std::string hint;
  };
  std::variant<std::vector<JwtSvidOut>, IssuerError> mintJwtSvids(
      const std::vector<std::shared_ptr<const RegistrationEntry>>& entries,
      const std::vector<std::string>& audiences, const std::string& spiffe_id);
  Result<identity::ValidatedJwtSvid> validateJwtSvid(const std::string& audience,
                                                     const std::string& token) const;

  // Own trust domain plus every federated one.
  std::map<std::string, std::vector<X509Ref>> x509Bundles() const;
  std::map<std::string, identity::SpiffeBundle> jwtBundles() const;
  // The SPIFFE bundle document the bundle endpoint publishes.
  identity::SpiffeBundle ownBundle() const;

  void replaceEntries(std::vector<RegistrationEntry> entries);
  void setFederatedBundle(identity::SpiffeBundle bundle);
  void removeFederatedBundle(const std::string& trust_domain);

  // Runs the rotation schedule once at `now` (the background thread calls this).
  void tick(std::time_t now);
  // Manual CA/key rotation (admin, tests): prepare publishes, activate starts signing.
  Status prepareRotation();
  Status activateRotation();

  std::uint64_t generation() const;
  // Waits until generation() != seen or the deadline passes; returns the generation.
  std::uint64_t waitForChange(std::uint64_t seen,
                              std::chrono::steady_clock::time_point deadline) const;

  const std::string& trustDomain() const { return options_.trust_domain; }
  // The `iss` of every JWT-SVID it mints; empty when none is configured.
  const std::string& jwtIssuer() const { return options_.jwt_issuer; }
  X509Authority& x509Authority() { return *x509_; }
  JwtAuthority& jwtAuthority() { return *jwt_; }

 private:
  explicit Issuer(IssuerOptions options) : options_(std::move(options)) {}
  void bump();
  Result<std::shared_ptr<const IssuedX509Svid>> svidFor(const RegistrationEntry& entry);

  IssuerOptions options_;
  std::unique_ptr<X509Authority> x509_;
  std::unique_ptr<JwtAuthority> jwt_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::uint64_t generation_ = 1;
  std::vector<std::shared_ptr<const RegistrationEntry>> entries_;
  std::map<std::string, std::shared_ptr<const IssuedX509Svid>> svids_;  // entry name -> SVID
  std::map<std::string, identity::SpiffeBundle> federated_;
  bool stopping_ = false;
  std::thread rotation_thread_;
};

}  // namespace warden::issuer
