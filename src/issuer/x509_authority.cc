#include "issuer/x509_authority.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <charconv>

namespace warden::issuer {
namespace {

// SPIRE backdates certificates by 10 s so small clock differences don't refuse new SVIDs.
constexpr std::time_t kBackdateSeconds = 10;

std::string opensslError(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  return std::string(what) + ": " + buf;
}

bool setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // RFC 5280 §4.1.2.2: positive
  bytes[15] |= 0x01;
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

struct CertSpec {
  std::string common_name;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::vector<std::pair<int, std::string>> extensions;  // added in order
};

Result<X509Ref> signCertificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                EVP_PKEY* issuer_key) {
  X509Ref cert = adoptX509(X509_new());
  X509* c = cert.get();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Warden"), -1, -1, 0);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  }
  const bool ok = X509_set_version(c, X509_VERSION_3) == 1 && setRandomSerial(c) &&
                  X509_set_subject_name(c, name) == 1 &&
                  X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer)
                                                            : name) == 1 &&
                  ASN1_TIME_set(X509_getm_notBefore(c), spec.not_before) != nullptr &&
                  ASN1_TIME_set(X509_getm_notAfter(c), spec.not_after) != nullptr &&
                  X509_set_pubkey(c, subject_key) == 1;
  X509_NAME_free(name);
  if (!ok) return Error{opensslError("building certificate")};
  X509* ext_issuer = issuer != nullptr ? issuer : c;
  for (const auto& [nid, value] : spec.extensions) {
    if (!addExtension(c, ext_issuer, nid, value)) {
      return Error{opensslError(("adding extension " + value).c_str())};
    }
  }
  if (X509_sign(c, issuer_key, EVP_sha256()) <= 0) return Error{opensslError("signing")};
  return cert;
}

std::string dir(const X509AuthorityOptions& o) { return o.state_dir + "/x509"; }

}  // namespace

std::time_t notAfter(X509* cert) {
  struct tm t {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t);
  return timegm(&t);
}

std::time_t lifetimePoint(X509* cert, double fraction) {
  struct tm t {};
  ASN1_TIME_to_tm(X509_get0_notBefore(cert), &t);
  const std::time_t start = timegm(&t);
  const std::time_t end = notAfter(cert);
  return start + static_cast<std::time_t>(static_cast<double>(end - start) * fraction);
}

Result<std::unique_ptr<X509Authority>> X509Authority::open(X509AuthorityOptions options) {
  if (auto st = identity::validateTrustDomain(options.trust_domain); !st) return st.error();
  if (options.ca_ttl < std::chrono::seconds(60)) return Error{"ca_ttl must be at least 60s"};
  if (!(options.prepare_at > 0 && options.prepare_at < options.activate_at &&
        options.activate_at < 1)) {
    return Error{"CA rotation points must satisfy 0 < prepare_at < activate_at < 1"};
  }
  std::unique_ptr<X509Authority> authority(new X509Authority(std::move(options)));
  if (auto st = authority->load(); !st) return st.error();
  return authority;
}

Result<X509Authority::Ca> X509Authority::mintCa(std::time_t now) const {
  Ca ca;
  ca.key = adoptPkey(EVP_EC_gen("P-256"));
  if (!ca.key) return Error{opensslError("generating a P-256 key")};
  const std::string td = options_.trust_domain;
  CertSpec spec;
  spec.common_name = td;
  spec.not_before = now - kBackdateSeconds;
  spec.not_after = now + options_.ca_ttl.count();
  // nameConstraints: OpenSSL and Go both enforce URI constraints against spiffe:// SANs,
  // so even a stolen leaf-signing path cannot mint IDs for another trust domain.
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_subject_alt_name, "URI:spiffe://" + td},
                     {NID_name_constraints, "critical,permitted;URI:" + td}};
  auto cert = signCertificate(spec, ca.key.get(), nullptr, ca.key.get());
  if (!cert) return cert.error();
  ca.cert = *cert;
  return ca;
}

Status X509Authority::load() {
  const std::time_t now = std::time(nullptr);
  if (options_.state_dir.empty()) {
    auto ca = mintCa(now);
    if (!ca) return ca.error();
    active_ = *ca;
    return {};
  }
  if (auto st = ensurePrivateDirectory(dir(options_)); !st) return st;
  auto loadCa = [&](const std::string& name) -> Result<std::optional<Ca>> {
    auto key = loadPrivateKeyFile(dir(options_) + "/" + name + ".key");
    if (!key) return key.error();
    auto pem = readOptionalFile(dir(options_) + "/" + name + ".pem");
    if (!pem) return pem.error();
    if (!*key && !*pem) return std::optional<Ca>{};
    if (!*key || !*pem) return Error{"incomplete CA " + name + " in " + dir(options_)};
    auto cert = parseCertificatePem(**pem);
    if (!cert) return Error{dir(options_) + "/" + name + ".pem: " + cert.error().message};
    if (X509_check_private_key(cert->get(), key->value().get()) != 1) {
      ERR_clear_error();
      return Error{dir(options_) + "/" + name + ": key does not match certificate"};
    }
    return std::optional<Ca>{Ca{*cert, **key}};
  };
  auto active = loadCa("active");
  if (!active) return active.error();
  auto prepared = loadCa("prepared");
  if (!prepared) return prepared.error();
  if (*active) {
    active_ = **active;
    prepared_ = *prepared;
    auto retired_pem = readOptionalFile(dir(options_) + "/retired.pem");
    if (!retired_pem) return retired_pem.error();
    if (*retired_pem) {
      // Retired CAs sign nothing more: only their certificates are kept.
      std::string rest = **retired_pem;
      const std::string end_marker = "-----END CERTIFICATE-----";
      for (std::size_t pos = rest.find(end_marker); pos != std::string::npos;
           pos = rest.find(end_marker)) {
        auto cert = parseCertificatePem(rest.substr(0, pos + end_marker.size()));
        if (!cert) return cert.error();
        retired_.push_back(Ca{*cert, nullptr});
        rest.erase(0, pos + end_marker.size());
      }
    }
    auto seq = readOptionalFile(dir(options_) + "/sequence");
    if (!seq) return seq.error();
    if (*seq) {
      std::int64_t v = 0;
      const auto& s = **seq;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc{} || v < 1) return Error{dir(options_) + "/sequence: not a number"};
      sequence_ = v;
    }
    return {};
  }
  auto ca = mintCa(now);
  if (!ca) return ca.error();
  active_ = *ca;
  std::lock_guard lock(mutex_);
  return persistLocked();
}

Status X509Authority::persistLocked() {
  if (options_.state_dir.empty()) return {};
  const std::string d = dir(options_);
  auto writeCa = [&](const std::string& name, const std::optional<Ca>& ca) -> Status {
    if (!ca) {
      if (auto st = removeFileIfExists(d + "/" + name + ".key"); !st) return st;
      return removeFileIfExists(d + "/" + name + ".pem");
    }
    // Key first: a crash between the two leaves a key without a certificate, which load()
    // reports rather than pairing a certificate with the wrong key.
    if (auto st = writeFileAtomically(d + "/" + name + ".key", privateKeyPem(ca->key.get()), 0600);
        !st) {
      return st;
    }
    return writeFileAtomically(d + "/" + name + ".pem", certificatePem(ca->cert.get()), 0644);
  };
  if (auto st = writeCa("active", active_); !st) return st;
  if (auto st = writeCa("prepared", prepared_); !st) return st;
  std::string retired;
  for (const auto& ca : retired_) retired += certificatePem(ca.cert.get());
  if (auto st = writeFileAtomically(d + "/retired.pem", retired, 0644); !st) return st;
  return writeFileAtomically(d + "/sequence", std::to_string(sequence_), 0644);
}

Result<bool> X509Authority::rotate(std::time_t now) {
  std::lock_guard lock(mutex_);
  bool changed = false;
  const auto before = retired_.size();
  std::erase_if(retired_, [&](const Ca& ca) { return notAfter(ca.cert.get()) <= now; });
  changed = retired_.size() != before;
  if (!prepared_ && now >= lifetimePoint(active_.cert.get(), options_.prepare_at)) {
    auto ca = mintCa(now);
    if (!ca) return ca.error();
    prepared_ = *ca;
    changed = true;
  }
  if (prepared_ && now >= lifetimePoint(active_.cert.get(), options_.activate_at)) {
    retired_.push_back(Ca{active_.cert, nullptr});
    active_ = *prepared_;
    prepared_.reset();
    changed = true;
  }
  if (changed) {
    ++sequence_;
    if (auto st = persistLocked(); !st) return st.error();
  }
  return changed;
}

Status X509Authority::prepareNext() {
  std::lock_guard lock(mutex_);
  auto ca = mintCa(std::time(nullptr));
  if (!ca) return ca.error();
  prepared_ = *ca;
  ++sequence_;
  return persistLocked();
}

Status X509Authority::activatePrepared() {
  std::lock_guard lock(mutex_);
  if (!prepared_) return Error{"no prepared CA to activate (prepare one first)"};
  retired_.push_back(Ca{active_.cert, nullptr});
  active_ = *prepared_;
  prepared_.reset();
  ++sequence_;
  return persistLocked();
}

Result<IssuedX509Svid> X509Authority::issue(const identity::SpiffeId& id,
                                            std::chrono::seconds ttl,
                                            const std::vector<std::string>& dns_names) const {
  Ca ca;
  {
    std::lock_guard lock(mutex_);
    ca = active_;
  }
  if (id.path().empty()) return Error{"an X509-SVID needs a SPIFFE ID with a path"};
  if (id.trustDomain() != options_.trust_domain) {
    return Error{"cannot issue " + id.str() + ": not in trust domain " + options_.trust_domain};
  }
  IssuedX509Svid out;
  out.key = adoptPkey(EVP_EC_gen("P-256"));
  if (!out.key) return Error{opensslError("generating a P-256 key")};
  const std::time_t now = std::time(nullptr);
  CertSpec spec;
  spec.common_name = dns_names.empty() ? std::string() : dns_names.front();
  spec.not_before = now - kBackdateSeconds;
  spec.not_after = std::min(now + ttl.count(), notAfter(ca.cert.get()));
  std::string san = "URI:" + id.str();
  for (const auto& dns : dns_names) san += ",DNS:" + dns;
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature"},
                     {NID_ext_key_usage, "serverAuth,clientAuth"},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"},
                     {NID_subject_alt_name, san}};
  auto cert = signCertificate(spec, out.key.get(), ca.cert.get(), ca.key.get());
  if (!cert) return cert.error();
  out.chain.push_back(*cert);
  out.issued_at = now;
  out.not_after = spec.not_after;
  return out;
}

std::vector<X509Ref> X509Authority::bundle() const {
  std::lock_guard lock(mutex_);
  std::vector<X509Ref> out;
  if (prepared_) out.push_back(prepared_->cert);
  out.push_back(active_.cert);
  for (const auto& ca : retired_) out.push_back(ca.cert);
  return out;
}

std::int64_t X509Authority::sequence() const {
  std::lock_guard lock(mutex_);
  return sequence_;
}

X509Ref X509Authority::activeCertificate() const {
  std::lock_guard lock(mutex_);
  return active_.cert;
}

}  // namespace warden::issuer
