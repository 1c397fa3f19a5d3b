// The stable decision vocabulary (ARCHITECTURE.md §3): layer, reason code, HTTP status.
//
// Reason codes are string_views into static storage and rule ids point into the compiled
// PolicySnapshot, so building a Decision never allocates; the request keeps its snapshot
// alive for as long as it holds the Decision. Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

namespace warden::policy {

enum class Layer : std::uint8_t { kTransport, kRisk, kTags, kRbac, kToken, kProxy };
std::string_view toString(Layer layer);  // "transport", "risk", "tags", "rbac", "token", "proxy"

namespace reason {
inline constexpr std::string_view kAllowed = "allowed";
inline constexpr std::string_view kPeerNotAllowed = "peer_not_allowed";
inline constexpr std::string_view kUntrustedCertificate = "untrusted_certificate";
inline constexpr std::string_view kInvalidSvid = "invalid_svid";
inline constexpr std::string_view kHandshakeFailed = "handshake_failed";    // no/odd TLS client
inline constexpr std::string_view kHandshakeTimeout = "handshake_timeout";
// No SVID yet (Workload API not answered) or the last one expired: fail closed.
inline constexpr std::string_view kIdentityUnavailable = "identity_unavailable";
inline constexpr std::string_view kNoCallerPolicy = "no_caller_policy";
inline constexpr std::string_view kRuleDenied = "rule_denied";
inline constexpr std::string_view kNoMatchingRule = "no_matching_rule";
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kInvalidPath = "invalid_path";
inline constexpr std::string_view kNoRoute = "no_route";
inline constexpr std::string_view kUpstreamUnavailable = "upstream_unavailable";
inline constexpr std::string_view kUpstreamTimeout = "upstream_timeout";
inline constexpr std::string_view kUpstreamIdentityMismatch = "upstream_identity_mismatch";
inline constexpr std::string_view kHandshakeRefused = "handshake_refused";
inline constexpr std::string_view kRequestTimeout = "request_timeout";
inline constexpr std::string_view kPayloadTooLarge = "payload_too_large";
inline constexpr std::string_view kHeadersTooLarge = "headers_too_large";
// Egress: the route needs an access token and none is held (not fetched yet, or expired
// while the token endpoint fails).
inline constexpr std::string_view kTokenUnavailable = "token_unavailable";
}  // namespace reason

struct Decision {
  bool allowed = false;
  Layer layer = Layer::kRbac;
  std::string_view reason;   // one of policy::reason::*
  std::uint16_t status = 403;  // HTTP status when denied; 0 when allowed
  std::string_view rule_id;  // id of the rule that decided; empty if none
  // Layer 3 roles the deciding rule requires (all of); points into the snapshot.
  const std::vector<std::string>* required_roles = nullptr;
  // Layer 3 claims the deciding rule requires (name, value); points into the snapshot.
  const std::vector<std::pair<std::string, std::string>>* required_claims = nullptr;

  static Decision allow(Layer layer, std::string_view rule_id) {
    return Decision{true, layer, reason::kAllowed, 0, rule_id, nullptr, nullptr};
  }
  static Decision deny(Layer layer, std::string_view why, std::uint16_t status,
                       std::string_view rule_id = {}) {
    return Decision{false, layer, why, status, rule_id, nullptr, nullptr};
  }
};

}  // namespace warden::policy
