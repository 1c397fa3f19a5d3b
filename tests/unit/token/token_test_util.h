// Keys, key sets and tokens for the token module's unit tests. Tokens are minted with
// jose::signCompact where it can express them, and by hand (base64url of literal parts)
// where the point is a token no correct signer would make.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "token/access_token.h"
#include "token/key_set.h"

namespace warden::token::testing {

using nlohmann::json;

inline constexpr std::int64_t kNow = 1'700'000'000;
inline std::chrono::system_clock::time_point at(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}
inline const std::string kIssuer = "https://idp.example.com";
inline const std::string kAudience = "api://budget";

struct TestKey {
  std::string kid;
  jose::Alg alg;
  EVP_PKEY* key;  // owned by the static pool below

  json jwk(bool with_alg = false) const {
    json out = json::object();
    if (!jose::writePublicJwk(key, out).ok()) return json();
    out["kid"] = kid;
    out["use"] = "sig";
    if (with_alg) out["alg"] = std::string(jose::algName(alg));
    return out;
  }
};

// Key generation (RSA especially) is slow; every key is made once per process.
inline EVP_PKEY* pooledKey(const std::string& name) {
  static std::map<std::string, jose::PkeyPtr> pool;
  auto& slot = pool[name];
  if (slot == nullptr) {
    if (name.rfind("rsa", 0) == 0) {
      slot.reset(EVP_RSA_gen(2048));
    } else if (name.rfind("p384", 0) == 0) {
      slot.reset(EVP_EC_gen("P-384"));
    } else {
      slot.reset(EVP_EC_gen("P-256"));
    }
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

inline json jwks(const std::vector<TestKey>& keys) {
  json list = json::array();
  for (const auto& k : keys) list.push_back(k.jwk());
  return json{{"keys", list}};
}

inline std::shared_ptr<const KeySet> keySet(const std::vector<TestKey>& keys) {
  auto set = KeySet::fromJwks(jwks(keys).dump());
  return set.ok() ? *set : nullptr;
}

inline json claims(std::int64_t now = kNow) {
  return json{{"iss", kIssuer},      {"sub", "client-1"},  {"aud", kAudience},
              {"client_id", "client-1"}, {"iat", now - 10}, {"exp", now + 600},
              {"jti", "token-1"},    {"roles", {"reader"}}, {"scope", "budget.read budget.list"}};
}

inline std::string mint(const TestKey& key, const json& payload,
                        json header = {{"typ", "at+jwt"}}) {
  if (!header.contains("kid")) header["kid"] = key.kid;
  if (header["kid"].is_null()) header.erase("kid");
  auto token = jose::signCompact(header, payload, key.alg, key.key);
  return token.ok() ? *token : std::string("mint failed: ") + token.error().message;
}

inline std::string b64(const std::string& text) { return jose::base64UrlEncode(text); }

// A token from literal parts, for shapes no signer produces.
inline std::string rawToken(const json& header, const json& payload, const std::string& signature) {
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

inline std::string publicKeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

inline TokenIssuerConfig issuerConfig() {
  TokenIssuerConfig c;
  c.issuer = kIssuer;
  c.jwks_url = kIssuer + "/jwks";
  c.audiences = {kAudience};
  return c;
}

inline TokenRequirements requirements(std::vector<std::string> issuers = {kIssuer}) {
  TokenRequirements r;
  r.issuers = std::move(issuers);
  return r;
}

}  // namespace warden::token::testing
