// The last bearer token one connection presented and what it verified to.
//
// A client on a keep-alive connection sends the same token with every request. Comparing
// its bytes with the last ones is cheaper than the SHA-256 the verified-token cache is
// keyed by (the hash was most of a cache hit's cost: bench/README.md, "Layer 3"). The memo
// misses whenever the cache would: another verifier (a policy swap), the token's `exp`,
// the issuer's key set changing, or a cache clear. It holds a verification, never a
// decision: binding, revocation, roles and claims still run on every request.
// Owned by one connection, used on its thread only: no locking.
#pragma once

#include <cstdint>
#include <string>

#include "token/token_cache.h"

namespace warden::token {

struct TokenMemo {
  std::string token;         // the bytes that verified (memory the connection already holds)
  CachedToken entry;         // null token: empty memo
  std::uint64_t scope = 0;   // the verifier that verified it
  std::uint64_t cache_epoch = 0;
  std::int64_t expires_at_s = 0;  // the token's exp
};

}  // namespace warden::token
