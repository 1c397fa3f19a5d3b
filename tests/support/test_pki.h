// Test PKI: real ECDSA P-256 certificates made with OpenSSL, in memory and on disk.
//
// Every certificate a test uses is minted here at test time: trust-domain CAs,
// intermediates, and leaf SVIDs, plus the malformed variants of identity-standards §10.2
// (two URI SANs, CA used as leaf, keyCertSign on a leaf, expired, no SAN, ...).
// Thread-safety: none; use from one test thread.
#pragma once

#include <openssl/ossl_typ.h>

#include <memory>
#include <string>
#include <vector>

namespace warden::testing {

struct X509Deleter { void operator()(X509* x) const; };
struct PkeyDeleter { void operator()(EVP_PKEY* k) const; };
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct LeafOptions {
  std::vector<std::string> uris;      // URI SANs; default one: the SPIFFE ID given to issue
  std::vector<std::string> dns;       // DNS SANs
  std::vector<std::string> ips;       // IP SANs, e.g. "127.0.0.1"
  bool is_ca = false;                 // basicConstraints CA:TRUE (CA used as leaf)
  bool key_cert_sign = false;         // keyUsage keyCertSign on a leaf
  bool crl_sign = false;
  bool digital_signature = true;
  bool key_usage = true;              // include the keyUsage extension at all
  long not_before_offset_s = -60;     // relative to now
  long not_after_offset_s = 3600;
  // false: no URI SAN at all, for "only DNS SANs" / "no SAN" cases (an empty `uris`
  // already means "the default one").
  bool uri_san = true;
};

// A certificate with its key, and PEM encodings.
struct Credential {
  X509Ptr cert;
  PkeyPtr key;
  std::string certPem() const;
  std::string keyPem() const;
  // DER SHA-256 of the certificate (RFC 8705 x5t#S256 input).
  std::vector<unsigned char> sha256() const;
};

class TestCa {
 public:
  // Self-signed root for a trust domain: subject CN=<td>, URI SAN spiffe://<td>.
  explicit TestCa(const std::string& trust_domain, long not_after_offset_s = 86400);
  // An intermediate CA signed by this CA (for chain tests); ca_flag=false makes a broken one.
  TestCa intermediate(bool ca_flag = true) const;

  // A leaf X509-SVID for `spiffe_id` (which may deliberately be invalid).
  Credential issue(const std::string& spiffe_id, const LeafOptions& opts = {}) const;

  const std::string& trustDomain() const { return trust_domain_; }
  std::string certPem() const;
  // PEM of this CA's cert followed by its parents, excluding the root: what a leaf
  // issued by an intermediate appends to its chain file. Empty for a root.
  const std::string& chainPem() const { return chain_pem_; }
  X509* cert() const { return cred_.cert.get(); }
  EVP_PKEY* key() const { return cred_.key.get(); }

 private:
  TestCa() = default;
  std::string trust_domain_;
  Credential cred_;
  std::string chain_pem_;
};

// Writes text to `dir/name` and returns the full path.
std::string writeFile(const std::string& dir, const std::string& name, const std::string& text);
// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace warden::testing
