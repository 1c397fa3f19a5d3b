// Layer 3 for one ingress request: the caller's access token from its Authorization
// header, verified (or taken from the verified-token cache), bound to this connection's
// certificate or SPIFFE ID when the policy says so, not revoked, and carrying the roles and
// claims the deciding rule requires. Every check runs on every request, cached token or
// not; only signature verification and claim parsing are skipped on a cache hit.
//
// Trust posture: `authorization` is the client's header, untrusted; `caller` comes from
// this connection's verified handshake; `decision` from the policy snapshot in force.
// Cost on the cache-hit path: a SHA-256 of the token, one cache lookup, the binding and
// role comparisons; no allocation. With the connection's memo and the token it sent last
// time (the common case on keep-alive), a byte comparison replaces the hash and the lookup
// (bench/micro/token_layer_bench.cc).
// Thread-safety: a pure function of its arguments (the verifier and revocation set are
// immutable and shared by all workers).
#pragma once

#include <chrono>
#include <string_view>

#include "policy/decision.h"
#include "token/access_token.h"
#include "token/revocations.h"
#include "token/token_memo.h"

namespace warden::proxy {

struct RequestTokenCheck {
  token::TokenVerdict verdict;  // ok, or the denial to send; .token set when it verified
  bool present = false;         // the request carried an Authorization header of any kind
};

// `revocations` may be null (nothing revoked); `memo` is the connection's, or null.
RequestTokenCheck checkRequestToken(const token::AccessTokenVerifier& verifier,
                                    const token::RevocationSet* revocations,
                                    const policy::Decision& decision,
                                    std::string_view authorization,
                                    const token::CallerBinding& caller,
                                    std::chrono::system_clock::time_point now,
                                    token::TokenMemo* memo = nullptr);

}  // namespace warden::proxy
