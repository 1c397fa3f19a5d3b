// The sign-ins under way at external providers (upstream_sign_in.h): what the server must
// remember between sending a browser to a provider and the browser coming back to
// /oauth2/callback/<provider>, keyed by the `state` it sent (OIDC Core §3.1.2.1, RFC 6749
// §10.12), with the nonce and PKCE verifier of that request and the portal's own checked
// authorization request.
//
// Life of an entry:
//
//   add() --> pending (ttl, in memory) --take(state)--> gone (single use, whatever the
//                 |                                      outcome of the callback)
//                 +--ttl--> expired --purge on add/take--> gone
//
// The state is 256 random bits (base64url), so it cannot be guessed; the map is bounded, so
// a flood of started sign-ins costs memory up to `max_entries` and then refuses new ones
// (existing ones still complete).
// Thread-safety: all members may be called from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "controlplane/authorization_request.h"

namespace warden::controlplane {

struct PendingUpstream {
  std::string provider;          // the provider's name; the callback must be its own
  std::string nonce;             // sent to the provider; the ID token must carry it
  std::string code_verifier;     // RFC 7636: ours, for the provider's token endpoint
  AuthorizationRequest request;  // the portal's, answered when the provider vouched
  std::time_t expires_at = 0;
};

class PendingUpstreamStore {
 public:
  PendingUpstreamStore(std::size_t max_entries, std::chrono::seconds ttl);

  // Keeps `entry` (its expires_at set from `now`) under a fresh random state; nullopt when
  // full or when no random bytes could be had.
  std::optional<std::string> add(PendingUpstream entry, std::time_t now);
  // Removes the entry of `state` and returns it; nullopt when unknown, already taken or
  // expired.
  std::optional<PendingUpstream> take(std::string_view state, std::time_t now);
  std::size_t size() const;

 private:
  void purgeExpired(std::time_t now);

  const std::size_t max_entries_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, PendingUpstream, std::less<>> entries_;
};

// base64url of `bytes` random bytes from the OpenSSL CSPRNG; "" when it fails.
std::string randomToken(std::size_t bytes = 32);

}  // namespace warden::controlplane
