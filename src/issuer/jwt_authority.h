// Signing keys with rotation: the JWT-SVID keys of one trust domain (JWT-SVID spec;
// identity-standards §3), and, in a second instance with its own `subdir`, the token
// service's access-token keys (src/tokenservice). One rotation scheme for both.
//
// Keys are ECDSA P-256 (ES256, the default) or RSA 2048 (RS256: Microsoft Entra accepts
// only RSA-signed external tokens for workload identity federation, identity-standards
// §8.1; SPIRE's `jwt_key_type` offers the same choice). Each key signs with the algorithm
// of its own type, so after a change of `key_type` the keys already made keep signing as
// before; the new type comes with the next key (the next rotation, or a manual one).
//
// Keys rotate like the CA (x509_authority.h): prepared (published, not signing) at 1/2 of
// the active key's lifetime, active at 3/4; a retired key stays published until every
// token it signed has expired (its retirement + the longest JWT-SVID TTL). The kid is the
// key's RFC 7638 thumbprint, so it is stable across restarts without extra state.
// Persistence: `<state_dir>/<subdir>/<kid>.key` (0600) and `<state_dir>/<subdir>/state.json`.
// Thread-safety: all members may be called from any thread (internally locked).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_bundle.h"
#include "identity/spiffe_id.h"
#include "issuer/key_store.h"
#include "jose/jws.h"

namespace warden::issuer {

enum class JwtKeyType { kEcP256, kRsa2048 };
// "ec-p256" / "rsa-2048" (SPIRE's names for the same key types).
std::string_view jwtKeyTypeName(JwtKeyType type);
std::optional<JwtKeyType> jwtKeyTypeFromName(std::string_view name);
// The JWS algorithm a key of ours signs with: RS256 for RSA, ES256 for P-256.
jose::Alg jwtAlgFor(EVP_PKEY* key);

struct JwtAuthorityOptions {
  std::string trust_domain;
  std::string state_dir;  // empty: in memory only
  std::chrono::seconds key_ttl{std::chrono::hours(24)};
  std::chrono::seconds max_token_ttl{std::chrono::hours(1)};  // how long retired keys stay
  std::string subdir = "jwt";  // under state_dir; one per key ring
  JwtKeyType key_type = JwtKeyType::kEcP256;  // of every key made from now on
  // `iss` of every JWT-SVID mint() makes (the JWT-SVID spec allows it; SPIRE's
  // jwt_issuer); empty: no `iss`.
  std::string issuer;
};

struct MintedJwtSvid {
  std::string token;
  std::time_t expires_at = 0;
};

class JwtAuthority {
 public:
  static Result<std::unique_ptr<JwtAuthority>> open(JwtAuthorityOptions options);

  Result<bool> rotate(std::time_t now);  // true when the published keys changed
  Status prepareNext();
  Status activatePrepared();

  // A JWT-SVID: sub, aud, iat, exp, a random jti and, when configured, iss (the JWT-SVID
  // spec allows extra claims; the jti lets a relying party such as the token service
  // refuse a replay).
  Result<MintedJwtSvid> mint(const identity::SpiffeId& subject,
                             const std::vector<std::string>& audiences,
                             std::chrono::seconds ttl) const;
  // Signs `claims` with the active key (jwtAlgFor(key)); `header` gets kid and alg set.
  Result<std::string> sign(nlohmann::json header, const nlohmann::json& claims) const;
  // Every published key (prepared, active, retired), each with its kid.
  std::vector<identity::JwtAuthority> publishedKeys() const;
  std::string activeKid() const;
  // Every published key with its place in the rotation: "next" (prepared), "active" or
  // "retiring", and when it is expected to leave the published set (a retiring key's drop
  // time; for the others, the end of their active period plus the longest token TTL, as
  // the schedule stands now).
  struct KeyState {
    std::string kid;
    std::string state;
    std::time_t not_after = 0;
  };
  std::vector<KeyState> keyStates() const;
  // Increases with every change of the published keys (persisted).
  std::int64_t sequence() const;

 private:
  struct Key {
    std::string kid;
    PkeyRef key;            // private for active/prepared; public suffices for retired
    std::time_t created = 0;
    std::time_t drop_at = 0;  // retired keys only
  };
  explicit JwtAuthority(JwtAuthorityOptions options) : options_(std::move(options)) {}
  Status load();
  Status persistLocked();
  Result<Key> newKey(std::time_t now) const;
  std::time_t pointInLife(const Key& key, double fraction) const;

  JwtAuthorityOptions options_;
  mutable std::mutex mutex_;
  Key active_;
  std::optional<Key> prepared_;
  std::vector<Key> retired_;
  std::int64_t sequence_ = 1;
};

}  // namespace warden::issuer
