#include "demo/local_web_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "demo/atomic_file.h"
#include "jose/jwk.h"

namespace warden::demo {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using jose::PkeyPtr;

constexpr char kCaCommonName[] = "Warden demo local CA";
constexpr char kLeafCommonName[] = "Warden demo server";
constexpr char kLoopbackIp[] = "127.0.0.1";
constexpr char kLoopbackName[] = "localhost";
// A fresh certificate starts slightly in the past: notBefore has one-second resolution, and
// a client reading it in the same second must not see it as not yet valid.
constexpr long kBackdateSeconds = 60;

std::string opensslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Result<std::string> toPem(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1)
    return Error{"PEM encoding: " + opensslErrors()};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<X509Ptr> readCertificate(const std::string& path) {
  auto text = readWholeFile(path);
  if (!text)
    return text.error();
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return Error{path + ": not a PEM certificate: " + opensslErrors()};
  return cert;
}

// Keys are only reused from files nobody else can read: a key that was exposed is replaced.
Result<PkeyPtr> readPrivateKey(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return Error{path + ": missing"};
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
    return Error{path + ": not a private regular file of this user"};
  }
  auto text = readWholeFile(path);
  if (!text)
    return text.error();
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return Error{path + ": not a PEM private key: " + opensslErrors()};
  return key;
}

// True when `cert` is valid now and still for more than `at_least`.
bool validFor(X509* cert, std::chrono::seconds at_least) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return false;
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) != 1)
    return false;
  return std::int64_t{days} * 86400 + seconds > at_least.count();
}

std::int64_t secondsLeft(X509* cert) {
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) != 1)
    return 0;
  return std::int64_t{days} * 86400 + seconds;
}

// RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits make it unique.
Status setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return Error{"serial: " + opensslErrors()};
  bytes[0] &= 0x7F;
  bytes[0] |= 0x01;  // never zero, whatever the rest
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Error{"serial: " + opensslErrors()};
  }
  return Status::okStatus();
}

Status setCommonName(X509_NAME* name, const char* cn) {
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) != 1) {
    return Error{"subject name: " + opensslErrors()};
  }
  return Status::okStatus();
}

struct CertificateSpec {
  EVP_PKEY* key = nullptr;  // the subject's key
  const char* common_name = nullptr;
  X509* issuer = nullptr;          // null: self-signed
  EVP_PKEY* issuer_key = nullptr;  // null: self-signed
  std::int64_t lifetime_seconds = 0;
  std::vector<std::pair<int, const char*>> extensions;  // nid, OpenSSL config value
};

Result<X509Ptr> makeCertificate(const CertificateSpec& spec) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return Error{"certificate: " + opensslErrors()};
  if (auto st = setRandomSerial(cert.get()); !st)
    return st.error();
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.lifetime_seconds)) ==
          nullptr) {
    return Error{"validity: " + opensslErrors()};
  }
  if (auto st = setCommonName(X509_get_subject_name(cert.get()), spec.common_name); !st)
    return st.error();
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  EVP_PKEY* issuer_key = spec.issuer_key != nullptr ? spec.issuer_key : spec.key;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_set_pubkey(cert.get(), spec.key) != 1) {
    return Error{"certificate: " + opensslErrors()};
  }
  // In order: the subject key identifier must exist before a self-signed certificate's
  // authority key identifier can refer to it.
  for (const auto& [nid, value] : spec.extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    const bool added = ext != nullptr && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!added)
      return Error{std::string("extension ") + OBJ_nid2sn(nid) + ": " + opensslErrors()};
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0)
    return Error{"signing: " + opensslErrors()};
  return cert;
}

struct Issued {
  X509Ptr cert;
  PkeyPtr key;
};

Result<Issued> makeCa(const LocalWebPkiOptions& options) {
  PkeyPtr key = jose::generateP256Key();
  if (!key)
    return Error{"CA key: " + opensslErrors()};
  CertificateSpec spec;
  spec.key = key.get();
  spec.common_name = kCaCommonName;
  spec.lifetime_seconds = options.ca_lifetime.count();
  // pathlen:0: this CA signs leaves only, so a leaf key can never act as a CA.
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}};
  auto cert = makeCertificate(spec);
  if (!cert)
    return cert.error();
  return Issued{std::move(*cert), std::move(key)};
}

Result<Issued> makeLeaf(X509* ca, EVP_PKEY* ca_key, const LocalWebPkiOptions& options) {
  PkeyPtr key = jose::generateP256Key();
  if (!key)
    return Error{"server key: " + opensslErrors()};
  CertificateSpec spec;
  spec.key = key.get();
  spec.common_name = kLeafCommonName;
  spec.issuer = ca;
  spec.issuer_key = ca_key;
  // A leaf never outlives its CA: chain validation would fail after the CA expires anyway,
  // and a leaf that claims more only misleads the reuse check.
  spec.lifetime_seconds = std::min<std::int64_t>(options.leaf_lifetime.count(), secondsLeft(ca));
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth"},
                     {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}};
  auto cert = makeCertificate(spec);
  if (!cert)
    return cert.error();
  return Issued{std::move(*cert), std::move(key)};
}

// A CA from disk is reused only if it is one: self-signed with the key beside it, a CA,
// and valid long enough.
std::optional<Issued> loadCa(const std::string& cert_path, const std::string& key_path,
                             const LocalWebPkiOptions& options) {
  auto cert = readCertificate(cert_path);
  auto key = readPrivateKey(key_path);
  if (!cert || !key)
    return std::nullopt;
  const bool usable = X509_check_private_key(cert->get(), key->get()) == 1 &&
                      X509_verify(cert->get(), key->get()) == 1 &&
                      X509_check_ca(cert->get()) >= 1 &&
                      validFor(cert->get(), options.min_remaining);
  ERR_clear_error();
  if (!usable)
    return std::nullopt;
  return Issued{std::move(*cert), std::move(*key)};
}

std::optional<Issued> loadLeaf(X509* ca, const std::string& cert_path, const std::string& key_path,
                               const LocalWebPkiOptions& options) {
  auto cert = readCertificate(cert_path);
  auto key = readPrivateKey(key_path);
  if (!cert || !key)
    return std::nullopt;
  X509* leaf = cert->get();
  const bool usable = X509_check_issued(ca, leaf) == X509_V_OK &&
                      X509_verify(leaf, X509_get0_pubkey(ca)) == 1 &&
                      X509_check_private_key(leaf, key->get()) == 1 &&
                      X509_check_ip_asc(leaf, kLoopbackIp, 0) == 1 &&
                      X509_check_host(leaf, kLoopbackName, 0, 0, nullptr) == 1 &&
                      validFor(leaf, options.min_remaining);
  ERR_clear_error();
  if (!usable)
    return std::nullopt;
  return Issued{std::move(*cert), std::move(*key)};
}

Status writeCertificate(const std::string& path, X509* cert) {
  auto pem = toPem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
  if (!pem)
    return Error{path + ": " + pem.error().message};
  return writeFileAtomically(path, *pem, 0644);
}

Status writePrivateKey(const std::string& path, EVP_PKEY* key) {
  auto pem = toPem([key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!pem)
    return Error{path + ": " + pem.error().message};
  return writeFileAtomically(path, *pem, 0600);
}

}  // namespace

Result<LocalWebPki> makeLocalWebPki(const std::string& dir, const LocalWebPkiOptions& options) {
  if (options.leaf_lifetime <= options.min_remaining ||
      options.ca_lifetime <= options.min_remaining) {
    return Error{"local web PKI: lifetimes must exceed the minimum remaining validity"};
  }
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  if (ec)
    return Error{"local web PKI: cannot create " + dir + ": " + ec.message()};

  LocalWebPki out;
  out.ca_file = dir + "/ca.pem";
  out.cert_file = dir + "/server.pem";
  out.key_file = dir + "/server.key";
  const std::string ca_key_file = dir + "/ca.key";

  std::optional<Issued> ca = loadCa(out.ca_file, ca_key_file, options);
  if (!ca) {
    auto made = makeCa(options);
    if (!made)
      return Error{"local web PKI: " + made.error().message};
    // The key first: a crash between the two writes leaves a pair that does not match,
    // which the next run replaces, never a certificate whose key is lost.
    if (auto st = writePrivateKey(ca_key_file, made->key.get()); !st)
      return st.error();
    if (auto st = writeCertificate(out.ca_file, made->cert.get()); !st)
      return st.error();
    ca = std::move(*made);
    out.ca_created = true;
  }

  std::optional<Issued> leaf;
  if (!out.ca_created)
    leaf = loadLeaf(ca->cert.get(), out.cert_file, out.key_file, options);
  if (!leaf) {
    auto made = makeLeaf(ca->cert.get(), ca->key.get(), options);
    if (!made)
      return Error{"local web PKI: " + made.error().message};
    if (auto st = writePrivateKey(out.key_file, made->key.get()); !st)
      return st.error();
    if (auto st = writeCertificate(out.cert_file, made->cert.get()); !st)
      return st.error();
    out.leaf_created = true;
  }
  return out;
}

}  // namespace warden::demo
