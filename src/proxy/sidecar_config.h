// The sidecar's own configuration (`warden proxy --config FILE`), as plain structs.
//
// Parsed strictly from YAML (unknown keys are errors; messages name the file, line and
// field path), relative paths resolved against the config file's directory. The target
// policy lives in its own file (policy/policy.h) so it can be reloaded on its own.
// See docs/sidecar.md for the schema. Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace warden::proxy {

struct Endpoint {
  std::string host;  // IP literal (listeners must be IP literals)
  std::uint16_t port = 0;
  std::string str() const;
};

// Either files (standalone mode) or a SPIFFE Workload API endpoint, never both.
struct IdentityConfig {
  // `unix:///path` (identity-standards §4.2); from `identity.workload_api`, or from
  // SPIFFE_ENDPOINT_SOCKET when the config has no identity section. Empty: files.
  std::string workload_api;
  std::string cert_path;  // PEM: leaf first, then intermediates
  std::string key_path;   // PEM private key
  std::map<std::string, std::string> bundle_paths;  // trust domain -> PEM file of CAs
  std::uint32_t poll_interval_ms = 1000;            // how often files are checked for change
};

struct IngressConfig {
  Endpoint listen;
  Endpoint upstream;        // the local app (plain HTTP)
  std::string policy_path;  // target policy (policy/policy.h)
  // Layers 4a/4b in standalone mode (governance/governance.h); empty: not governed.
  std::string governance_path;
};

// How the sidecar authenticates to an OAuth2 token endpoint (identity-standards §7.1, §7.3).
enum class TokenClientAuth {
  kPrivateKeyJwt,  // RFC 7523 client assertion: a JWT-SVID, or signed with the SVID's key
  kTlsClientAuth,  // RFC 8705: the X509-SVID presented on the TLS connection
};
std::string_view toString(TokenClientAuth auth);

// RFC 8693 §3 token type identifiers a subject token file may hold.
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr std::string_view kTokenTypeIdToken = "urn:ietf:params:oauth:token-type:id_token";

// An egress route's `token:` block: obtain an access token for the target's audience and
// attach it as `Authorization: Bearer` (proxy/egress_token.h). The grant is
// client_credentials authenticated with this workload's SVID, or, with subject_token_file,
// an RFC 8693 token exchange of an external OIDC token that the platform keeps in a file.
struct EgressTokenConfig {
  std::string token_endpoint;  // https, or http to a loopback IP literal
  std::string issuer;          // the AS issuer identifier: the assertion's `aud`
  std::string assertion_audience;  // optional override of the assertion's `aud` (Entra FIC)
  std::string resource;            // RFC 8707; at least one of resource and scope
  std::string scope;               // space-separated
  TokenClientAuth client_auth = TokenClientAuth::kPrivateKeyJwt;
  std::string client_id;         // empty: this sidecar's SPIFFE ID
  std::string ca_file;           // roots for the token endpoint; empty: system roots
  std::string server_spiffe_id;  // instead of ca_file: the endpoint's X509-SVID ID
  // Refresh this long before expiry; unset: min(60 s, 20% of the token's lifetime).
  std::optional<std::chrono::milliseconds> refresh_before;
  // Set: the grant is RFC 8693 token exchange with this file's content as the subject token
  // (no client authentication; client_auth, issuer and assertion_audience do not apply).
  std::string subject_token_file;
  std::string subject_token_type{kTokenTypeJwt};

  bool tokenExchange() const { return !subject_token_file.empty(); }
  // "client_credentials" or "token_exchange" (the admin views).
  std::string_view grantName() const;
  // "private_key_jwt", "tls_client_auth", or "none" for token exchange.
  std::string_view clientAuthName() const;
};

struct EgressRoute {
  std::string host;         // Host header (without port), lower-case
  std::string path_prefix;  // optional; segment-aware like policy prefixes
  Endpoint address;         // the target's ingress
  std::string spiffe_id;    // the identity the target must present
  std::string sni;          // optional TLS server name
  std::optional<EgressTokenConfig> token;  // layer 3 credentials for this target
};

struct EgressConfig {
  Endpoint listen;  // must be loopback: the app talks plain HTTP to it
  std::vector<EgressRoute> routes;
};

struct AuditConfig {
  std::string file_path;
  bool to_stdout = false;
};

// `control_plane:`: policy, governance and revocations come from `warden server`, and
// audit events are shipped to it (docs/sidecar.md#control-plane).
struct ControlPlaneConfig {
  std::string url;        // https://host:port of the server's API
  std::string server_id;  // the SPIFFE ID the server must present
  std::string state_dir;  // last good view and the audit spool
  std::chrono::seconds poll_wait{30};
  bool ship_audit = true;
  // How often the sidecar reports its health (POST /api/v1/sidecars/status); the server
  // calls a report stale after three intervals without a new one.
  std::chrono::seconds status_interval{15};
  // Take test calls: requests an administrator asks this sidecar to send through its own
  // egress (docs/sidecar.md#test-calls). Off unless configured.
  bool test_calls = false;
};

struct Limits {
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 0;  // ingress only; 0: unlimited (bodies stream)
  std::uint32_t max_connections = 10000;
};

struct Timeouts {
  std::uint32_t handshake_ms = 5000;
  std::uint32_t header_read_ms = 10000;   // from first byte of a request to end of its header
  std::uint32_t idle_ms = 60000;          // keep-alive idle between requests
  std::uint32_t upstream_connect_ms = 2000;
  std::uint32_t upstream_response_ms = 30000;  // request sent -> response header received
  std::uint32_t body_idle_ms = 60000;          // no progress on a streaming body
};

struct SidecarConfig {
  std::string source_path;
  IdentityConfig identity;
  std::optional<IngressConfig> ingress;
  std::optional<EgressConfig> egress;
  Endpoint admin_listen{"127.0.0.1", 0};
  bool admin_enabled = false;
  AuditConfig audit;
  std::optional<ControlPlaneConfig> control_plane;
  Limits limits;
  Timeouts timeouts;
  std::uint32_t workers = 1;
};

Result<SidecarConfig> parseSidecarConfig(const std::string& yaml_text,
                                         const std::string& source_path);
Result<SidecarConfig> loadSidecarConfig(const std::string& path);

// "127.0.0.1:8443" or "[::1]:8443"; the host must be an IP literal.
Result<Endpoint> parseEndpoint(std::string_view text);

}  // namespace warden::proxy
