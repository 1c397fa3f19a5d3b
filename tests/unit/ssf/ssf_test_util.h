// Keys, key sets and SETs for the ssf unit tests. SETs are signed with jose::signCompact
// where it can express them, and built by hand (base64url of literal parts) where the point
// is a token no correct signer makes (alg none, HS256, a tampered payload).
#pragma once

#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "ssf/security_event.h"
#include "ssf/set_verifier.h"
#include "token/key_set.h"

namespace warden::ssf::testing {

using nlohmann::json;

inline constexpr std::int64_t kNow = 1'700'000'000;
inline std::chrono::system_clock::time_point at(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}
inline const std::string kIssuer = "https://tx.example.com";
inline const std::string kOtherIssuer = "https://tx2.example.com";
inline const std::string kAudience = "https://warden.example.com/ssf";
inline const std::string kSpiffeId = "spiffe://example.org/agent/budget";

struct TestKey {
  std::string kid;
  jose::Alg alg;
  EVP_PKEY* key;  // owned by the pool below

  json jwk() const {
    json out = json::object();
    if (!jose::writePublicJwk(key, out).ok()) return json();
    out["kid"] = kid;
    out["use"] = "sig";
    return out;
  }
};

// Key generation (RSA especially) is slow: each key is made once per process.
inline EVP_PKEY* pooledKey(const std::string& name) {
  static std::map<std::string, jose::PkeyPtr> pool;
  auto& slot = pool[name];
  if (slot == nullptr) {
    slot.reset(name.rfind("rsa", 0) == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  }
  return slot.get();
}

inline TestKey es256(const std::string& kid = "ec-1", const std::string& pool = "p256-a") {
  return TestKey{kid, jose::Alg::kES256, pooledKey(pool)};
}
inline TestKey rs256(const std::string& kid = "rsa-1", const std::string& pool = "rsa-a") {
  return TestKey{kid, jose::Alg::kRS256, pooledKey(pool)};
}
inline TestKey ps256(const std::string& kid = "rsa-1", const std::string& pool = "rsa-a") {
  return TestKey{kid, jose::Alg::kPS256, pooledKey(pool)};
}

inline std::shared_ptr<const token::KeySet> keySet(const std::vector<TestKey>& keys) {
  json list = json::array();
  for (const auto& k : keys) list.push_back(k.jwk());
  auto set = token::KeySet::fromJwks(json{{"keys", list}}.dump());
  return set.ok() ? *set : nullptr;
}

inline json riskEvent(const std::string& level = "HIGH") {
  return json{{std::string(event_type::kRiskLevelChange),
               {{"principal", "USER"}, {"current_level", level}, {"risk_reason", "test"}}}};
}

// A valid SET payload (a CAEP risk-level-change about kSpiffeId) issued at `iat`.
inline json setClaims(std::int64_t iat = kNow - 5, json events = riskEvent()) {
  return json{{"iss", kIssuer},
              {"jti", "set-1"},
              {"iat", iat},
              {"aud", kAudience},
              {"txn", "txn-1"},
              {"sub_id", {{"format", "uri"}, {"uri", kSpiffeId}}},
              {"events", std::move(events)}};
}

inline json setHeader() { return json{{"typ", "secevent+jwt"}}; }

inline std::string mint(const TestKey& key, const json& payload, json header = setHeader()) {
  if (!header.contains("kid")) header["kid"] = key.kid;
  if (header["kid"].is_null()) header.erase("kid");
  auto token = jose::signCompact(header, payload, key.alg, key.key);
  return token.ok() ? *token : std::string("mint failed: ") + token.error().message;
}

inline std::string b64(const std::string& text) { return jose::base64UrlEncode(text); }

// A JWS from literal parts, for shapes no signer produces.
inline std::string rawJws(const json& header, const json& payload, const std::string& signature) {
  return b64(header.dump()) + "." + b64(payload.dump()) + "." + b64(signature);
}

inline std::string hs256(const json& header, const json& payload, const std::string& secret) {
  const std::string input = b64(header.dump()) + "." + b64(payload.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64(std::string(reinterpret_cast<char*>(mac), len));
}

inline Transmitter transmitter(std::shared_ptr<token::KeySetProvider> keys,
                               const std::string& issuer = kIssuer,
                               std::vector<jose::Alg> algs = {jose::Alg::kRS256, jose::Alg::kES256,
                                                              jose::Alg::kPS256}) {
  return Transmitter{issuer, std::move(keys), std::move(algs), {kAudience}};
}

}  // namespace warden::ssf::testing
