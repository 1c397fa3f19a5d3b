#include "issuer/svid_tls.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "issuer/key_store.h"

namespace warden::issuer {

Result<std::unique_ptr<SvidTls>> SvidTls::create(Issuer& issuer, const RegistrationEntry& entry,
                                                 std::string session_context) {
  std::unique_ptr<SvidTls> out(new SvidTls());
  out->issuer_ = &issuer;
  out->entry_ = std::make_shared<const RegistrationEntry>(entry);
  out->session_context_ = std::move(session_context);
  out->spiffe_id_ = entry.spiffe_id.str();
  if (!out->serverContext()) {
    return Error{"cannot build a TLS context from the X509-SVID of entry " + entry.name};
  }
  return out;
}

std::shared_ptr<boost::asio::ssl::context> SvidTls::serverContext() {
  auto state = issuer_->x509State({entry_});
  std::lock_guard lock(mutex_);
  if (!state || state->svids.empty()) {
    spdlog::error("{}: no X509-SVID for TLS: {}", session_context_,
                  state ? std::string("none issued") : state.error().message);
    return context_;
  }
  const auto& svid = state->svids.front().svid;
  if (svid == svid_ && context_) return context_;
  std::vector<X509*> chain;
  for (const auto& c : svid->chain) chain.push_back(c.get());
  auto ctx = net::managementServerContext(chain, svid->key.get(), session_context_);
  if (!ctx) {
    spdlog::error("{}: cannot use the new X509-SVID: {}", session_context_, ctx.error().message);
    return context_;
  }
  context_ = std::move(*ctx);
  svid_ = svid;
  return context_;
}

std::shared_ptr<const identity::TrustBundleSet> SvidTls::clientTrust() {
  const auto generation = issuer_->generation();
  std::lock_guard lock(mutex_);
  if (trust_ && generation == trust_generation_) return trust_;
  std::map<std::string, std::string> pem;
  for (const auto& [td, certs] : issuer_->x509Bundles()) {
    std::string text;
    for (const auto& c : certs) text += certificatePem(c.get());
    if (!text.empty()) pem[td] = std::move(text);
  }
  auto set = identity::TrustBundleSet::fromPem(pem);
  if (!set) {
    spdlog::error("{}: cannot build the client trust bundles: {}", session_context_,
                  set.error().message);
    return trust_;
  }
  trust_ = std::move(*set);
  trust_generation_ = generation;
  return trust_;
}

net::ClientIdentity SvidTls::identify(SSL* ssl) {
  net::ClientIdentity out;
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return out;
  out.presented = true;
  const auto trust = clientTrust();
  if (!trust) {
    out.error = "no trust bundles";
    return out;
  }
  auto verified = identity::verifyX509Svid(*trust, leaf, SSL_get_peer_cert_chain(ssl));
  if (!verified.ok) {
    out.error = std::string(identity::toReasonCode(verified.error.failure)) + ": " +
                verified.error.detail;
    return out;
  }
  out.spiffe_id = verified.peer.id.str();
  out.cert_sha256 = verified.peer.cert_sha256;
  return out;
}

}  // namespace warden::issuer
