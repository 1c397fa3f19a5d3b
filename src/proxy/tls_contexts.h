// TLS contexts built from this workload's X509-SVID and trust bundles.
//
// Verification is ours, not OpenSSL's default: a cert-verify callback runs
// identity::verifyX509Svid (per-trust-domain bundles, SPIFFE leaf rules) and then the
// authorization step that the connection put in the SSL object's ex_data before the
// handshake (the target's allow-list on ingress, the route's expected server ID on
// egress). The outcome is written back to that same HandshakeState so the connection can
// audit exactly why a handshake was refused. Resumption is disabled so every connection
// is verified against the policy in force when it was opened.
// Thread-safety: a TlsContexts is immutable once built and shared by all workers; new
// credentials produce a new TlsContexts (open connections keep the old one alive).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "governance/governance.h"
#include "identity/spiffe_id.h"
#include "identity/svid_verifier.h"
#include "proxy/sidecar_config.h"
#include "token/http_fetch.h"

namespace warden::policy {
class PolicySnapshot;
}

namespace warden::proxy {

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> server;  // ingress: requires client certs
  std::shared_ptr<boost::asio::ssl::context> client;  // egress: presents our SVID
  std::shared_ptr<const identity::TrustBundleSet> bundles;
  identity::SpiffeId own_id;
  std::time_t not_after = 0;
  std::string fingerprint;  // digest of the input files, to detect changes
  // Unique in the process, increasing: later credentials have a larger one. Egress
  // connection pools are keyed by it, so a connection made with one certificate never
  // carries a token bound to another (RFC 8705 §3).
  std::uint64_t generation = 0;
};

// Per-handshake state, owned by the connection, referenced from SSL ex_data.
struct HandshakeState {
  const identity::TrustBundleSet* bundles = nullptr;
  // Ingress: the allow-list. Egress: `expected_peer` must equal the peer ID.
  const policy::PolicySnapshot* policy = nullptr;
  // Ingress: quarantined callers are refused at the handshake (may be null).
  const governance::GovernanceSnapshot* governance = nullptr;
  const std::string* expected_peer = nullptr;

  // Outcome.
  bool verified = false;
  std::string failure_reason;  // policy::reason::* code when refused
  std::string failure_detail;
  std::string peer_id;  // set when the chain verified (even if then not authorized)
  std::optional<identity::VerifiedPeer> peer;  // set when verified
};

// An HTTPS exchange with a server that must present the X509-SVID `expected_id` (the
// token endpoint, the control plane): the sidecar's client context presents our SVID,
// `hs` (which must outlive the exchange) verifies the server's chain with the bundles in
// force, and no host name is checked. `what` names the server in the error.
void expectServerSvid(token::HttpFetchRequest& request, const TlsContexts& tls, HandshakeState& hs,
                      const std::string& expected_id, std::string what);

// Reads cert, key and bundles from disk and builds both contexts.
Result<std::shared_ptr<const TlsContexts>> buildTlsContexts(const IdentityConfig& config);

// In-memory credentials (from the Workload API, or read from files).
struct TlsMaterial {
  std::string cert_chain_pem;  // leaf first
  std::string key_pem;
  std::shared_ptr<const identity::TrustBundleSet> bundles;
  std::string cert_label;  // where they came from, for errors ("identity.cert FILE")
  std::string key_label;
  std::string fingerprint;  // identifies this material, to detect changes
};
Result<std::shared_ptr<const TlsContexts>> buildTlsContextsFromPem(const TlsMaterial& material);

// A digest of the identity files' contents (cheap enough to poll once a second).
std::string identityFingerprint(const IdentityConfig& config);

// Associates `state` with `ssl` for the duration of one handshake.
void attachHandshakeState(SSL* ssl, HandshakeState* state);

// Describes a TLS alert received from the peer ("handshake failure"), or "" if `ec` is
// not one.
std::string describeTlsAlert(const boost::system::error_code& ec);

}  // namespace warden::proxy
