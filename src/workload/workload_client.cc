#include "workload/workload_client.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "identity/spiffe_id.h"
#include "identity/svid_verifier.h"

namespace warden::workload {
namespace {

using CertList = std::vector<std::shared_ptr<X509>>;

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Concatenated DER certificates: the Workload API's chain and bundle encoding. The field
// name goes into the error, since a message has several such fields.
Result<CertList> parseDerCertificateList(const std::string& der, const std::string& what) {
  if (der.empty()) return makeError(what + " is empty");
  auto certs = identity::parseDerCertificates(der);
  if (!certs.ok()) return makeError(what + ": " + certs.error().message);
  return certs;
}

// Unencrypted PKCS#8 DER only (the spec's encoding), so a traditional SEC1/PKCS#1 key
// is refused rather than silently accepted.
Result<std::shared_ptr<EVP_PKEY>> parsePkcs8Key(const std::string& der) {
  if (der.empty()) return makeError("x509_svid_key is empty");
  const unsigned char* p = bytes(der);
  PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
  if (info == nullptr) return makeError("x509_svid_key is not PKCS#8 DER");
  const bool trailing = p != bytes(der) + der.size();
  EVP_PKEY* key = trailing ? nullptr : EVP_PKCS82PKEY(info);
  PKCS8_PRIV_KEY_INFO_free(info);
  if (trailing) return makeError("x509_svid_key has bytes after the PKCS#8 structure");
  if (key == nullptr) return makeError("x509_svid_key holds an unsupported private key");
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::time_t notAfter(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return timegm(&tm);
}

// Bundle map keys: SPIRE sends "spiffe://td"; go-spiffe also accepts a bare "td", and so
// do we (identity-standards §4.1, §11).
Result<std::string> trustDomainFromKey(const std::string& key) {
  if (key.rfind("spiffe://", 0) == 0) {
    auto id = identity::SpiffeId::parse(key);
    if (!id.ok()) return makeError("bundle key \"" + key + "\": " + id.error().message);
    if (id->hasPath()) {
      return makeError("bundle key \"" + key + "\" is not a trust domain ID (it has a path)");
    }
    return std::string(id->trustDomain());
  }
  if (Status st = identity::validateTrustDomain(key); !st.ok()) {
    return makeError("bundle key \"" + key + "\": " + st.message());
  }
  return key;
}

Result<X509Svid> parseSvid(const wire::X509Svid& in, std::size_t index) {
  const std::string where = "svids[" + std::to_string(index) + "]";
  auto fail = [&](const std::string& why) { return makeError(where + ": " + why); };
  auto id = identity::SpiffeId::parse(in.spiffe_id);
  if (!id.ok()) return fail("spiffe_id: " + id.error().message);
  auto chain = parseDerCertificateList(in.x509_svid, "x509_svid");
  if (!chain.ok()) return fail(chain.error().message);
  X509* leaf = chain->front().get();
  auto leaf_id = identity::spiffeIdFromCertificate(leaf);
  if (!leaf_id.ok()) {
    return fail("the first certificate of x509_svid must be the leaf: " +
                leaf_id.error().message);
  }
  if (!(*leaf_id == *id)) {
    return fail("the leaf certificate names " + leaf_id->str() + ", not " + id->str());
  }
  auto key = parsePkcs8Key(in.x509_svid_key);
  if (!key.ok()) return fail(key.error().message);
  if (X509_check_private_key(leaf, key->get()) != 1) {
    return fail("x509_svid_key does not match the leaf certificate's public key");
  }
  X509Svid svid;
  svid.spiffe_id = id->str();
  svid.chain = std::move(*chain);
  svid.private_key = std::move(*key);
  svid.hint = in.hint;
  svid.not_after = notAfter(leaf);
  return svid;
}

// Validates one FetchX509SVID message as a whole (identity-standards §4.3: every message
// is the complete state, so one bad part makes the whole message unusable). CRLs are not
// applied: the data plane has no CRL checking, and an unused field is no reason to refuse
// an otherwise good identity.
Result<X509Context> parseX509Response(const wire::X509SvidResponse& response) {
  if (response.svids.empty()) return makeError("the response has no SVIDs");
  X509Context context;
  for (std::size_t i = 0; i < response.svids.size(); ++i) {
    const wire::X509Svid& in = response.svids[i];
    auto svid = parseSvid(in, i);
    if (!svid.ok()) return svid.error();
    const std::string where = "svids[" + std::to_string(i) + "]";
    auto bundle = parseDerCertificateList(in.bundle, where + ".bundle");
    if (!bundle.ok()) return bundle.error();
    auto td = identity::SpiffeId::parse(svid->spiffe_id);
    // The first SVID of a trust domain supplies its bundle: SVIDs of one trust domain
    // carry the same bundle, and svids[0] is the default identity.
    context.bundles.emplace(std::string(td->trustDomain()), std::move(*bundle));
    context.svids.push_back(std::move(*svid));
  }
  for (const auto& [key, der] : response.federated_bundles) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("federated_bundles: " + td.error().message);
    auto certs = parseDerCertificateList(der, "federated_bundles[\"" + key + "\"]");
    if (!certs.ok()) return certs.error();
    // The SVID's own bundle is authoritative for its trust domain; a federated copy of it
    // must not replace the roots that issued our own identity.
    if (!context.bundles.emplace(*td, std::move(*certs)).second) {
      spdlog::warn("workload api: federated bundle for {} ignored: it is an SVID's own trust "
                   "domain", *td);
    }
  }
  return context;
}

std::string bioText(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem == nullptr ? std::string() : std::string(mem->data, mem->length);
}

}  // namespace

std::string X509Svid::chainPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) return {};
  for (const auto& cert : chain) {
    if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) return {};
  }
  return bioText(bio.get());
}

std::string X509Svid::keyPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !private_key) return {};
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"), the same structure the Workload API sent.
  if (PEM_write_bio_PrivateKey(bio.get(), private_key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return {};
  }
  return bioText(bio.get());
}


// ---------------------------------------------------------------------------------------
// X509Watcher: the transport's subscription, with every message validated here.

struct X509Watcher::Impl {
  std::unique_ptr<wire::X509Stream> stream;  // none when no transport could be loaded
};

X509Watcher::X509Watcher(EndpointAddress endpoint, UpdateFn on_update, ErrorFn on_error,
                         BackoffPolicy backoff)
    : impl_(std::make_unique<Impl>()) {
  if (backoff.initial.count() < 1) backoff.initial = std::chrono::milliseconds(1);
  if (backoff.max < backoff.initial) backoff.max = backoff.initial;
  auto factory = transportFactory();
  if (!factory.ok()) {
    // Sidecar::create checks transportFactory() first, so this is only reached by a caller
    // that did not; without a transport there is nothing to watch, and no identity comes.
    spdlog::error("workload api: {}", factory.error().message);
    return;
  }
  auto on_message = [on_update = std::move(on_update)](const wire::X509SvidResponse& message) {
    auto parsed = parseX509Response(message);
    if (!parsed.ok()) return parsed.error().message;
    on_update(*parsed);
    return std::string();
  };
  impl_->stream = (*factory)->watchX509(endpoint.grpcTarget(), backoff, std::move(on_message),
                                        std::move(on_error));
}

X509Watcher::~X509Watcher() = default;

// ---------------------------------------------------------------------------------------
// WorkloadClient

struct WorkloadClient::Impl {
  std::unique_ptr<wire::Transport> transport;
  std::string unavailable;  // why there is no transport
};

WorkloadClient::WorkloadClient(EndpointAddress endpoint, std::chrono::milliseconds deadline)
    : impl_(std::make_unique<Impl>()) {
  auto factory = transportFactory();
  if (factory.ok()) {
    impl_->transport = (*factory)->connect(endpoint.grpcTarget(), deadline);
  } else {
    impl_->unavailable = factory.error().message;
  }
}

WorkloadClient::~WorkloadClient() = default;

Result<std::vector<JwtSvid>> WorkloadClient::fetchJwtSvids(
    const std::vector<std::string>& audiences, const std::string& spiffe_id) {
  if (audiences.empty()) return makeError("FetchJWTSVID: at least one audience is required");
  if (!impl_->transport) return makeError("FetchJWTSVID: " + impl_->unavailable);
  auto response = impl_->transport->fetchJwtSvid(audiences, spiffe_id);
  if (!response.ok()) return response.error();
  if (response->empty()) return makeError("FetchJWTSVID: the response has no SVIDs");
  std::vector<JwtSvid> out;
  for (std::size_t i = 0; i < response->size(); ++i) {
    wire::JwtSvid& in = (*response)[i];
    const std::string where = "FetchJWTSVID: svids[" + std::to_string(i) + "]";
    if (auto id = identity::SpiffeId::parse(in.spiffe_id); !id.ok()) {
      return makeError(where + ".spiffe_id: " + id.error().message);
    }
    if (in.svid.empty()) return makeError(where + ".svid is empty");
    out.push_back(JwtSvid{std::move(in.spiffe_id), std::move(in.svid), std::move(in.hint)});
  }
  return out;
}

Result<std::map<std::string, identity::SpiffeBundle>> WorkloadClient::fetchJwtBundles() {
  if (!impl_->transport) return makeError("FetchJWTBundles: " + impl_->unavailable);
  auto first = impl_->transport->fetchJwtBundles();
  if (!first.ok()) return first.error();
  std::map<std::string, identity::SpiffeBundle> out;
  for (const auto& [key, jwks] : *first) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("FetchJWTBundles: " + td.error().message);
    // Plain JWKS here, `use` not required (identity-standards §4.1).
    auto bundle = identity::parseJwtJwks(jwks, *td);
    if (!bundle.ok()) {
      return makeError("FetchJWTBundles: bundle \"" + key + "\": " + bundle.error().message);
    }
    out.emplace(*td, std::move(*bundle));
  }
  return out;
}

Result<std::map<std::string, std::vector<std::shared_ptr<X509>>>>
WorkloadClient::fetchX509Bundles() {
  if (!impl_->transport) return makeError("FetchX509Bundles: " + impl_->unavailable);
  auto first = impl_->transport->fetchX509Bundles();
  if (!first.ok()) return first.error();
  std::map<std::string, CertList> out;
  for (const auto& [key, der] : *first) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("FetchX509Bundles: " + td.error().message);
    auto certs = parseDerCertificateList(der, "FetchX509Bundles: bundle \"" + key + "\"");
    if (!certs.ok()) return certs.error();
    out.emplace(*td, std::move(*certs));
  }
  if (out.empty()) return makeError("FetchX509Bundles: the response has no bundles");
  return out;
}

Result<ValidatedJwtSvid> WorkloadClient::validateJwtSvid(const std::string& audience,
                                                         const std::string& token) {
  if (audience.empty()) return makeError("ValidateJWTSVID: the audience is required");
  if (token.empty()) return makeError("ValidateJWTSVID: the token is required");
  if (!impl_->transport) return makeError("ValidateJWTSVID: " + impl_->unavailable);
  auto response = impl_->transport->validateJwtSvid(audience, token);
  if (!response.ok()) return response.error();
  if (auto id = identity::SpiffeId::parse(response->spiffe_id); !id.ok()) {
    return makeError("ValidateJWTSVID: spiffe_id: " + id.error().message);
  }
  return ValidatedJwtSvid{std::move(response->spiffe_id), std::move(response->claims_json)};
}

Result<X509Context> WorkloadClient::fetchX509Context() {
  if (!impl_->transport) return makeError("FetchX509SVID: " + impl_->unavailable);
  auto first = impl_->transport->fetchX509Svid();
  if (!first.ok()) return first.error();
  auto parsed = parseX509Response(*first);
  if (!parsed.ok()) return makeError("FetchX509SVID: " + parsed.error().message);
  return parsed;
}

}  // namespace warden::workload
