#include "tokenservice/token_service.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "net/tls_client.h"
#include "issuer/key_store.h"
#include "tokenservice/issuer_fetch.h"
#include "tokenservice/metadata.h"
#include "tokenservice/token_validation.h"

namespace warden::tokenservice {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// Covers the idle wait between keep-alive requests and the reading of one request.
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);
constexpr std::size_t kMaxConnections = 512;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Response = http::response<http::string_body>;

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The client certificate is verified after the handshake (ClientCertificate), against
// the bundles in force at that moment; OpenSSL's own chain check would need a static
// store and would fail handshakes that private_key_jwt clients should survive.
int acceptAnyClientCertificate(X509_STORE_CTX* /*ctx*/, void* /*arg*/) { return 1; }

Result<std::shared_ptr<ssl::context>> serverContext(const std::vector<issuer::X509Ref>& chain,
                                                   EVP_PKEY* key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  net::hardenTls(native);
  if (chain.empty() || SSL_CTX_use_certificate(native, chain.front().get()) != 1) {
    return Error{"server certificate: " + net::drainOpensslErrors()};
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    // add1 takes its own reference.
    if (SSL_CTX_add1_chain_cert(native, chain[i].get()) != 1) {
      return Error{"server certificate chain: " + net::drainOpensslErrors()};
    }
  }
  if (SSL_CTX_use_PrivateKey(native, key) != 1 || SSL_CTX_check_private_key(native) != 1) {
    net::drainOpensslErrors();
    return Error{"the server key does not match the server certificate"};
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(native, &acceptAnyClientCertificate, nullptr);
  static const unsigned char kSessionContext[] = "warden-token-service";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  return ctx;
}

struct ServerCredential {
  std::vector<issuer::X509Ref> chain;
  issuer::PkeyRef key;
};

}  // namespace

struct TokenService::Impl {
  // What connection coroutines reference is declared before `ioc`: coroutines still
  // suspended at stop are destroyed with the io_context, so these must outlive it.
  TokenServiceConfig config;
  TokenServiceTuning tuning;
  issuer::Issuer* issuer = nullptr;
  std::unique_ptr<issuer::JwtAuthority> keys;
  Endpoints endpoints;
  std::unique_ptr<ExternalKeyCache> external_keys;
  std::unique_ptr<ReplayCache> replay;
  std::unique_ptr<FailureLimiter> limiter;
  std::unique_ptr<TokenEndpoint> endpoint;

  mutable std::mutex policy_mutex;
  std::shared_ptr<const TokenPolicy> policy;

  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> refused{0};

  // I/O thread only.
  std::function<Result<ServerCredential>()> svid_source;  // tls.svid
  std::shared_ptr<ssl::context> tls;
  X509* tls_leaf = nullptr;  // identity of the certificate `tls` serves (svid mode)
  std::uint64_t trust_generation = 0;
  std::shared_ptr<const identity::TrustBundleSet> client_trust;
  std::map<std::string, std::shared_ptr<asio::steady_timer>> fetches_in_flight;
  std::size_t connections = 0;

  asio::io_context ioc{1};
  // I/O objects are declared after `ioc`: they must be destroyed before it.
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> rotation_timer;
  std::uint16_t port = 0;
  std::thread thread;

  std::shared_ptr<const TokenPolicy> currentPolicy() const {
    std::lock_guard lock(policy_mutex);
    return policy;
  }

  // The TLS context for a new connection: rebuilt when the server's SVID changed.
  std::shared_ptr<ssl::context> tlsForNewConnection() {
    if (!svid_source) return tls;
    auto credential = svid_source();
    if (!credential) {
      spdlog::error("token service: no X509-SVID for TLS: {}", credential.error().message);
      return tls;  // keep serving the last one until it expires
    }
    if (credential->chain.front().get() != tls_leaf || !tls) {
      auto ctx = serverContext(credential->chain, credential->key.get());
      if (!ctx) {
        spdlog::error("token service: cannot use the new X509-SVID: {}", ctx.error().message);
        return tls;
      }
      tls = std::move(*ctx);
      tls_leaf = credential->chain.front().get();
      // The chain keeps tls_leaf alive for as long as the context is the current one.
      tls_credential = std::move(*credential);
    }
    return tls;
  }
  ServerCredential tls_credential;

  // Bundles for client certificates, rebuilt when the issuer's state changed.
  std::shared_ptr<const identity::TrustBundleSet> clientTrust() {
    const auto generation = issuer->generation();
    if (client_trust && generation == trust_generation) return client_trust;
    std::map<std::string, std::string> pem;
    for (const auto& [td, certs] : issuer->x509Bundles()) {
      std::string text;
      for (const auto& c : certs) text += issuer::certificatePem(c.get());
      if (!text.empty()) pem[td] = std::move(text);
    }
    auto set = identity::TrustBundleSet::fromPem(pem);
    if (!set) {
      spdlog::error("token service: cannot build the client trust bundles: {}", set.error().message);
      return client_trust;
    }
    client_trust = std::move(*set);
    trust_generation = generation;
    return client_trust;
  }
};

namespace {

ClientCertificate clientCertificate(TokenService::Impl& impl, SSL* ssl_obj) {
  ClientCertificate out;
  X509* leaf = SSL_get0_peer_certificate(ssl_obj);
  if (leaf == nullptr) return out;
  out.presented = true;
  const auto trust = impl.clientTrust();
  if (!trust) {
    out.error = "no trust bundles";
    return out;
  }
  auto verified = identity::verifyX509Svid(*trust, leaf, SSL_get_peer_cert_chain(ssl_obj));
  if (verified.ok) {
    out.svid = verified.peer;
  } else {
    out.error = std::string(identity::toReasonCode(verified.error.failure)) + ": " +
                verified.error.detail;
  }
  return out;
}

Response jsonResponse(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

// Answers outside the token endpoint's own decisions (routing, methods, framing), in the
// same JSON shape.
Response errorResponse(http::status status, std::string_view error, std::string_view description) {
  return jsonResponse(status, nlohmann::json{{"error", error},
                                             {"error_description", sanitizeDescription(description)}}
                                  .dump());
}

// Fetches an external issuer's keys when a token of that issuer needs them; concurrent
// requests for the same issuer wait for the one fetch in flight.
asio::awaitable<void> ensureIssuerKeys(TokenService::Impl& impl, ExternalIssuerConfig issuer,
                                       std::string kid) {
  if (auto it = impl.fetches_in_flight.find(issuer.issuer); it != impl.fetches_in_flight.end()) {
    auto done = it->second;  // keep the timer alive while waiting on it
    co_await done->async_wait(kTuple);
    co_return;
  }
  if (!impl.external_keys->claimFetch(issuer.issuer, kid, ExternalKeyCache::Clock::now())) {
    co_return;
  }
  auto done = std::make_shared<asio::steady_timer>(impl.ioc, asio::steady_timer::time_point::max());
  impl.fetches_in_flight[issuer.issuer] = done;
  const std::string name = issuer.issuer;
  co_await refreshIssuerKeys(*impl.external_keys, std::move(issuer));
  impl.fetches_in_flight.erase(name);
  done->cancel();
}

asio::awaitable<void> prefetchExternalKeys(TokenService::Impl& impl, const std::string& body) {
  auto form = parseForm(body);
  if (!form) co_return;
  const auto policy = impl.currentPolicy();
  if (!policy || !policy->hasExternalIssuers()) co_return;
  for (const char* name : {"client_assertion", "subject_token"}) {
    const auto it = form->find(name);
    if (it == form->end()) continue;
    auto peek = peekToken(it->second.front());
    if (!peek || !peek->external(impl.issuer->jwtIssuer())) continue;
    const ExternalIssuerConfig* issuer = policy->externalIssuer(peek->iss);
    if (issuer == nullptr) continue;
    co_await ensureIssuerKeys(impl, *issuer, peek->kid);
  }
}

void logOutcome(TokenService::Impl& impl, const TokenEndpoint::Outcome& outcome,
                const std::string& source) {
  if (!outcome.error) {
    ++impl.issued;
    const auto& t = outcome.issued;
    std::string roles;
    for (const auto& r : t.roles) roles += (roles.empty() ? "" : ",") + r;
    spdlog::info("token service: issued {} token to {} for {} roles [{}] via {}{}{}", t.grant,
                 t.agent, t.audience, roles, t.auth_method, t.bound ? " (certificate-bound)" : "",
                 t.actor.empty() ? "" : " acting: " + t.actor);
    return;
  }
  ++impl.refused;
  spdlog::info("token service: refused a token request from {}: {} ({})", source,
               outcome.error->name(), sanitizeDescription(outcome.error->description));
}

asio::awaitable<Response> respond(TokenService::Impl& impl,
                                  const http::request<http::string_body>& req,
                                  const ClientCertificate& cert, const std::string& source) {
  const std::string_view target = req.target();
  const auto query = target.find('?');
  const std::string_view path = target.substr(0, query);
  const Endpoints& e = impl.endpoints;
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  if (path == e.oidc_discovery_path || path == e.oauth_metadata_path || path == e.jwks_path) {
    if (!get) {
      auto res = errorResponse(http::status::method_not_allowed, "invalid_request", "use GET");
      res.set(http::field::allow, "GET, HEAD");
      co_return res;
    }
    if (path == e.jwks_path) {
      auto res = jsonResponse(http::status::ok, jwksDocument(impl.keys->publishedKeys()));
      // Short enough that a key prepared now is seen by every cache well before it signs
      // (it is published for a quarter of the key lifetime before activation).
      const auto max_age = std::min<std::int64_t>(300, impl.config.key_ttl.count() / 8);
      res.set(http::field::cache_control, "public, max-age=" + std::to_string(max_age));
      co_return res;
    }
    std::vector<std::string> audiences;
    if (auto policy = impl.currentPolicy()) {
      for (const auto& a : policy->audiences()) audiences.push_back(a.config.id);
    }
    auto res = jsonResponse(http::status::ok, metadataDocument(e, audiences));
    res.set(http::field::cache_control, "public, max-age=300");
    co_return res;
  }
  if (path != e.token_path) {
    co_return errorResponse(http::status::not_found, "not_found", "no such endpoint");
  }
  if (req.method() != http::verb::post) {
    auto res = errorResponse(http::status::method_not_allowed, "invalid_request",
                             "the token endpoint takes POST only");
    res.set(http::field::allow, "POST");
    co_return res;
  }
  if (query != std::string_view::npos) {
    // RFC 6749 §3.2: parameters travel in the body; a query string could leak
    // credentials into logs and would be a second, ambiguous source of parameters.
    co_return errorResponse(http::status::bad_request, "invalid_request",
                            "the token endpoint takes no query parameters");
  }
  TokenHttpRequest request;
  request.content_type = std::string(req[http::field::content_type]);
  request.authorization = std::string(req[http::field::authorization]);
  request.body = req.body();
  request.source = source;
  request.client_cert = cert;
  co_await prefetchExternalKeys(impl, request.body);
  TokenEndpoint::Outcome outcome;
  HttpAnswer answer = impl.endpoint->handle(request, &outcome);
  logOutcome(impl, outcome, source);
  Response res{static_cast<http::status>(answer.status), 11};
  for (const auto& [name, value] : answer.headers) res.set(name, value);
  res.body() = std::move(answer.body);
  co_return res;
}

class ConnectionCount {
 public:
  explicit ConnectionCount(std::size_t& count) : count_(count) { ++count_; }
  ~ConnectionCount() { --count_; }
  ConnectionCount(const ConnectionCount&) = delete;
  ConnectionCount& operator=(const ConnectionCount&) = delete;

 private:
  std::size_t& count_;
};

asio::awaitable<void> serveConnection(asio::ip::tcp::socket socket,
                                      std::shared_ptr<ssl::context> tls,
                                      TokenService::Impl& impl) {
  ConnectionCount count(impl.connections);
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string source = ec ? std::string("unknown") : remote.address().to_string();
  TlsStream stream(std::move(socket), *tls);
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(kHandshakeTimeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
  if (hec) {
    spdlog::debug("token service: TLS handshake from {} failed: {}", source, hec.message());
    net::drainOpensslErrors();
    co_return;
  }
  // Identity is captured once per connection (no renegotiation, no post-handshake auth).
  const ClientCertificate cert = clientCertificate(impl, stream.native_handle());
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxFormBytes);
    tcp.expires_after(kRequestTimeout);
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (rec) {
      if (rec == http::error::body_limit) {
        auto res = errorResponse(http::status::payload_too_large, "invalid_request",
                                 "the request body is too large");
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, kTuple);
      } else if (rec != http::error::end_of_stream && rec != ssl::error::stream_truncated) {
        spdlog::debug("token service: reading a request from {}: {}", source, rec.message());
      }
      break;
    }
    const auto& req = parser.get();
    Response res = co_await respond(impl, req, cert, source);
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
      const std::size_t length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !res.keep_alive()) break;
  }
  tcp.expires_after(kShutdownTimeout);
  co_await stream.async_shutdown(kTuple);
}

asio::awaitable<void> acceptLoop(TokenService::Impl& impl) {
  for (;;) {
    auto [ec, socket] = co_await impl.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !impl.acceptor->is_open()) co_return;
      spdlog::warn("token service: accept failed: {}", ec.message());
      asio::steady_timer pause(impl.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto tls = impl.tlsForNewConnection();
    if (impl.connections >= kMaxConnections || !tls) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(impl.ioc, serveConnection(std::move(socket), std::move(tls), impl),
                   asio::detached);
  }
}

asio::awaitable<void> rotationLoop(TokenService::Impl& impl) {
  for (;;) {
    impl.rotation_timer->expires_after(impl.tuning.rotation_tick);
    auto [ec] = co_await impl.rotation_timer->async_wait(kTuple);
    if (ec) co_return;
    auto changed = impl.keys->rotate(std::time(nullptr));
    if (!changed) {
      spdlog::error("token service: key rotation failed: {}", changed.error().message);
    } else if (*changed) {
      spdlog::info("token service: signing keys rotated; active kid {}", impl.keys->activeKid());
    }
  }
}

}  // namespace

TokenService::TokenService() : impl_(std::make_unique<Impl>()) {}

TokenService::~TokenService() {
  if (!impl_) return;
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<TokenService>> TokenService::start(
    const TokenServiceConfig& config, issuer::Issuer& issuer,
    const std::vector<issuer::RegistrationEntry>& entries, const std::string& state_dir,
    TokenServiceTuning tuning) {
  std::unique_ptr<TokenService> service(new TokenService());
  Impl& impl = *service->impl_;
  impl.config = config;
  impl.tuning = tuning;
  impl.issuer = &issuer;

  if (auto st = validateAgainstJwtIssuer(config.policy, issuer.jwtIssuer()); !st) {
    return st.error();
  }
  auto policy = TokenPolicy::compile(config.policy);
  if (!policy) return Error{"token_service: " + policy.error().message};
  impl.policy = std::move(*policy);

  issuer::JwtAuthorityOptions key_options;
  key_options.trust_domain = issuer.trustDomain();
  key_options.state_dir = state_dir;
  key_options.key_ttl = config.key_ttl;
  // A retired key stays in the JWKS until every token it signed has expired.
  std::chrono::seconds longest = config.policy.token_ttl;
  for (const auto& a : config.policy.audiences) longest = std::max(longest, a.token_ttl.value_or(longest));
  key_options.max_token_ttl = longest + tuning.leeway;
  key_options.subdir = "token-keys";
  auto keys = issuer::JwtAuthority::open(key_options);
  if (!keys) return Error{"token_service: signing keys: " + keys.error().message};
  impl.keys = std::move(*keys);
  if (auto rotated = impl.keys->rotate(std::time(nullptr)); !rotated) {
    return Error{"token_service: signing keys: " + rotated.error().message};
  }

  if (!config.tls_svid_entry.empty()) {
    const auto entry = std::find_if(entries.begin(), entries.end(), [&](const auto& e) {
      return e.name == config.tls_svid_entry;
    });
    if (entry == entries.end()) {
      return Error{"token_service.tls.svid: no registration entry named " + config.tls_svid_entry};
    }
    auto shared = std::make_shared<const issuer::RegistrationEntry>(*entry);
    issuer::Issuer* iss = &issuer;
    impl.svid_source = [iss, shared]() -> Result<ServerCredential> {
      auto state = iss->x509State({shared});
      if (!state) return state.error();
      if (state->svids.empty()) return Error{"no SVID"};
      const auto& svid = state->svids.front().svid;
      return ServerCredential{svid->chain, svid->key};
    };
    if (!impl.tlsForNewConnection()) {
      return Error{"token_service.tls.svid: cannot build a TLS context from the SVID of " +
                   config.tls_svid_entry};
    }
  } else {
    auto cert_pem = readText(config.tls_cert_path);
    if (!cert_pem) return Error{"token_service.tls.cert: " + cert_pem.error().message};
    auto key = issuer::loadPrivateKeyFile(config.tls_key_path);
    if (!key) return Error{"token_service.tls.key: " + key.error().message};
    if (!*key) return Error{"token_service.tls.key: cannot read " + config.tls_key_path};
    auto chain = identity::parsePemCertificates(*cert_pem);
    if (!chain) return Error{"token_service.tls.cert: " + chain.error().message};
    std::vector<issuer::X509Ref> refs(chain->begin(), chain->end());
    auto ctx = serverContext(refs, key->value().get());
    if (!ctx) return Error{"token_service.tls: " + ctx.error().message};
    impl.tls = std::move(*ctx);
  }

  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.listen_host, ec);
  if (ec) return Error{"token_service.listen: \"" + config.listen_host + "\" is not an IP address"};
  const asio::ip::tcp::endpoint endpoint(address, config.listen_port);
  impl.acceptor.emplace(impl.ioc);
  impl.acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor->bind(endpoint, ec);
  if (!ec) impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{"token_service.listen: " + config.listen_host + ":" +
                 std::to_string(config.listen_port) + ": " + ec.message()};
  }
  impl.port = impl.acceptor->local_endpoint(ec).port();
  std::string issuer_id = config.issuer;
  if (issuer_id.empty()) {
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    issuer_id = "https://" + host + ":" + std::to_string(impl.port);
  }
  impl.endpoints = endpointsFor(issuer_id);

  impl.external_keys = std::make_unique<ExternalKeyCache>(tuning.external_keys);
  impl.replay = std::make_unique<ReplayCache>();
  impl.limiter = std::make_unique<FailureLimiter>(config.failed_auth.burst,
                                                  config.failed_auth.refill_every);
  TokenEndpointOptions options;
  options.issuer = impl.endpoints.issuer;
  options.token_endpoint = impl.endpoints.token_endpoint;
  options.leeway = tuning.leeway;
  options.svid_issuer = issuer.jwtIssuer();
  options.svid_trust_domain = issuer.trustDomain();
  Impl* self = &impl;
  impl.endpoint = std::make_unique<TokenEndpoint>(
      options, [self] { return self->currentPolicy(); },
      [self] { return self->issuer->jwtBundles(); }, *impl.keys, *impl.external_keys,
      *impl.replay, *impl.limiter);

  impl.rotation_timer.emplace(impl.ioc);
  asio::co_spawn(impl.ioc, acceptLoop(impl), asio::detached);
  asio::co_spawn(impl.ioc, rotationLoop(impl), asio::detached);
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  spdlog::info("token service: issuer {} listening on {}:{} ({} agents, {} audiences)",
               impl.endpoints.issuer, config.listen_host, impl.port, config.policy.agents.size(),
               config.policy.audiences.size());
  return service;
}

std::uint16_t TokenService::port() const { return impl_->port; }

const std::string& TokenService::issuerIdentifier() const { return impl_->endpoints.issuer; }

Status TokenService::replacePolicy(TokenPolicyConfig policy) {
  if (auto st = validateAgainstJwtIssuer(policy, impl_->issuer->jwtIssuer()); !st) return st;
  auto compiled = TokenPolicy::compile(std::move(policy));
  if (!compiled) return compiled.error();
  std::lock_guard lock(impl_->policy_mutex);
  impl_->policy = std::move(*compiled);
  return {};
}

std::shared_ptr<const TokenPolicy> TokenService::policy() const { return impl_->currentPolicy(); }

issuer::JwtAuthority& TokenService::signingKeys() { return *impl_->keys; }

TokenServiceStats TokenService::stats() const {
  return {impl_->issued.load(), impl_->refused.load()};
}

}  // namespace warden::tokenservice
