#include "jose/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>
#include <set>
#include <vector>

#include "jose/base64url.h"

namespace warden::jose {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// Nesting deeper than this is refused: no JOSE header, JWT claim set or JWK Set needs it,
// and it bounds the recursion of anything that later walks or dumps the value.
constexpr int kMaxJsonDepth = 64;

enum class Family { kRsaPkcs1, kRsaPss, kEcdsa };

struct AlgInfo {
  Alg alg;
  std::string_view name;
  Family family;
  const EVP_MD* (*md)();
  std::string_view ec_group;      // OpenSSL group name, ES* only
  std::size_t ec_scalar_bytes;    // RFC 7518 §3.4: width of r and of s
};

constexpr std::array<AlgInfo, 9> kAlgs{{
    {Alg::kRS256, "RS256", Family::kRsaPkcs1, &EVP_sha256, "", 0},
    {Alg::kRS384, "RS384", Family::kRsaPkcs1, &EVP_sha384, "", 0},
    {Alg::kRS512, "RS512", Family::kRsaPkcs1, &EVP_sha512, "", 0},
    {Alg::kPS256, "PS256", Family::kRsaPss, &EVP_sha256, "", 0},
    {Alg::kPS384, "PS384", Family::kRsaPss, &EVP_sha384, "", 0},
    {Alg::kPS512, "PS512", Family::kRsaPss, &EVP_sha512, "", 0},
    {Alg::kES256, "ES256", Family::kEcdsa, &EVP_sha256, "prime256v1", 32},
    {Alg::kES384, "ES384", Family::kEcdsa, &EVP_sha384, "secp384r1", 48},
    {Alg::kES512, "ES512", Family::kEcdsa, &EVP_sha512, "secp521r1", 66},
}};

const AlgInfo& infoOf(Alg alg) {
  for (const AlgInfo& info : kAlgs) {
    if (info.alg == alg) {
      return info;
    }
  }
  return kAlgs[0];  // unreachable: the table covers every enumerator
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

const unsigned char* bytesOf(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// RFC 7518 §3.4: the JWS form is r||s, each left-padded to the curve's scalar width.
// OpenSSL speaks DER ECDSA-Sig-Value, hence the conversions both ways.
Result<std::string> rawToDer(std::string_view raw, std::size_t width) {
  if (raw.size() != 2 * width) {
    return makeError("ECDSA signature must be " + std::to_string(2 * width) +
                     " bytes (raw r||s), got " + std::to_string(raw.size()));
  }
  BnPtr r(BN_bin2bn(bytesOf(raw), static_cast<int>(width), nullptr));
  BnPtr s(BN_bin2bn(bytesOf(raw) + width, static_cast<int>(width), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return makeError(opensslError("cannot build ECDSA signature"));
  }
  // ECDSA_SIG_set0 took ownership.
  static_cast<void>(r.release());
  static_cast<void>(s.release());
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) {
    return makeError(opensslError("cannot encode ECDSA signature"));
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> derToRaw(std::string_view der, std::size_t width) {
  const unsigned char* p = bytesOf(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr || p != bytesOf(der) + der.size()) {
    return makeError(opensslError("signer produced an unreadable ECDSA signature"));
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * width, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, dst, static_cast<int>(width)) < 0 ||
      BN_bn2binpad(s, dst + width, static_cast<int>(width)) < 0) {
    return makeError("ECDSA signature wider than the curve");
  }
  return out;
}

// Sets padding for the RSA families on a DigestSign/DigestVerify context.
Status configureRsa(EVP_PKEY_CTX* pctx, const AlgInfo& info) {
  if (info.family == Family::kRsaPss) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, info.md()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return makeError(opensslError("cannot set RSA-PSS parameters"));
    }
  } else if (info.family == Family::kRsaPkcs1) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return makeError(opensslError("cannot set RSA PKCS#1 padding"));
    }
  }
  return {};
}

// nlohmann quotes the offending input in its messages. That input is attacker text headed
// for logs and audit records, so only printable ASCII survives, and not too much of it.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxChars = 200;
  std::string out(text.substr(0, kMaxChars));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7E) {
      c = '?';
    }
  }
  if (text.size() > kMaxChars) {
    out += "...";
  }
  return out;
}

// SAX handler that checks what the DOM parser cannot see (duplicate member names, depth)
// while nlohmann validates the grammar and UTF-8. Building the DOM is a second pass over
// the same text; both are bounded by the callers' size caps.
class StrictnessCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return enter();
  }
  bool key(string_t& name) override {
    if (!keys_.back().insert(name).second) {
      error_ = "duplicate member name \"" + printable(name) + "\"";
      return false;
    }
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    error_ = "invalid JSON at byte " + std::to_string(position) + ": " + printable(ex.what());
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > kMaxJsonDepth) {
      error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    return true;
  }
  std::vector<std::set<std::string>> keys_;
  int depth_ = 0;
  std::string error_;
};

}  // namespace

std::optional<Alg> algFromName(std::string_view name) {
  for (const AlgInfo& info : kAlgs) {
    if (info.name == name) {
      return info.alg;
    }
  }
  return std::nullopt;
}

std::string_view algName(Alg alg) { return infoOf(alg).name; }

bool keyFitsAlg(EVP_PKEY* key, Alg alg) {
  if (key == nullptr) {
    return false;
  }
  const AlgInfo& info = infoOf(alg);
  if (info.family == Family::kEcdsa) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
      return false;
    }
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
      ERR_clear_error();
      return false;
    }
    return std::string_view(group, len) == info.ec_group;
  }
  // RFC 7518 §3.3/§3.5: RSA keys of at least 2048 bits for both RSA families.
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048;
}

Result<nlohmann::json> parseJsonNoDuplicates(std::string_view text) {
  // RFC 8259 §8.1 lets a parser ignore a byte order mark, and nlohmann does; a JOSE or
  // bundle producer never writes one, so it is treated as what it is: not JSON.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return makeError("JSON text starts with a byte order mark");
  }
  try {
    StrictnessCheck check;
    if (!nlohmann::json::sax_parse(text, &check)) {
      return makeError(check.error().empty() ? std::string("invalid JSON") : check.error());
    }
    nlohmann::json value = nlohmann::json::parse(text);
    if (!value.is_object()) {
      return makeError("JSON text is not an object");
    }
    return value;
  } catch (const nlohmann::json::exception& ex) {
    return makeError("invalid JSON: " + printable(ex.what()));
  }
}

Result<CompactJws> parseCompact(std::string_view token, std::size_t max_bytes) {
  if (token.size() > max_bytes) {
    return makeError("JWS of " + std::to_string(token.size()) + " bytes exceeds the limit of " +
                     std::to_string(max_bytes));
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return makeError("JWS compact serialization must have exactly three parts");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);

  std::optional<std::string> header_text = base64UrlDecode(header_b64);
  if (!header_text) {
    return makeError("JWS header is not valid base64url");
  }
  std::optional<std::string> payload_text = base64UrlDecode(payload_b64);
  if (!payload_text) {
    return makeError("JWS payload is not valid base64url");
  }
  std::optional<std::string> signature = base64UrlDecode(signature_b64);
  if (!signature) {
    return makeError("JWS signature is not valid base64url");
  }

  Result<nlohmann::json> header = parseJsonNoDuplicates(*header_text);
  if (!header) {
    return makeError("JWS header: " + header.error().message);
  }
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return makeError("JWS header: \"alg\" missing or not a string");
  }
  // RFC 8725 §3.2: an unsecured JWS is never acceptable here, whatever the caller allows.
  if (alg->get_ref<const std::string&>() == "none" || signature->empty()) {
    return makeError("unsecured JWS (alg \"none\" or empty signature) is not accepted");
  }
  // RFC 7515 §4.1.11: a `crit` extension the recipient does not understand makes the JWS
  // invalid, and this implementation understands none.
  if (header->contains("crit")) {
    return makeError("JWS header: \"crit\" extensions are not supported");
  }
  Result<nlohmann::json> payload = parseJsonNoDuplicates(*payload_text);
  if (!payload) {
    return makeError("JWS payload: " + payload.error().message);
  }

  CompactJws jws;
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  jws.signing_input = std::string(token.substr(0, dot2));
  jws.signature = std::move(*signature);
  return jws;
}

Status verify(const CompactJws& jws, Alg alg, EVP_PKEY* key) {
  const AlgInfo& info = infoOf(alg);
  if (!keyFitsAlg(key, alg)) {
    return makeError("key does not fit " + std::string(info.name));
  }
  // The caller's policy chose `alg`; a header naming another one is a different token
  // than the one that policy describes (RFC 8725 §3.1).
  const auto header_alg = jws.header.find("alg");
  if (header_alg == jws.header.end() || !header_alg->is_string() ||
      header_alg->get_ref<const std::string&>() != info.name) {
    return makeError("JWS alg does not match the expected " + std::string(info.name));
  }

  std::string signature = jws.signature;
  if (info.family == Family::kEcdsa) {
    // OpenSSL would take a DER signature as is; here one either fails the length check or
    // is read as a meaningless r||s that cannot verify (RFC 7518 §3.4, identity-standards
    // §10.3 J15).
    Result<std::string> der = rawToDer(jws.signature, info.ec_scalar_bytes);
    if (!der) {
      return der.error();
    }
    signature = std::move(*der);
  } else if (jws.signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) {
    return makeError("RSA signature length does not match the key");
  }

  ERR_clear_error();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, info.md(), nullptr, key) != 1) {
    return makeError(opensslError("cannot start signature verification"));
  }
  if (Status s = configureRsa(pctx, info); !s.ok()) {
    return s;
  }
  const int rc = EVP_DigestVerify(ctx.get(), bytesOf(signature), signature.size(),
                                  bytesOf(jws.signing_input), jws.signing_input.size());
  if (rc != 1) {
    ERR_clear_error();
    return makeError("JWS signature does not verify");
  }
  return {};
}

Result<std::string> signCompact(nlohmann::json header, const nlohmann::json& payload, Alg alg,
                                EVP_PKEY* private_key) {
  const AlgInfo& info = infoOf(alg);
  if (!header.is_object() || !payload.is_object()) {
    return makeError("JWS header and payload must be JSON objects");
  }
  if (!keyFitsAlg(private_key, alg)) {
    return makeError("key does not fit " + std::string(info.name));
  }
  header["alg"] = std::string(info.name);
  std::string signing_input;
  try {
    // dump() throws on strings that are not UTF-8, which keeps us from minting a token
    // that a strict verifier (ours included) would refuse.
    signing_input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(payload.dump());
  } catch (const nlohmann::json::exception& ex) {
    return makeError("cannot serialize JWS: " + printable(ex.what()));
  }

  ERR_clear_error();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), &pctx, info.md(), nullptr, private_key) != 1) {
    return makeError(opensslError("cannot start signing"));
  }
  if (Status s = configureRsa(pctx, info); !s.ok()) {
    return s.error();
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, bytesOf(signing_input), signing_input.size()) !=
      1) {
    return makeError(opensslError("signing failed"));
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     bytesOf(signing_input), signing_input.size()) != 1) {
    return makeError(opensslError("signing failed"));
  }
  signature.resize(len);
  if (info.family == Family::kEcdsa) {
    Result<std::string> raw = derToRaw(signature, info.ec_scalar_bytes);
    if (!raw) {
      return raw.error();
    }
    signature = std::move(*raw);
  }
  return signing_input + "." + base64UrlEncode(signature);
}

}  // namespace warden::jose
