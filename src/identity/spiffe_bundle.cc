#include "identity/spiffe_bundle.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "identity/spiffe_id.h"
#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::identity {
namespace {

using nlohmann::json;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<X509> shareCert(X509* cert) { return std::shared_ptr<X509>(cert, X509_free); }

std::string opensslError() {
  const unsigned long err = ERR_peek_last_error();
  std::string text = "unknown OpenSSL error";
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    text = buf;
  }
  ERR_clear_error();
  return text;
}

std::string derOf(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// Exactly one certificate, with no bytes after it.
Result<std::shared_ptr<X509>> parseOneDer(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) {
    return makeError("not a DER certificate: " + opensslError());
  }
  std::shared_ptr<X509> shared = shareCert(cert);
  if (p != end) {
    return makeError("bytes after the DER certificate");
  }
  return shared;
}

// A key identity that does not depend on how the key was encoded: the RFC 7638 thumbprint
// where JWK can express the key, its SPKI DER otherwise.
std::string keyIdentity(EVP_PKEY* key) {
  Result<std::string> thumbprint = jose::jwkThumbprint(key);
  if (thumbprint.ok()) {
    return "jwk:" + *thumbprint;
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  std::string out = "spki:" + std::string(reinterpret_cast<const char*>(der),
                                          static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool isKnownKeyType(const json& entry) {
  const auto kty = entry.find("kty");
  if (kty == entry.end() || !kty->is_string()) {
    return false;
  }
  const std::string& type = kty->get_ref<const std::string&>();
  if (type == "RSA") {
    return true;
  }
  if (type != "EC") {
    return false;
  }
  // An EC key on a curve we do not implement is as unusable as an unknown kty
  // (RFC 7517 §5: ignore keys whose values are out of the supported range). A missing or
  // malformed crv is not that case: it is left for readPublicJwk to refuse.
  const auto crv = entry.find("crv");
  if (crv == entry.end() || !crv->is_string()) {
    return true;
  }
  const std::string& curve = crv->get_ref<const std::string&>();
  return curve == "P-256" || curve == "P-384" || curve == "P-521";
}

enum class Document { kSpiffeBundle, kPlainJwks };

// Reads a non-negative integer member; absent is fine.
Status readCount(const json& doc, const char* name, std::optional<std::int64_t>& out) {
  const auto it = doc.find(name);
  if (it == doc.end()) {
    return {};
  }
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return makeError(std::string("\"") + name + "\" does not fit in 64 bits");
    }
    out = static_cast<std::int64_t>(value);
    return {};
  }
  // nlohmann stores non-negative literals as unsigned, except "-0".
  if (it->is_number_integer()) {
    const auto value = it->get<std::int64_t>();
    if (value < 0) {
      return makeError(std::string("\"") + name + "\" is negative");
    }
    out = value;
    return {};
  }
  return makeError(std::string("\"") + name + "\" is not an integer");
}

// Adds one x509-svid entry's CA, or nothing when the entry is one to ignore.
Status readX509Entry(const json& entry, SpiffeBundle& bundle) {
  const auto x5c = entry.find("x5c");
  // identity-standards §2 (bundle form) and §10.7 F4: without x5c, ignored.
  if (x5c == entry.end() || !isKnownKeyType(entry)) {
    return {};
  }
  if (!x5c->is_array() || x5c->empty() || !x5c->front().is_string()) {
    return makeError("\"x5c\" must be a non-empty array of base64 strings");
  }
  // The spec (identity-standards §11) says to use the first certificate and ignore the
  // rest; the rest are not even decoded, so they cannot make a good bundle fail.
  std::optional<std::string> der = jose::base64Decode(x5c->front().get_ref<const std::string&>());
  if (!der) {
    return makeError("\"x5c\"[0] is not standard base64");
  }
  Result<std::shared_ptr<X509>> cert = parseOneDer(*der);
  if (!cert) {
    return makeError("\"x5c\"[0]: " + cert.error().message);
  }
  // The JWK members and the certificate describe one key; if they differ the producer is
  // broken and neither can be trusted to be the one it meant.
  Result<jose::PkeyPtr> key = jose::readPublicJwk(entry);
  if (!key) {
    return key.error();
  }
  if (EVP_PKEY_eq(key->get(), X509_get0_pubkey(cert->get())) != 1) {
    ERR_clear_error();
    return makeError("JWK members do not match the key of the \"x5c\" certificate");
  }
  bundle.x509_authorities.push_back(std::move(*cert));
  return {};
}

Status readJwtEntry(const json& entry, std::set<std::string>& kids, SpiffeBundle& bundle) {
  // identity-standards §3/§11: a jwt-svid key without kid cannot be selected by any token,
  // and go-spiffe rejects the whole bundle for it; so do we.
  const auto kid = entry.find("kid");
  if (kid == entry.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) {
    return makeError("jwt-svid key without a \"kid\"");
  }
  if (!isKnownKeyType(entry)) {
    return {};
  }
  const std::string& id = kid->get_ref<const std::string&>();
  // Two keys under one kid would make the verifier's choice depend on order.
  if (!kids.insert(id).second) {
    return makeError("duplicate jwt-svid \"kid\"");
  }
  Result<jose::PkeyPtr> key = jose::readPublicJwk(entry);
  if (!key) {
    return key.error();
  }
  bundle.jwt_authorities.push_back(JwtAuthority{id, std::shared_ptr<EVP_PKEY>(std::move(*key))});
  return {};
}

Result<SpiffeBundle> parseDocument(std::string_view json_text, std::string_view trust_domain,
                                   Document kind) {
  const std::string where = (kind == Document::kSpiffeBundle ? "SPIFFE bundle for \""
                                                             : "JWT bundle for \"") +
                            std::string(trust_domain) + "\": ";
  if (Status s = validateTrustDomain(trust_domain); !s.ok()) {
    return makeError(where + "invalid trust domain: " + s.message());
  }
  if (json_text.size() > kMaxBundleBytes) {
    return makeError(where + "document of " + std::to_string(json_text.size()) +
                     " bytes exceeds the limit of " + std::to_string(kMaxBundleBytes));
  }
  Result<json> doc = jose::parseJsonNoDuplicates(json_text);
  if (!doc) {
    return makeError(where + doc.error().message);
  }
  const auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) {
    return makeError(where + "\"keys\" is required and must be an array");
  }

  SpiffeBundle bundle;
  bundle.trust_domain = std::string(trust_domain);
  std::set<std::string> kids;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const json& entry = (*keys)[i];
    const std::string at = where + "keys[" + std::to_string(i) + "]: ";
    if (!entry.is_object()) {
      return makeError(at + "not a JSON object");
    }
    const auto use = entry.find("use");
    std::string_view use_value;
    if (use != entry.end() && use->is_string()) {
      use_value = use->get_ref<const std::string&>();
    } else if (use == entry.end() && kind == Document::kPlainJwks) {
      // The Workload API's JWT bundles are plain JWKS without `use` (identity-standards
      // §11); every key there is a JWT authority.
      use_value = "jwt-svid";
    }
    Status status;
    if (use_value == "x509-svid" && kind == Document::kSpiffeBundle) {
      status = readX509Entry(entry, bundle);
    } else if (use_value == "jwt-svid") {
      status = readJwtEntry(entry, kids, bundle);
    }
    // Any other `use` (missing, unknown, wit-svid, x509-svid in a plain JWKS) is ignored
    // (identity-standards §5.1).
    if (!status.ok()) {
      return makeError(at + status.message());
    }
  }

  if (kind == Document::kSpiffeBundle) {
    if (Status s = readCount(*doc, "spiffe_sequence", bundle.sequence); !s.ok()) {
      return makeError(where + s.message());
    }
    if (Status s = readCount(*doc, "spiffe_refresh_hint", bundle.refresh_hint_seconds);
        !s.ok()) {
      return makeError(where + s.message());
    }
  }
  return bundle;
}

// Key members for one JWK, or false when the key has no JWK form here.
bool appendKey(EVP_PKEY* key, json entry, json& keys) {
  if (!jose::writePublicJwk(key, entry).ok()) {
    return false;
  }
  keys.push_back(std::move(entry));
  return true;
}

std::string dumpJson(const json& doc) {
  // Replacing rather than throwing on non-UTF-8 strings (only a kid set by a caller could
  // be one) keeps these serialisers exception-free.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string SpiffeBundle::x509Der() const {
  std::string out;
  for (const auto& cert : x509_authorities) {
    out += derOf(cert.get());
  }
  return out;
}

std::string SpiffeBundle::x509Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) {
    return {};
  }
  for (const auto& cert : x509_authorities) {
    if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
      ERR_clear_error();
      return {};
    }
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string SpiffeBundle::jwtJwks() const {
  json keys = json::array();
  for (const JwtAuthority& authority : jwt_authorities) {
    static_cast<void>(appendKey(authority.key.get(), json{{"kid", authority.kid}}, keys));
  }
  return dumpJson(json{{"keys", std::move(keys)}});
}

std::string SpiffeBundle::toJson() const {
  json keys = json::array();
  for (const auto& cert : x509_authorities) {
    // No kid on x509-svid entries, one certificate per entry (identity-standards §2).
    json entry = {{"use", "x509-svid"},
                  {"x5c", json::array({jose::base64Encode(derOf(cert.get()))})}};
    // A CA key JWK cannot describe (say Ed25519) has no valid entry, and a partial one
    // would make our own parser reject the whole document; the issuer only makes EC and
    // RSA CAs, so this is a CA from elsewhere that we cannot republish.
    static_cast<void>(appendKey(X509_get0_pubkey(cert.get()), std::move(entry), keys));
  }
  for (const JwtAuthority& authority : jwt_authorities) {
    static_cast<void>(appendKey(authority.key.get(),
                                json{{"use", "jwt-svid"}, {"kid", authority.kid}}, keys));
  }
  json doc = {{"keys", std::move(keys)}};
  if (sequence) {
    doc["spiffe_sequence"] = *sequence;
  }
  if (refresh_hint_seconds) {
    doc["spiffe_refresh_hint"] = *refresh_hint_seconds;
  }
  return dumpJson(doc);
}

bool SpiffeBundle::sameKeys(const SpiffeBundle& other) const {
  const auto certs = [](const SpiffeBundle& b) {
    std::vector<std::string> out;
    for (const auto& cert : b.x509_authorities) {
      out.push_back(derOf(cert.get()));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto jwts = [](const SpiffeBundle& b) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const JwtAuthority& authority : b.jwt_authorities) {
      out.emplace_back(authority.kid, keyIdentity(authority.key.get()));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  return certs(*this) == certs(other) && jwts(*this) == jwts(other);
}

Result<SpiffeBundle> parseSpiffeBundle(std::string_view json_text, std::string_view trust_domain) {
  return parseDocument(json_text, trust_domain, Document::kSpiffeBundle);
}

Result<SpiffeBundle> parseJwtJwks(std::string_view json_text, std::string_view trust_domain) {
  return parseDocument(json_text, trust_domain, Document::kPlainJwks);
}

Result<std::vector<std::shared_ptr<X509>>> parseDerCertificates(std::string_view der) {
  if (der.size() > static_cast<std::size_t>(LONG_MAX)) {
    return makeError("DER certificates: input too large");
  }
  std::vector<std::shared_ptr<X509>> certs;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  while (p < end) {
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(end - p));
    if (cert == nullptr) {
      return makeError("DER certificates: certificate " + std::to_string(certs.size() + 1) +
                       " does not decode: " + opensslError());
    }
    certs.push_back(shareCert(cert));
  }
  if (certs.empty()) {
    return makeError("DER certificates: no certificate");
  }
  return certs;
}

Result<std::vector<std::shared_ptr<X509>>> parsePemCertificates(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
    return makeError("PEM certificates: input too large");
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return makeError("PEM certificates: out of memory");
  }
  std::vector<std::shared_ptr<X509>> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.push_back(shareCert(cert));
  }
  // Running out of PEM blocks ends the loop with "no start line"; anything else is a
  // block that looked like a certificate but did not decode.
  const unsigned long err = ERR_peek_last_error();
  if (err != 0 &&
      !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    return makeError("PEM certificates: unparsable block: " + opensslError());
  }
  ERR_clear_error();
  if (certs.empty()) {
    return makeError("PEM certificates: no certificate");
  }
  return certs;
}

}  // namespace warden::identity
