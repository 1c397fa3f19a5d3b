// What a worker needs to serve a request, swapped as a whole.
//
// A Runtime is immutable: the control thread builds a new one when the policy or the
// credentials change and posts it to every worker; an exchange copies the shared_ptr at
// its start and uses that snapshot to the end (and its audit event names its version).
#pragma once

#include <atomic>
#include <chrono>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "audit/audit_sink.h"
#include "identity/spiffe_id.h"
#include "governance/governance.h"
#include "policy/policy.h"
#include "proxy/metrics.h"
#include "proxy/sidecar_config.h"
#include "proxy/tls_contexts.h"
#include "token/access_token.h"
#include "token/revocations.h"

namespace warden::proxy {

class EgressTokens;

struct Runtime {
  std::shared_ptr<const TlsContexts> tls;
  std::shared_ptr<const policy::PolicySnapshot> policy;  // null when there is no ingress
  // Layer 3, built from policy's `token` section; null when the policy requires no token.
  std::shared_ptr<const token::AccessTokenVerifier> token_verifier;
  // Layers 4a/4b; null when this target is not governed (standalone without a file).
  std::shared_ptr<const governance::GovernanceSnapshot> governance;
  // Layer 3 token_revoked (control-plane mode): null while nothing is revoked.
  std::shared_ptr<const token::RevocationSet> revocations;
};

// Process-wide state shared by the workers. Fields are set before the workers start and
// then only read, except the atomics.
struct SharedState {
  SidecarConfig config;
  audit::AuditSink* audit = nullptr;
  SidecarMetrics* metrics = nullptr;
  // Parsed once at startup, so the data plane never parses an address string.
  boost::asio::ip::tcp::endpoint app_endpoint;                  // ingress upstream
  std::vector<boost::asio::ip::tcp::endpoint> route_endpoints;  // egress, by route index
  // Access tokens for egress routes with a `token:` block; null when no route has one.
  const EgressTokens* egress_tokens = nullptr;
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<bool> draining{false};
  // When the governance data was last confirmed current (unix seconds); 0: its age does
  // not count (files are current by definition: the operator edits them).
  std::atomic<std::int64_t> governance_confirmed_unix{0};
};

// How old the governance data is, for GovernanceSnapshot::evaluate().
std::chrono::seconds governanceAge(const SharedState& shared);

}  // namespace warden::proxy
