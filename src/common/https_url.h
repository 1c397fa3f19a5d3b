// The URL forms accepted for issuers and their endpoints (RFC 8414 §2, OpenID Connect
// Discovery 1.0 §4): absolute https, a host, no userinfo, query or fragment, and a port,
// if any, read strictly (url_port.h). One parse for Warden's own JWT-SVID issuer, its token
// service and the external issuers it trusts. Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "common/result.h"

namespace warden {

Status validateHttpsUrl(std::string_view url);
// An issuer identifier: a valid https URL with no trailing '/', so that
// `<iss>/.well-known/...` is unambiguous and exact comparisons of `iss` hold.
Status validateIssuerUrl(std::string_view issuer);

}  // namespace warden
