// What the upstream sign-in (upstream_sign_in.h) needs from an external provider's OpenID
// Provider metadata (OIDC Discovery §3): where to send the browser, where to trade the
// code, and which algorithms its ID tokens may be signed with. The keys themselves come
// from the same document through token::JwksSource.
//
// Trust posture: the document is fetched from the configured discovery URL; it still counts
// only if it names exactly the configured issuer (OIDC Discovery §4.3: otherwise one
// provider's document could speak for another), and its endpoints must pass the rules of
// every Warden fetch (token/fetch_url.h). Algorithms Warden does not verify, `none` and
// the HMAC family (a client secret is not a signing key here) are dropped; a document that
// leaves none is refused.
// Thread-safety: a pure function and plain values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "token/fetch_url.h"

namespace warden::controlplane {

struct ProviderMetadata {
  std::string authorization_endpoint;  // as published (a query is kept, RFC 6749 §3.1)
  token::FetchUrl token_endpoint;
  std::vector<std::string> id_token_algorithms;  // usable advertised ones, in its order
  // RFC 9207: the provider promises `iss` in its authorization responses.
  bool iss_parameter = false;
};

Result<ProviderMetadata> parseProviderMetadata(std::string_view document, std::string_view issuer);

}  // namespace warden::controlplane
