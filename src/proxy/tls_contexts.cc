#include "proxy/tls_contexts.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>
#include <atomic>
#include <fstream>
#include <sstream>

#include "policy/decision.h"
#include "proxy/file_digest.h"
#include "policy/policy.h"

namespace warden::proxy {
namespace ssl = boost::asio::ssl;

namespace {

std::uint64_t nextGeneration() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}

int handshakeStateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL turns the verify error into the alert the peer sees (RFC 8446 §6.2); the
// errors are picked for their alerts: unknown_ca for an untrusted chain (expired
// included), bad_certificate for a certificate that is not a valid X509-SVID, and
// handshake_failure for "valid, but not on the allow-list" or "not the expected peer".
int verifyCallback(X509_STORE_CTX* store_ctx, void* /*arg*/) {
  auto* ssl_obj = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state = ssl_obj == nullptr
                    ? nullptr
                    : static_cast<HandshakeState*>(SSL_get_ex_data(ssl_obj, handshakeStateIndex()));
  if (state == nullptr || state->bundles == nullptr) {
    // Fail closed: a handshake without its state cannot be authorized.
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store_ctx);
  auto outcome = identity::verifyX509Svid(*state->bundles, leaf, chain);
  if (!outcome.ok) {
    state->failure_reason = std::string(identity::toReasonCode(outcome.error.failure));
    state->failure_detail = outcome.error.detail;
    if (auto id = identity::spiffeIdFromCertificate(leaf); id.ok()) state->peer_id = id->str();
    X509_STORE_CTX_set_error(store_ctx, outcome.error.failure ==
                                                identity::SvidFailure::kUntrustedCertificate
                                            ? X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                                            : X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  state->peer_id = outcome.peer.id.str();
  if (state->policy != nullptr) {
    if (!state->policy->allowsPeer(outcome.peer.id)) {
      state->failure_reason = std::string(policy::reason::kPeerNotAllowed);
      state->failure_detail = "peer " + outcome.peer.id.str() + " is not on the allow-list";
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
    if (state->governance != nullptr && state->governance->isolated(outcome.peer.id.str())) {
      state->failure_reason = "agent_quarantined";
      state->failure_detail = "peer " + outcome.peer.id.str() + " is quarantined (isolated by an admin)";
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  } else if (state->expected_peer != nullptr) {
    if (outcome.peer.id.str() != *state->expected_peer) {
      state->failure_reason = std::string(policy::reason::kUpstreamIdentityMismatch);
      state->failure_detail = "server presented " + outcome.peer.id.str() + ", expected " +
                              *state->expected_peer;
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  } else {
    state->failure_reason = std::string(policy::reason::kPeerNotAllowed);
    state->failure_detail = "no authorization configured for this handshake";
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  state->peer = std::move(outcome.peer);
  state->verified = true;
  return 1;
}

int selectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  // Only HTTP/1.1 is spoken; if the client offers it, pick it, otherwise continue
  // without ALPN rather than failing the handshake.
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof(kHttp11), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string opensslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// `cert_label`/`key_label` name where the material came from, for error messages.
Status configureCommon(ssl::context& ctx, const std::string& cert_pem, const std::string& key_pem,
                       const std::string& cert_label, const std::string& key_label) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // ECDHE only, AEAD only, for TLS 1.2; TLS 1.3 suites are all AEAD.
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
  SSL_CTX_set1_groups_list(native, "X25519:P-256");
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  // No SSL_MODE_RELEASE_BUFFERS: it frees and re-allocates the record buffers around
  // every read and write of a busy keep-alive connection; ~34 KiB per open connection
  // is the cheaper side of that trade.

  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) return Error{cert_label + ": " + ec.message()};
  ctx.use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) return Error{key_label + ": " + ec.message()};
  if (SSL_CTX_check_private_key(native) != 1) {
    return Error{key_label + " does not match " + cert_label};
  }
  SSL_CTX_set_cert_verify_callback(native, &verifyCallback, nullptr);
  return {};
}

}  // namespace

void attachHandshakeState(SSL* ssl_obj, HandshakeState* state) {
  SSL_set_ex_data(ssl_obj, handshakeStateIndex(), state);
}

std::string identityFingerprint(const IdentityConfig& config) {
  std::vector<std::string> paths{config.cert_path, config.key_path};
  for (const auto& [td, path] : config.bundle_paths) paths.push_back(path);
  return digestFiles(paths);
}

Result<std::shared_ptr<const TlsContexts>> buildTlsContexts(const IdentityConfig& config) {
  auto cert_pem = readFile(config.cert_path);
  if (!cert_pem) return Error{"identity.cert: " + cert_pem.error().message};
  auto key_pem = readFile(config.key_path);
  if (!key_pem) return Error{"identity.key: " + key_pem.error().message};
  auto bundles = identity::TrustBundleSet::fromPemFiles(config.bundle_paths);
  if (!bundles) return Error{"identity.bundles: " + bundles.error().message};
  return buildTlsContextsFromPem({*cert_pem, *key_pem, *bundles, "identity.cert " + config.cert_path,
                                  "identity.key " + config.key_path, identityFingerprint(config)});
}

Result<std::shared_ptr<const TlsContexts>> buildTlsContextsFromPem(const TlsMaterial& m) {
  // Our own certificate must itself be a valid SVID of a configured trust domain;
  // serving with anything else would fail every peer's verification later, obscurely.
  BIO* bio = BIO_new_mem_buf(m.cert_chain_pem.data(), static_cast<int>(m.cert_chain_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  STACK_OF(X509)* chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) sk_X509_push(chain, extra);
  BIO_free(bio);
  ERR_clear_error();
  if (leaf == nullptr) {
    sk_X509_pop_free(chain, X509_free);
    return Error{m.cert_label + ": no PEM certificate found"};
  }
  auto own = identity::verifyX509Svid(*m.bundles, leaf, chain);
  X509_free(leaf);
  sk_X509_pop_free(chain, X509_free);
  if (!own.ok) {
    return Error{m.cert_label + " is not a valid X509-SVID for the configured bundles: " +
                 own.error.detail};
  }

  auto contexts = std::make_shared<TlsContexts>(TlsContexts{
      std::make_shared<ssl::context>(ssl::context::tls_server),
      std::make_shared<ssl::context>(ssl::context::tls_client), m.bundles, own.peer.id,
      own.peer.not_after, m.fingerprint, nextGeneration()});
  for (auto* ctx : {contexts->server.get(), contexts->client.get()}) {
    if (auto st = configureCommon(*ctx, m.cert_chain_pem, m.key_pem, m.cert_label, m.key_label);
        !st) {
      return Error{st.message() + " (" + opensslError() + ")"};
    }
  }
  SSL_CTX_set_verify(contexts->server->native_handle(),
                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_alpn_select_cb(contexts->server->native_handle(), &selectAlpn, nullptr);
  SSL_CTX_set_verify(contexts->client->native_handle(), SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(contexts->client->native_handle(), kAlpn, sizeof(kAlpn));
  return std::shared_ptr<const TlsContexts>(std::move(contexts));
}

std::string describeTlsAlert(const boost::system::error_code& ec) {
  if (ec.category() != boost::asio::error::get_ssl_category()) return {};
  const auto code = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) return {};
  const int reason = ERR_GET_REASON(code);
  // SSL_R_*_ALERT_* reasons are SSL_AD_REASON_OFFSET + the alert number.
  if (reason < SSL_AD_REASON_OFFSET || reason > SSL_AD_REASON_OFFSET + 255) return {};
  const char* text = SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET);
  return text != nullptr ? text : "unknown alert";
}

void expectServerSvid(token::HttpFetchRequest& request, const TlsContexts& tls, HandshakeState& hs,
                      const std::string& expected_id, std::string what) {
  request.tls = tls.client.get();
  request.check_server_name = false;
  hs.bundles = tls.bundles.get();
  hs.expected_peer = &expected_id;
  request.prepare = [&hs](SSL* ssl_obj) {
    attachHandshakeState(ssl_obj, &hs);
    return Status();
  };
  request.verify = [&hs, what = std::move(what)](SSL* ssl_obj) -> Status {
    attachHandshakeState(ssl_obj, nullptr);
    if (hs.verified) return {};
    return Error{what + "'s certificate was refused (" +
                 (hs.failure_reason.empty() ? std::string("not verified")
                                            : hs.failure_reason + ": " + hs.failure_detail) +
                 ")"};
  };
}

}  // namespace warden::proxy
