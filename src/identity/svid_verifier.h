// X509-SVID verification against per-trust-domain bundles (X509-SVID spec §4-§5).
//
// Trust posture: the peer's certificate chain is attacker-controlled. Steps, in order:
//   1. the leaf has exactly one URI SAN, a valid SPIFFE ID with a non-empty path;
//   2. leaf constraints: CA:FALSE, keyUsage present with digitalSignature, and neither
//      keyCertSign nor cRLSign;
//   3. the bundle is chosen by the leaf's trust domain only (roots are never pooled
//      across trust domains; no bundle -> untrusted);
//   4. RFC 5280 path validation (times included) with that bundle as anchors and the rest
//      of the presented chain as untrusted intermediates.
// Authorization (allow-lists) is a separate step done by the caller with IdMatcher.
// Thread-safety: TrustBundleSet is immutable once built and can be shared by threads.
#pragma once

#include <openssl/ossl_typ.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "common/result.h"
#include "identity/spiffe_id.h"

// STACK_OF(X509) expands to `struct stack_st_X509`; ossl_typ.h does not declare it, so
// without this global declaration the uses below would name a new type inside
// warden::identity that no OpenSSL stack converts to.
struct stack_st_X509;

namespace warden::identity {

// Stable reason codes (ARCHITECTURE.md §3) for a refused certificate.
enum class SvidFailure {
  kInvalidSvid,           // SAN/ID/leaf-constraint problems: "invalid_svid"
  kUntrustedCertificate,  // no bundle for the TD, bad chain, expired: "untrusted_certificate"
};
std::string_view toReasonCode(SvidFailure failure);

struct SvidVerifyError {
  SvidFailure failure;
  std::string detail;  // human readable, for logs and audit; never sent to the peer
};

struct VerifiedPeer {
  SpiffeId id;
  std::array<std::uint8_t, 32> cert_sha256{};  // SHA-256 of the leaf DER (RFC 8705 x5t#S256)
  std::time_t not_after = 0;
};

class TrustBundleSet {
 public:
  ~TrustBundleSet();
  TrustBundleSet(const TrustBundleSet&) = delete;
  TrustBundleSet& operator=(const TrustBundleSet&) = delete;

  // trust domain -> PEM text holding one or more CA certificates.
  static Result<std::shared_ptr<const TrustBundleSet>> fromPem(
      const std::map<std::string, std::string>& pem_by_trust_domain);
  // trust domain -> path of a PEM file.
  static Result<std::shared_ptr<const TrustBundleSet>> fromPemFiles(
      const std::map<std::string, std::string>& path_by_trust_domain);

  bool hasTrustDomain(std::string_view trust_domain) const;
  // The trust domains held, sorted (for status reports).
  std::vector<std::string> trustDomains() const;
  // X509_STORE for one trust domain, or nullptr. Owned by this set.
  X509_STORE* storeFor(std::string_view trust_domain) const;

 private:
  TrustBundleSet() = default;
  std::map<std::string, X509_STORE*, std::less<>> stores_;
};

// Verifies `leaf` with `untrusted_chain` (may be null; may contain the leaf itself) at
// time `now` (0 = current time). Never throws.
struct VerifyOutcome {
  bool ok = false;
  VerifiedPeer peer;          // valid when ok
  SvidVerifyError error{SvidFailure::kInvalidSvid, {}};  // valid when !ok
};
VerifyOutcome verifyX509Svid(const TrustBundleSet& bundles, X509* leaf,
                             STACK_OF(X509) * untrusted_chain, std::time_t now = 0);

// Extracts the SPIFFE ID from a certificate's single URI SAN (steps 1 only).
Result<SpiffeId> spiffeIdFromCertificate(X509* cert);

}  // namespace warden::identity
