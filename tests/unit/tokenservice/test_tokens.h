// Token-minting helpers for the token service's unit tests: a trust domain's JWT-SVID
// authority (in memory), hand-made JWS variants (alg none, HS256 over a public key), and
// an RSA "external issuer".
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "identity/spiffe_bundle.h"
#include "issuer/jwt_authority.h"
#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "tokenservice/token_validation.h"

namespace warden::tokenservice::testing {

inline std::unique_ptr<issuer::JwtAuthority> memoryAuthority(const std::string& td = "example.org") {
  issuer::JwtAuthorityOptions o;
  o.trust_domain = td;
  return std::move(issuer::JwtAuthority::open(o).value());
}

inline std::map<std::string, identity::SpiffeBundle> bundlesOf(const issuer::JwtAuthority& a,
                                                               const std::string& td = "example.org") {
  identity::SpiffeBundle b;
  b.trust_domain = td;
  b.jwt_authorities = a.publishedKeys();
  return {{td, b}};
}

inline std::string b64(const std::string& s) { return jose::base64UrlEncode(s); }

// An unsigned JWS (alg none), built by hand: signCompact refuses to make one.
inline std::string unsecuredJws(const nlohmann::json& claims) {
  return b64(nlohmann::json{{"alg", "none"}}.dump()) + "." + b64(claims.dump()) + ".";
}

// HS256 keyed with the PEM text of a public key: the classic algorithm confusion.
inline std::string hs256WithPublicKey(EVP_PKEY* public_key, const std::string& kid,
                                      const nlohmann::json& claims) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, public_key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  const std::string input =
      b64(nlohmann::json{{"alg", "HS256"}, {"kid", kid}}.dump()) + "." + b64(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return input + "." + b64(std::string(reinterpret_cast<const char*>(mac), mac_len));
}

struct RsaIssuer {
  std::string issuer = "https://token.actions.githubusercontent.com";
  std::string kid = "gh-1";
  jose::PkeyPtr key{EVP_RSA_gen(2048)};

  std::string mint(nlohmann::json claims, const std::string& kid_override = {}) const {
    return jose::signCompact({{"typ", "JWT"}, {"kid", kid_override.empty() ? kid : kid_override}},
                             claims, jose::Alg::kRS256, key.get())
        .value();
  }
  nlohmann::json claims(std::time_t now, const std::string& sub = "repo:octo/app:environment:prod",
                        const std::string& aud = "api://AzureADTokenExchange") const {
    return {{"iss", issuer}, {"sub", sub}, {"aud", aud},
            {"iat", now},    {"nbf", now - 600}, {"exp", now + 300},
            {"jti", "gh-jti"}, {"repository", "octo/app"}};
  }
  ExternalKeySet keySet() const {
    nlohmann::json jwk = nlohmann::json::object();
    EXPECT_TRUE(jose::writePublicJwk(key.get(), jwk).ok());
    jwk["kid"] = kid;
    jwk["alg"] = "RS256";
    jwk["use"] = "sig";
    return parseJwks(nlohmann::json{{"keys", {jwk}}}.dump(), issuer).value();
  }
};

}  // namespace warden::tokenservice::testing
