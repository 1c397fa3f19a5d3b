// Bearer tokens for people signed in to the control plane (the portal and the CLI).
//
// Minted after a password check (the bootstrap administrator) and verified on every API
// request: ES256 JWTs (RFC 9068 shape: typ at+jwt, iss, aud, sub, iat, exp, jti, plus
// `warden_role`) signed with keys of their own (`<state_dir>/api-login`, rotated like every
// Warden key ring, issuer/jwt_authority.h), so a token from the token service or a
// JWT-SVID can never pass as a login and sessions survive a server restart.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "controlplane/principal.h"
#include "issuer/jwt_authority.h"

namespace warden::controlplane {

inline constexpr std::string_view kLoginAudience = "warden-api";

class LoginTokens {
 public:
  // `issuer` is the API's base URL (the `iss` of its tokens).
  static Result<std::unique_ptr<LoginTokens>> open(const std::string& state_dir,
                                                   const std::string& trust_domain,
                                                   std::string issuer);
  struct Minted {
    std::string token;
    std::time_t expires_at = 0;
  };
  // `credential_stamp` (local users, local_users.h) goes into the `warden_cred` claim.
  Result<Minted> mint(const std::string& subject, Role role, std::chrono::seconds ttl,
                      std::string_view credential_stamp = {}) const;
  // An OpenID Connect ID token (ES256, same keys and issuer) for the portal's sign-in:
  // iss, sub, aud, iat, exp, auth_time, warden_role and `nonce` when not empty. It is
  // never accepted as a login token (typ JWT, aud the client).
  Result<Minted> mintIdToken(const std::string& subject, Role role, std::string_view audience,
                             std::string_view nonce, std::chrono::seconds ttl) const;
  // The published public keys as a JWK Set (RFC 7517 §5), for /oauth2/jwks.
  std::string jwks() const;
  // The principal a token stands for; an error says why it is refused (never the token).
  Result<Principal> verify(std::string_view token, std::time_t now) const;
  // Rotation tick (keys are rotated on the schedule of issuer::JwtAuthority).
  void rotate(std::time_t now);

 private:
  LoginTokens() = default;
  std::unique_ptr<issuer::JwtAuthority> keys_;
  std::string issuer_;
};

}  // namespace warden::controlplane
