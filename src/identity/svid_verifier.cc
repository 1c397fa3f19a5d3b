#include "identity/svid_verifier.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>
#include <fstream>
#include <sstream>
#include <string>

namespace warden::identity {
namespace {

struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
struct BasicConstraintsDeleter {
  void operator()(BASIC_CONSTRAINTS* bc) const { BASIC_CONSTRAINTS_free(bc); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* ctx) const { X509_STORE_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};

// The most recent OpenSSL error as text, and the queue cleared so that it cannot leak into
// an unrelated later diagnosis on this thread.
std::string takeOpensslError() {
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

VerifyOutcome refuse(SvidFailure failure, std::string detail) {
  VerifyOutcome outcome;
  outcome.error = SvidVerifyError{failure, std::move(detail)};
  return outcome;
}

// X509-SVID §5 step 2 (leaf constraints). The spec makes only the CA flag and
// keyCertSign/cRLSign validator duties; digitalSignature is checked too, as go-spiffe does.
Status checkLeafConstraints(X509* leaf) {
  // Computes and caches the extension flags; EXFLAG_INVALID covers duplicate or
  // undecodable extensions, which a well-formed SVID never has.
  const std::uint32_t flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_INVALID) != 0) {
    return makeError("certificate has invalid or duplicate extensions");
  }
  int crit = 0;
  std::unique_ptr<BASIC_CONSTRAINTS, BasicConstraintsDeleter> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, nullptr)));
  if (bc == nullptr && crit != -1) {
    return makeError("certificate has an undecodable basicConstraints extension");
  }
  // Absent basicConstraints means "not a CA" (RFC 5280 §4.2.1.9), which is what a leaf is.
  if (bc != nullptr && bc->ca != 0) {
    return makeError(
        "certificate is a CA (basicConstraints CA:TRUE); a CA certificate cannot be a peer "
        "identity");
  }
  if ((flags & EXFLAG_KUSAGE) == 0) {
    return makeError("certificate has no keyUsage extension; an X509-SVID leaf requires one");
  }
  const std::uint32_t ku = X509_get_key_usage(leaf);
  if ((ku & KU_KEY_CERT_SIGN) != 0) {
    return makeError("leaf certificate has keyUsage keyCertSign, which an X509-SVID leaf must not");
  }
  if ((ku & KU_CRL_SIGN) != 0) {
    return makeError("leaf certificate has keyUsage cRLSign, which an X509-SVID leaf must not");
  }
  if ((ku & KU_DIGITAL_SIGNATURE) == 0) {
    return makeError("leaf certificate keyUsage lacks digitalSignature");
  }
  return {};
}

std::time_t asn1TimeToTimeT(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return timegm(&tm);
}

// Reads every certificate in `pem` into a fresh store. Fails on a PEM block that does
// not decode and on text that holds no certificate at all.
Result<X509_STORE*> storeFromPem(std::string_view trust_domain, std::string_view pem) {
  const std::string where = "trust bundle for " + std::string(trust_domain) + ": ";
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
    return makeError(where + "PEM text too large");
  }
  ERR_clear_error();
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509_STORE* store = X509_STORE_new();
  if (bio == nullptr || store == nullptr) {
    X509_STORE_free(store);
    return makeError(where + "out of memory");
  }
  int count = 0;
  while (true) {
    std::unique_ptr<X509, X509Deleter> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      break;
    }
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      X509_STORE_free(store);
      return makeError(where + "cannot add certificate: " + takeOpensslError());
    }
    ++count;
  }
  // Running out of PEM blocks ends the loop with "no start line"; anything else means a
  // block that looked like a certificate but did not decode.
  const unsigned long err = ERR_peek_last_error();
  if (err != 0 &&
      !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    X509_STORE_free(store);
    return makeError(where + "unparsable PEM: " + takeOpensslError());
  }
  ERR_clear_error();
  if (count == 0) {
    X509_STORE_free(store);
    return makeError(where + "no certificates found");
  }
  return store;
}

}  // namespace

std::string_view toReasonCode(SvidFailure failure) {
  switch (failure) {
    case SvidFailure::kInvalidSvid:
      return "invalid_svid";
    case SvidFailure::kUntrustedCertificate:
      return "untrusted_certificate";
  }
  return "invalid_svid";  // unreachable: the switch covers every enumerator
}

TrustBundleSet::~TrustBundleSet() {
  for (auto& [td, store] : stores_) {
    X509_STORE_free(store);
  }
}

Result<std::shared_ptr<const TrustBundleSet>> TrustBundleSet::fromPem(
    const std::map<std::string, std::string>& pem_by_trust_domain) {
  // Built in a shared_ptr from the start so a failure half way frees the stores made so far.
  std::shared_ptr<TrustBundleSet> set(new TrustBundleSet());
  for (const auto& [td, pem] : pem_by_trust_domain) {
    if (Status s = validateTrustDomain(td); !s.ok()) {
      return makeError("trust bundle for \"" + td + "\": invalid trust domain: " + s.message());
    }
    Result<X509_STORE*> store = storeFromPem(td, pem);
    if (!store.ok()) {
      return store.error();
    }
    set->stores_.emplace(td, *store);
  }
  return std::shared_ptr<const TrustBundleSet>(std::move(set));
}

Result<std::shared_ptr<const TrustBundleSet>> TrustBundleSet::fromPemFiles(
    const std::map<std::string, std::string>& path_by_trust_domain) {
  std::map<std::string, std::string> pem_by_td;
  for (const auto& [td, path] : path_by_trust_domain) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return makeError("trust bundle for " + td + ": cannot read " + path);
    }
    if (!in.is_open()) {
      return makeError("trust bundle for " + td + ": cannot open " + path);
    }
    pem_by_td.emplace(td, text.str());
  }
  return fromPem(pem_by_td);
}

bool TrustBundleSet::hasTrustDomain(std::string_view trust_domain) const {
  return stores_.find(trust_domain) != stores_.end();
}

std::vector<std::string> TrustBundleSet::trustDomains() const {
  std::vector<std::string> out;
  for (const auto& [td, store] : stores_) out.push_back(td);
  return out;
}

X509_STORE* TrustBundleSet::storeFor(std::string_view trust_domain) const {
  const auto it = stores_.find(trust_domain);
  return it == stores_.end() ? nullptr : it->second;
}

Result<SpiffeId> spiffeIdFromCertificate(X509* cert) {
  if (cert == nullptr) {
    return makeError("no certificate");
  }
  int crit = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (names == nullptr) {
    if (crit == -1) {
      return makeError("certificate has no subjectAltName; an X509-SVID has exactly one URI SAN");
    }
    if (crit == -2) {
      return makeError("certificate has more than one subjectAltName extension");
    }
    return makeError("certificate has an undecodable subjectAltName extension");
  }
  // Count every URI entry: the spec requires rejecting certificates with more than one,
  // even if only one of them looks like a SPIFFE ID (X509-SVID §2).
  const GENERAL_NAME* uri = nullptr;
  int uri_count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) {
      uri = name;
      ++uri_count;
    }
  }
  if (uri_count == 0) {
    return makeError("certificate has no URI SAN; an X509-SVID has exactly one");
  }
  if (uri_count > 1) {
    return makeError("certificate has " + std::to_string(uri_count) +
                     " URI SANs; an X509-SVID has exactly one");
  }
  const ASN1_IA5STRING* ia5 = uri->d.uniformResourceIdentifier;
  const std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ia5)),
                              static_cast<std::size_t>(ASN1_STRING_length(ia5)));
  // An embedded NUL or any other stray byte is caught by the parser's character rules.
  Result<SpiffeId> id = SpiffeId::parse(text);
  if (!id.ok()) {
    return makeError("URI SAN is not a valid SPIFFE ID: " + id.error().message);
  }
  if (!id->hasPath()) {
    return makeError("URI SAN " + id->str() +
                     " has no path; that names a trust domain, not a workload");
  }
  return id;
}

VerifyOutcome verifyX509Svid(const TrustBundleSet& bundles, X509* leaf,
                             STACK_OF(X509) * untrusted_chain, std::time_t now) {
  if (leaf == nullptr) {
    return refuse(SvidFailure::kInvalidSvid, "no peer certificate");
  }
  // Step 1: identity.
  Result<SpiffeId> id = spiffeIdFromCertificate(leaf);
  if (!id.ok()) {
    return refuse(SvidFailure::kInvalidSvid, id.error().message);
  }
  // Step 2: leaf constraints. Done by hand because plain X.509 validation accepts a CA
  // certificate or a multi-URI certificate as a leaf (identity-standards §2, observed).
  if (Status s = checkLeafConstraints(leaf); !s.ok()) {
    return refuse(SvidFailure::kInvalidSvid, s.message());
  }
  // Step 3: the bundle of the leaf's own trust domain, never a pool of all roots, so a
  // federated CA cannot mint IDs in another trust domain.
  X509_STORE* store = bundles.storeFor(id->trustDomain());
  if (store == nullptr) {
    return refuse(SvidFailure::kUntrustedCertificate,
                  "no trust bundle for trust domain " + std::string(id->trustDomain()));
  }
  // Step 4: RFC 5280 path validation.
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted_chain) != 1) {
    return refuse(SvidFailure::kUntrustedCertificate,
                  "chain verification failed: " + takeOpensslError());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // X509_STRICT: RFC 5280 conformance of every certificate in the path (no explicit EC
  // curve parameters, AKID/SKID present, no negative serials, ...); ordinary P-256 CAs such
  // as SPIRE's pass it (see svid_verifier_test).
  // PARTIAL_CHAIN: every bundle certificate is a trust anchor, as in go-spiffe (Go's
  // x509 roots), so a bundle holding an intermediate still works.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN);
  if (now != 0) {
    X509_VERIFY_PARAM_set_time(param, now);
  }
  // No purpose is set: like go-spiffe (ExtKeyUsageAny), EKU is not enforced. OpenSSL still
  // requires every intermediate to be a CA (basicConstraints CA:TRUE).
  ERR_clear_error();
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();
    return refuse(SvidFailure::kUntrustedCertificate, std::string("chain verification failed: ") +
                                                          X509_verify_cert_error_string(err) +
                                                          " (depth " + std::to_string(depth) + ")");
  }

  VerifyOutcome outcome;
  outcome.ok = true;
  outcome.peer.id = std::move(id).value();
  unsigned int len = 0;
  if (X509_digest(leaf, EVP_sha256(), outcome.peer.cert_sha256.data(), &len) != 1 ||
      len != outcome.peer.cert_sha256.size()) {
    // Only on allocation failure; refuse rather than hand out an unbindable identity.
    return refuse(SvidFailure::kInvalidSvid, "cannot hash certificate: " + takeOpensslError());
  }
  outcome.peer.not_after = asn1TimeToTimeT(X509_get0_notAfter(leaf));
  return outcome;
}

}  // namespace warden::identity
