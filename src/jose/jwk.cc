#include "jose/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "jose/base64url.h"

namespace warden::jose {
namespace {

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};

// RSA bounds: below 2048 bits is too weak (RFC 7518 §3.3); above 16384 only serves to make
// each verification expensive for whoever publishes the key.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;

struct Curve {
  std::string_view jwk_name;     // RFC 7518 §6.2.1.1
  std::string_view group_name;   // OpenSSL's name for the group
  std::size_t coordinate_bytes;  // RFC 7518 §6.2.1.2: fixed, full width
};
constexpr std::array<Curve, 3> kCurves{{
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
}};

const Curve* curveByJwkName(std::string_view name) {
  for (const Curve& c : kCurves) {
    if (c.jwk_name == name) {
      return &c;
    }
  }
  return nullptr;
}

const Curve* curveOfKey(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &len) != 1) {
    return nullptr;
  }
  const std::string_view name(group, len);
  for (const Curve& c : kCurves) {
    // OpenSSL reports P-256 as "prime256v1"; accept the NIST alias too in case a provider
    // reports that one.
    if (c.group_name == name || c.jwk_name == name) {
      return &c;
    }
  }
  return nullptr;
}

std::string opensslError(std::string_view what) {
  const unsigned long err = ERR_peek_last_error();
  std::string text(what);
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    text += ": ";
    text += buf;
  }
  ERR_clear_error();
  return text;
}

Result<std::string> bnParam(EVP_PKEY* key, const char* name, std::size_t fixed_width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return makeError(opensslError(std::string("cannot read key parameter ") + name));
  }
  BnPtr bn(raw);
  const int needed = BN_num_bytes(bn.get());
  std::size_t width = fixed_width != 0 ? fixed_width : static_cast<std::size_t>(needed);
  if (static_cast<std::size_t>(needed) > width) {
    return makeError(std::string("key parameter ") + name + " wider than its field");
  }
  if (width == 0) {
    width = 1;  // zero is one octet, never the empty string (RFC 7518 §2 Base64urlUInt)
  }
  std::string out(width, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()),
                   static_cast<int>(width)) < 0) {
    return makeError(opensslError("cannot encode key parameter"));
  }
  return out;
}

Result<std::string> requiredB64Member(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return makeError(std::string("JWK member \"") + name + "\" missing or not a string");
  }
  std::optional<std::string> bytes = base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes) {
    return makeError(std::string("JWK member \"") + name + "\" is not valid base64url");
  }
  return std::move(*bytes);
}

Status checkPublic(EVP_PKEY* key) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr) {
    return makeError(opensslError("cannot check key"));
  }
  // For EC this is the full check of RFC 8725 §3.4 / SP 800-56A: on the curve, not the
  // point at infinity, and of the group's order.
  if (EVP_PKEY_public_check(ctx.get()) != 1) {
    return makeError(opensslError("public key fails validation"));
  }
  return {};
}

Result<PkeyPtr> fromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return makeError(opensslError("cannot build key"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 ||
      raw == nullptr) {
    return makeError(opensslError("invalid key"));
  }
  PkeyPtr key(raw);
  if (Status s = checkPublic(key.get()); !s.ok()) {
    return s.error();
  }
  return key;
}

Result<PkeyPtr> readEc(const nlohmann::json& jwk) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) {
    return makeError("EC JWK: \"crv\" missing or not a string");
  }
  const Curve* curve = curveByJwkName(crv->get_ref<const std::string&>());
  if (curve == nullptr) {
    return makeError("EC JWK: unsupported curve \"" + crv->get<std::string>() + "\"");
  }
  Result<std::string> x = requiredB64Member(jwk, "x");
  if (!x) {
    return makeError("EC JWK: " + x.error().message);
  }
  Result<std::string> y = requiredB64Member(jwk, "y");
  if (!y) {
    return makeError("EC JWK: " + y.error().message);
  }
  // RFC 7518 §6.2.1.2-3: the coordinates are the full field width, leading zeros kept.
  if (x->size() != curve->coordinate_bytes || y->size() != curve->coordinate_bytes) {
    return makeError("EC JWK: coordinates must be " + std::to_string(curve->coordinate_bytes) +
                     " bytes for " + std::string(curve->jwk_name));
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  const std::string group(curve->group_name);
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return makeError(opensslError("EC JWK: cannot build key"));
  }
  Result<PkeyPtr> key = fromParams("EC", bld.get());
  if (!key) {
    return makeError("EC JWK: " + key.error().message);
  }
  return key;
}

Result<PkeyPtr> readRsa(const nlohmann::json& jwk) {
  Result<std::string> n = requiredB64Member(jwk, "n");
  if (!n) {
    return makeError("RSA JWK: " + n.error().message);
  }
  Result<std::string> e = requiredB64Member(jwk, "e");
  if (!e) {
    return makeError("RSA JWK: " + e.error().message);
  }
  // Leading zero octets are tolerated although RFC 7518 §6.3.1.1 says minimal: they do not
  // change the key (go-jose and WebCrypto accept them too), and thumbprints are computed
  // from the key, not from this text. The size bound keeps BN work small.
  if (n->empty() || e->empty() || n->size() > kMaxRsaBits / 8 + 1 || e->size() > 8) {
    return makeError("RSA JWK: \"n\" or \"e\" has an impossible length");
  }
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                       static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                       static_cast<int>(e->size()), nullptr));
  if (bn_n == nullptr || bn_e == nullptr) {
    return makeError(opensslError("RSA JWK: cannot read n/e"));
  }
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits) {
    return makeError("RSA JWK: modulus of " + std::to_string(bits) +
                     " bits; at least 2048 required");
  }
  if (bits > kMaxRsaBits) {
    return makeError("RSA JWK: modulus of " + std::to_string(bits) + " bits is too large");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return makeError(opensslError("RSA JWK: cannot build key"));
  }
  Result<PkeyPtr> key = fromParams("RSA", bld.get());
  if (!key) {
    return makeError("RSA JWK: " + key.error().message);
  }
  return key;
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Status writePublicJwk(EVP_PKEY* key, nlohmann::json& out) {
  if (key == nullptr) {
    return makeError("no key");
  }
  // operator[] below would throw on an array or a scalar.
  if (!out.is_null() && !out.is_object()) {
    return makeError("JWK output is not a JSON object");
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      const Curve* curve = curveOfKey(key);
      if (curve == nullptr) {
        return makeError("EC key on a curve JWK cannot carry here (P-256/384/521 only)");
      }
      // Read as integers rather than the encoded point so that a key held in compressed
      // form still yields both coordinates.
      Result<std::string> x = bnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, curve->coordinate_bytes);
      if (!x) {
        return x.error();
      }
      Result<std::string> y = bnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, curve->coordinate_bytes);
      if (!y) {
        return y.error();
      }
      out["kty"] = "EC";
      out["crv"] = std::string(curve->jwk_name);
      out["x"] = base64UrlEncode(*x);
      out["y"] = base64UrlEncode(*y);
      return {};
    }
    case EVP_PKEY_RSA: {
      Result<std::string> n = bnParam(key, OSSL_PKEY_PARAM_RSA_N, 0);
      if (!n) {
        return n.error();
      }
      Result<std::string> e = bnParam(key, OSSL_PKEY_PARAM_RSA_E, 0);
      if (!e) {
        return e.error();
      }
      out["kty"] = "RSA";
      out["n"] = base64UrlEncode(*n);
      out["e"] = base64UrlEncode(*e);
      return {};
    }
    default:
      return makeError("key type has no JWK form here (EC and RSA only)");
  }
}

Result<PkeyPtr> readPublicJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) {
    return makeError("JWK is not a JSON object");
  }
  // A published key with private members is a leak at the producer; refusing it keeps us
  // from ever holding (or re-publishing) that material. RSA's CRT members imply "d".
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(secret)) {
      return makeError(std::string("JWK carries private member \"") + secret + "\"");
    }
  }
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) {
    return makeError("JWK: \"kty\" missing or not a string");
  }
  const std::string& type = kty->get_ref<const std::string&>();
  if (type == "EC") {
    return readEc(jwk);
  }
  if (type == "RSA") {
    return readRsa(jwk);
  }
  return makeError("JWK: unsupported kty \"" + type + "\"");
}

Result<std::string> jwkThumbprint(EVP_PKEY* key) {
  nlohmann::json members = nlohmann::json::object();
  if (Status s = writePublicJwk(key, members); !s.ok()) {
    return s.error();
  }
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace. nlohmann's
  // default object is an ordered std::map and dump() without indent emits no whitespace;
  // the values are base64url and fixed names, so no escaping can differ.
  const std::string canonical = members.dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return makeError(opensslError("SHA-256 failed"));
  }
  return base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

PkeyPtr generateP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) {
    ERR_clear_error();
  }
  return key;
}

PkeyPtr generateRsaKey(unsigned bits) {
  if (bits < 2048) {
    return nullptr;
  }
  // EVP_RSA_gen uses e = 65537.
  PkeyPtr key(EVP_RSA_gen(bits));
  if (key == nullptr) {
    ERR_clear_error();
  }
  return key;
}

}  // namespace warden::jose
