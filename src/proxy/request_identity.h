// What the app learns about a request: identity headers set by the sidecar only.
//
// Clients can send anything; every header the app could mistake for a statement by the
// sidecar is removed first (X-Forwarded-SPIFFE-ID, X-Forwarded-Client-Cert,
// X-Request-ID, and any X-Warden-* or X-SPIFFE-*), then set from the verified peer:
//   X-Forwarded-SPIFFE-ID: spiffe://example.org/budget-report
//   X-Forwarded-Client-Cert: By=<this workload>;Hash=<sha256 of peer cert>;URI=<peer>
//   X-Request-ID: <16 hex>   (also in the audit event and on denials)
// and, when layer 3 verified an access token (the Authorization header itself is removed:
// the app never holds a replayable credential):
//   X-Warden-Token-Issuer, X-Warden-Token-Subject, X-Warden-Token-Client-Id,
//   X-Warden-Token-Audience, X-Warden-Token-Roles (comma-separated lists)
// Thread-safety: pure functions; newRequestId() uses a thread-local generator.
#pragma once

#include <array>
#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/header_line.h"
#include "common/token_facts.h"

namespace warden::proxy {

inline constexpr std::string_view kSpiffeIdHeader = "X-Forwarded-SPIFFE-ID";
inline constexpr std::string_view kClientCertHeader = "X-Forwarded-Client-Cert";
inline constexpr std::string_view kRequestIdHeader = "X-Request-ID";

std::string newRequestId();

// The trace-id of a valid W3C traceparent (version 00), or "".
std::string traceIdFrom(std::string_view traceparent);

void stripIdentityHeaders(boost::beast::http::fields& fields);

// The sidecar's own header lines are not inserted into the parsed request (five Beast
// field insertions, each an allocation and a name lookup, per request): they are
// appended, already formatted, to the head as it is written (relayMessage's extra
// fields). Callers strip the client's versions first (stripIdentityHeaders).
//
// appendHeaderLine (common/header_line.h) writes one line; a verified token's
// X-Warden-Token-* lines come prerendered with its facts (appendHeaderLines,
// common/token_facts.h).

std::string clientCertHeader(std::string_view own_id,
                             const std::array<std::uint8_t, 32>& peer_cert_sha256,
                             std::string_view peer_id);

}  // namespace warden::proxy
