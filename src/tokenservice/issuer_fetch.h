// Fetching an external issuer's discovery document and JWKS over HTTPS (OIDC Discovery
// §4; identity-standards §7.6), on the token service's io_context.
//
// Trust posture: the network and the documents are untrusted. TLS 1.2+ with the server
// certificate verified against the system roots (or the issuer's `ca_file`) and the URL's
// host checked per RFC 6125 (DNS-ID, or IP SAN for a literal); no redirects; bounded
// sizes and one deadline per request. The discovery document's `issuer` must equal the
// configured issuer exactly; jwks_uri must be https. Results go into ExternalKeyCache.
// Internal to src/tokenservice.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "common/result.h"
#include "tokenservice/config.h"
#include "tokenservice/external_keys.h"

namespace warden::tokenservice {

inline constexpr std::size_t kMaxIssuerDocumentBytes = 256 * 1024;

// GET `url` (https only); the body of a 200 answer.
boost::asio::awaitable<Result<std::string>> httpsGet(std::string url, std::string ca_file,
                                                     std::chrono::milliseconds timeout);

// Discovery, then JWKS; stores the keys or the failure in `cache`.
boost::asio::awaitable<void> refreshIssuerKeys(ExternalKeyCache& cache,
                                               ExternalIssuerConfig issuer);

}  // namespace warden::tokenservice
