// The OAuth 2.0 token service embedded in `warden server` (ARCHITECTURE.md §6;
// docs/token-service.md): an HTTPS listener serving
//   GET  <issuer path>/.well-known/openid-configuration   metadata (metadata.h)
//   GET  /.well-known/oauth-authorization-server<path>    the same document (RFC 8414)
//   GET  <issuer path>/jwks                               access-token keys
//   POST <issuer path>/token                              token_endpoint.h
//
// TLS: the server certificate is the X509-SVID of a registration entry (re-read from the
// issuer at every accept, so rotation needs no restart) or a configured certificate and
// key. The server asks for a client certificate but never requires one: a presented
// certificate is verified after the handshake as an X509-SVID against the issuer's
// bundles in force (own trust domain and federated ones) and used only for
// tls_client_auth; an unverifiable certificate does not fail the handshake (the client
// may be authenticating with private_key_jwt instead).
// Signing keys: an issuer::JwtAuthority of its own (`<state_dir>/token-keys`), rotated on
// a timer with the same prepared -> active -> retired schedule as the JWT-SVID keys.
//
// Trust posture: anyone may connect. Everything a client sends is bounded (handshake and
// request deadlines, header and body limits, a connection cap) and parsed strictly.
// Thread-safety: start() returns a running service with one I/O thread; every public
// member may be called from any thread; the destructor stops and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "issuer/issuer.h"
#include "issuer/jwt_authority.h"
#include "issuer/registration.h"
#include "tokenservice/config.h"
#include "tokenservice/external_keys.h"
#include "tokenservice/token_endpoint.h"

namespace warden::tokenservice {

struct TokenServiceTuning {
  std::chrono::milliseconds rotation_tick{std::chrono::seconds(1)};
  ExternalKeyTiming external_keys;
  std::chrono::seconds leeway{60};
};

struct TokenServiceStats {
  std::uint64_t issued = 0;
  std::uint64_t refused = 0;
};

class TokenService {
 public:
  // `entries` are the identity server's registration entries (for tls.svid); `state_dir`
  // is the server's state directory.
  static Result<std::unique_ptr<TokenService>> start(const TokenServiceConfig& config,
                                                     issuer::Issuer& issuer,
                                                     const std::vector<issuer::RegistrationEntry>& entries,
                                                     const std::string& state_dir,
                                                     TokenServiceTuning tuning = {});
  ~TokenService();
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  std::uint16_t port() const;
  const std::string& issuerIdentifier() const;
  // Swaps agents, audiences, governance and external issuers; requests in flight keep
  // the policy they started with.
  Status replacePolicy(TokenPolicyConfig policy);
  std::shared_ptr<const TokenPolicy> policy() const;
  // The access-token signing keys (manual rotation for admins and tests).
  issuer::JwtAuthority& signingKeys();
  TokenServiceStats stats() const;

  struct Impl;

 private:
  TokenService();
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::tokenservice
