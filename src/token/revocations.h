// Revoked access tokens (layer 3, `token_revoked`): "tokens of subject S issued before T",
// as the control plane distributes them (a CAEP session-revoked or credential-change
// event, docs/control-plane.md#shared-signals).
//
// A token is revoked when its `sub`, its client id (azp / appid / client_id) or its actor
// (`act.sub`, a delegated call made by the revoked agent) is a revoked subject and its
// `iat` is before that subject's cut-off. A token without a usable `iat` cannot show it
// was issued after the cut-off and is revoked too (fail closed). Subjects are compared
// byte for byte, whatever the token's issuer.
//
// Cost on the request path: the sidecar holds no set at all while nothing is revoked (a
// null pointer check); otherwise up to three hash lookups by string_view, no allocation
// unless the token is denied.
// Thread-safety: immutable after build(); shared by every worker.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "token/access_token.h"

namespace warden::token {

namespace reason {
inline constexpr std::string_view kTokenRevoked = "token_revoked";
}  // namespace reason

struct Revocation {
  std::string subject;
  std::int64_t issued_before = 0;  // Unix seconds: tokens with iat < this are revoked
};

class RevocationSet {
 public:
  // nullptr when `revocations` is empty. Several entries for one subject keep the latest
  // cut-off (it revokes everything the earlier ones do).
  static std::shared_ptr<const RevocationSet> build(const std::vector<Revocation>& revocations);

  std::size_t size() const { return cutoff_.size(); }
  // The cut-off for `subject`, if it is revoked.
  std::optional<std::int64_t> issuedBefore(std::string_view subject) const;
  // A 401 token_revoked verdict carrying `token` when it is revoked; nullopt otherwise.
  std::optional<TokenVerdict> check(const std::shared_ptr<const VerifiedToken>& token) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> cutoff_;
};

}  // namespace warden::token
