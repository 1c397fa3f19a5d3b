#include "support/test_pki.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

namespace warden::testing {
namespace {

// Test support has no error channel worth having: a failure to mint a certificate is a
// broken test environment, so stop loudly with OpenSSL's reason.
void check(bool ok, const char* what) {
  if (ok) {
    return;
  }
  std::fprintf(stderr, "test_pki: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

PkeyPtr newP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen(P-256)");
  return key;
}

// A random positive 127-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets).
void setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof(bytes)) == 1, "RAND_bytes");
  bytes[0] &= 0x7f;
  bytes[15] |= 0x01;  // never zero
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  check(bn != nullptr, "BN_bin2bn");
  check(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr, "BN_to_ASN1_INTEGER");
  BN_free(bn);
}

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// Common skeleton: v3, random serial, subject CN, validity, public key; extensions are
// added by the caller through `add` before signing. `issuer`/`issuer_key` null = self-signed.
template <class AddExtensions>
Credential mint(const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long not_before_s,
                long not_after_s, AddExtensions&& add) {
  Credential cred;
  cred.key = newP256Key();
  cred.cert.reset(X509_new());
  X509* cert = cred.cert.get();
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert, X509_VERSION_3) == 1, "X509_set_version");
  setRandomSerial(cert);
  X509_NAME* name = X509_get_subject_name(cert);
  // ub-common-name is 64 characters; long (test) IDs keep their tail, the distinctive part.
  const std::string short_cn = cn.size() > 64 ? cn.substr(cn.size() - 64) : cn;
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(short_cn.c_str()), -1, -1,
                                   0) == 1,
        "X509_NAME_add_entry_by_txt");
  check(X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1,
        "X509_set_issuer_name");
  check(X509_gmtime_adj(X509_getm_notBefore(cert), not_before_s) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert), not_after_s) != nullptr, "notAfter");
  check(X509_set_pubkey(cert, cred.key.get()) == 1, "X509_set_pubkey");
  X509* ext_issuer = issuer != nullptr ? issuer : cert;
  add(cert, ext_issuer);
  // Key identifiers let OpenSSL build chains by key and are required by X509_V_FLAG_X509_STRICT.
  addExt(cert, ext_issuer, NID_subject_key_identifier, "hash");
  addExt(cert, ext_issuer, NID_authority_key_identifier, "keyid:always");
  check(X509_sign(cert, issuer_key != nullptr ? issuer_key : cred.key.get(), EVP_sha256()) > 0,
        "X509_sign");
  return cred;
}

Credential mintCa(const std::string& trust_domain, bool ca_flag, X509* issuer, EVP_PKEY* issuer_key,
                  long not_after_s) {
  return mint(trust_domain, issuer, issuer_key, -60, not_after_s,
              [&](X509* cert, X509* ext_issuer) {
                addExt(cert, ext_issuer, NID_basic_constraints,
                       ca_flag ? "critical,CA:TRUE" : "critical,CA:FALSE");
                // A broken intermediate keeps keyCertSign so that the missing CA flag is
                // the only thing wrong with it.
                addExt(cert, ext_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
                // A signing authority's SPIFFE ID has no path (SPIFFE-ID §1).
                addExt(cert, ext_issuer, NID_subject_alt_name, "URI:spiffe://" + trust_domain);
              });
}

}  // namespace

void X509Deleter::operator()(X509* x) const {
  X509_free(x);
}
void PkeyDeleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

std::string Credential::certPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
  return bioToString(bio.get());
}

std::string Credential::keyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  check(bio != nullptr && PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                                                   nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return bioToString(bio.get());
}

std::vector<unsigned char> Credential::sha256() const {
  std::vector<unsigned char> digest(32);
  unsigned int len = 0;
  check(X509_digest(cert.get(), EVP_sha256(), digest.data(), &len) == 1 && len == 32,
        "X509_digest");
  return digest;
}

TestCa::TestCa(const std::string& trust_domain, long not_after_offset_s)
    : trust_domain_(trust_domain),
      cred_(mintCa(trust_domain, true, nullptr, nullptr, not_after_offset_s)) {}

TestCa TestCa::intermediate(bool ca_flag) const {
  TestCa child;
  child.trust_domain_ = trust_domain_;
  child.cred_ = mintCa(trust_domain_, ca_flag, cert(), key(), 86400);
  child.chain_pem_ = child.cred_.certPem() + chain_pem_;
  return child;
}

Credential TestCa::issue(const std::string& spiffe_id, const LeafOptions& opts) const {
  return mint(spiffe_id, cert(), key(), opts.not_before_offset_s, opts.not_after_offset_s,
              [&](X509* leaf, X509* issuer) {
                addExt(leaf, issuer, NID_basic_constraints,
                       opts.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
                if (opts.key_usage) {
                  std::string ku;
                  const auto bit = [&ku](bool on, const char* name) {
                    if (on) {
                      ku += ku.empty() ? "" : ",";
                      ku += name;
                    }
                  };
                  bit(opts.digital_signature, "digitalSignature");
                  bit(opts.key_cert_sign, "keyCertSign");
                  bit(opts.crl_sign, "cRLSign");
                  // keyUsage may not be empty; keyAgreement is allowed on a leaf and fits an EC
                  // key.
                  bit(ku.empty(), "keyAgreement");
                  addExt(leaf, issuer, NID_key_usage, "critical," + ku);
                }
                addExt(leaf, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
                std::string san;
                const auto add = [&san](const char* type, const std::string& value) {
                  san += san.empty() ? "" : ",";
                  san += type;
                  san += value;
                };
                if (opts.uri_san) {
                  if (opts.uris.empty()) {
                    add("URI:", spiffe_id);
                  }
                  for (const std::string& uri : opts.uris) {
                    add("URI:", uri);
                  }
                }
                for (const std::string& dns : opts.dns) {
                  add("DNS:", dns);
                }
                for (const std::string& ip : opts.ips) {
                  add("IP:", ip);
                }
                if (!san.empty()) {
                  addExt(leaf, issuer, NID_subject_alt_name, san);
                }
              });
}

std::string TestCa::certPem() const {
  return cred_.certPem();
}

std::string writeFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << path;
    return path;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) {
      ADD_FAILURE() << "cannot write " << path;
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
  return path;
}

TempDir::TempDir() {
  std::string tmpl = "/tmp/warden-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  check(made != nullptr, "mkdtemp");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;  // best effort: a leftover temp dir must not fail a test
  std::filesystem::remove_all(path_, ec);
}

}  // namespace warden::testing
