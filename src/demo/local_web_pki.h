// A throwaway Web PKI for the demo mesh: one ECDSA P-256 CA and one HTTPS server
// certificate naming 127.0.0.1 (IP SAN) and localhost (DNS SAN), for the listeners a
// client verifies per RFC 6125 rather than as SPIFFE SVIDs (the servers' bundle
// endpoints, the OIDC stand-in).
//
// Files in `dir` (created 0700 when missing):
//   ca.pem       the CA certificate: what clients trust (`ca_file`)
//   ca.key       the CA key (0600), kept so an expiring leaf is re-issued under the
//                same CA and clients configured with ca.pem keep working
//   server.pem   the leaf certificate only (the CA is the trust anchor, so a chain would
//                only resend what every client already has)
//   server.key   the leaf key (0600)
// Every file is written to a temporary name created with O_EXCL and the final mode, then
// renamed, so a key is never readable by others, not even for a moment, and a reader never
// sees half a file. Existing files are reused when they still fit together and are valid
// for longer than `min_remaining`; a re-run of the mesh therefore keeps its CA.
//
// Trust posture: the directory belongs to the user running the demo; files found there are
// checked (chain, key match, names, lifetime, key file mode) before reuse, never trusted.
// Thread-safety: free functions; two processes racing on one directory each end with a
// consistent set, though one may replace the other's.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace warden::demo {

struct LocalWebPkiOptions {
  std::chrono::seconds ca_lifetime{std::chrono::hours(24 * 365)};
  std::chrono::seconds leaf_lifetime{std::chrono::hours(24 * 30)};
  // Files expiring sooner than this are replaced.
  std::chrono::seconds min_remaining{std::chrono::hours(24)};
};

struct LocalWebPki {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool ca_created = false;    // false: the CA on disk was reused
  bool leaf_created = false;  // false: the server certificate on disk was reused
};

Result<LocalWebPki> makeLocalWebPki(const std::string& dir, const LocalWebPkiOptions& options = {});

}  // namespace warden::demo
