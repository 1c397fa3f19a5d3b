// A checked authorization request of the portal's client (`warden-portal`): what
// PortalLogin::checkRequest accepted from GET/POST /oauth2/authorize, safe to redirect to
// (the redirect URI is registered) and to render (every value is bounded and escaped where
// it is rendered). The upstream sign-in keeps one per pending sign-in at an external
// provider and hands it back to PortalLogin::issueCode when the person comes back.
// Thread-safety: a plain value.
#pragma once

#include <string>

namespace warden::controlplane {

struct AuthorizationRequest {
  std::string redirect_uri;
  std::string state;
  std::string code_challenge;  // S256
  std::string nonce;
  std::string scope;
};

}  // namespace warden::controlplane
