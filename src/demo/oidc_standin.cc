#include "demo/oidc_standin.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <pthread.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "common/percent_decoding.h"
#include "demo/atomic_file.h"
#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "net/https_server.h"
#include "net/tls_client.h"

namespace warden::demo {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

constexpr std::string_view kDiscoveryPath = "/.well-known/openid-configuration";
constexpr std::string_view kJwksPath = "/.well-known/jwks";
constexpr std::string_view kTokenPath = "/token";
// GitHub back-dates nbf so that a verifier whose clock runs slightly behind still accepts
// a token the moment it is issued; a few seconds do that on one host.
constexpr std::int64_t kNotBeforeSkewSeconds = 5;
constexpr std::size_t kMaxAudienceBytes = 256;
constexpr std::size_t kRequestTokenBytes = 32;

std::string randomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return {};
  return out;
}

// GitHub's jti is a UUID; version 4 from 16 random bytes.
std::string randomUuid() {
  std::string bytes = randomBytes(16);
  if (bytes.empty())
    return {};
  bytes[6] = static_cast<char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3F) | 0x80);
  std::string hex;
  appendHex(hex, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

jose::PkeyPtr generateRsaKey() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 || EVP_PKEY_generate(ctx, &key) != 1) {
    key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  return jose::PkeyPtr(key);
}

// The issuer is an origin only (see the header); a trailing slash would be another issuer
// to every exact-match verifier, so it is refused rather than silently dropped.
Status checkIssuer(const std::string& issuer) {
  constexpr std::string_view kScheme = "https://";
  if (issuer.rfind(kScheme, 0) != 0 || issuer.size() == kScheme.size()) {
    return Error{"issuer " + issuer + ": must be an https URL"};
  }
  if (issuer.find_first_of("/?#", kScheme.size()) != std::string::npos) {
    return Error{"issuer " + issuer + ": scheme, host and port only (no path, no trailing slash)"};
  }
  return Status::okStatus();
}

// What GitHub derives from the workflow run, read back from the subject: repository and
// owner from `repo:ORG/REPO`, then `ref:` or `environment:` pairs.
struct SubjectParts {
  std::string repository, owner, ref, environment;
};

SubjectParts partsOf(const std::string& subject) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = subject.find(':', start);
    segments.push_back(subject.substr(start, colon - start));
    if (colon == std::string::npos)
      break;
    start = colon + 1;
  }
  SubjectParts parts;
  if (segments.size() >= 2 && segments[0] == "repo") {
    parts.repository = segments[1];
    parts.owner = segments[1].substr(0, segments[1].find('/'));
  }
  for (std::size_t i = 2; i + 1 < segments.size(); i += 2) {
    if (segments[i] == "ref")
      parts.ref = segments[i + 1];
    if (segments[i] == "environment")
      parts.environment = segments[i + 1];
  }
  if (parts.ref.empty())
    parts.ref = "refs/heads/main";
  return parts;
}

net::HttpResponse errorResponse(unsigned status, const std::string& error,
                                const std::string& description) {
  return net::jsonResponse(status,
                           json{{"error", error}, {"error_description", description}}.dump());
}

}  // namespace

struct OidcStandin::Impl {
  OidcStandinOptions options;
  jose::PkeyPtr key;
  std::string kid;
  std::string request_token;
  std::string run_id;
  SubjectParts subject_parts;
  std::shared_ptr<asio::ssl::context> tls;
  std::unique_ptr<net::HttpsServer> server;
  std::unique_ptr<asio::steady_timer> refresh_timer;
  // The listener accepts before the issuer URL (which may hold the ephemeral port) is
  // known; the documents are built after, and published by this flag.
  std::atomic<bool> ready{false};
  std::string issuer;
  std::string discovery_body;
  std::string jwks_body;
  mutable std::mutex file_mutex;  // one writer of the token file at a time

  Result<std::string> mint(const std::string& audience) const;
  Status writeTokenFile() const;
  net::HttpResponse handle(const net::HttpRequest& req) const;
  net::HttpResponse handleToken(const net::HttpRequest& req, std::string_view query) const;
};

Result<std::string> OidcStandin::Impl::mint(const std::string& audience) const {
  const std::int64_t now = std::time(nullptr);
  const std::string jti = randomUuid();
  if (jti.empty())
    return Error{"no randomness for jti"};
  json claims = {
      {"jti", jti},
      {"sub", options.subject},
      {"aud", audience.empty() ? options.audience : audience},
      {"ref", subject_parts.ref},
      {"workflow", "deploy"},
      {"event_name", "push"},
      {"run_id", run_id},
      {"runner_environment", "self-hosted"},
      {"iss", issuer},
      {"nbf", now - kNotBeforeSkewSeconds},
      {"iat", now},
      {"exp", now + options.token_ttl.count()},
  };
  if (!subject_parts.repository.empty()) {
    claims["repository"] = subject_parts.repository;
    claims["repository_owner"] = subject_parts.owner;
  }
  if (!subject_parts.environment.empty())
    claims["environment"] = subject_parts.environment;
  return jose::signCompact(json{{"kid", kid}, {"typ", "JWT"}}, claims, jose::Alg::kRS256,
                           key.get());
}

Status OidcStandin::Impl::writeTokenFile() const {
  if (options.token_file.empty())
    return Status::okStatus();
  auto token = mint({});
  if (!token)
    return Error{"token file: " + token.error().message};
  std::lock_guard lock(file_mutex);
  return writeFileAtomically(options.token_file, *token, 0600);
}

net::HttpResponse OidcStandin::Impl::handle(const net::HttpRequest& req) const {
  if (!ready.load(std::memory_order_acquire)) {
    return errorResponse(503, "temporarily_unavailable", "starting");
  }
  const std::string_view target = req.target();
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (path != kDiscoveryPath && path != kJwksPath && path != kTokenPath) {
    return errorResponse(404, "not_found", "no such endpoint");
  }
  if (req.method() != http::verb::get) {
    auto res = errorResponse(405, "method_not_allowed", "GET only");
    res.set(http::field::allow, "GET");
    return res;
  }
  if (path == kDiscoveryPath)
    return net::jsonResponse(200, discovery_body);
  if (path == kJwksPath)
    return net::jsonResponse(200, jwks_body);
  return handleToken(req, query);
}

net::HttpResponse OidcStandin::Impl::handleToken(const net::HttpRequest& req,
                                                 std::string_view query) const {
  auto unauthorized = [](const std::string& why) {
    auto res = errorResponse(401, "unauthorized", why);
    res.set(http::field::www_authenticate, "Bearer realm=\"oidc-standin\"");
    return res;
  };
  const auto auth = req.find(http::field::authorization);
  if (auth == req.end())
    return unauthorized("a request token is required");
  const std::string_view value = auth->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
    return unauthorized("a request token is required");
  }
  const std::string_view presented = value.substr(kBearer.size());
  // The length is public (always 43 characters); the content is compared in constant time.
  if (presented.size() != request_token.size() ||
      CRYPTO_memcmp(presented.data(), request_token.data(), request_token.size()) != 0) {
    return unauthorized("the request token is not valid");
  }

  // GitHub's ACTIONS_ID_TOKEN_REQUEST_URL carries other parameters (api-version); only
  // `audience` matters here, and it may appear once.
  std::optional<std::string> audience;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    const std::size_t amp = query.find('&', start);
    const std::string_view pair =
        query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    const std::size_t eq = pair.find('=');
    const auto name = percentDecode(pair.substr(0, eq), PlusSign::kSpace);
    const auto decoded =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), PlusSign::kSpace);
    if (!name || !decoded)
      return errorResponse(400, "invalid_request", "malformed query");
    if (*name == "audience") {
      if (audience)
        return errorResponse(400, "invalid_request", "audience given twice");
      audience = *decoded;
    }
    if (amp == std::string_view::npos)
      break;
    start = amp + 1;
  }
  if (audience) {
    if (audience->size() > kMaxAudienceBytes)
      return errorResponse(400, "invalid_request", "audience too long");
    for (const char c : *audience) {
      if (c < 0x21 || c > 0x7E)
        return errorResponse(400, "invalid_request", "audience must be printable ASCII");
    }
  }
  auto token = mint(audience.value_or(std::string()));
  if (!token)
    return errorResponse(500, "server_error", token.error().message);
  return net::jsonResponse(200, json{{"count", 1}, {"value", *token}}.dump());
}

namespace {

asio::awaitable<void> refreshTokenFile(OidcStandin::Impl* impl) {
  for (;;) {
    impl->refresh_timer->expires_after(impl->options.refresh);
    boost::system::error_code ec;
    co_await impl->refresh_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
      co_return;
    if (auto st = impl->writeTokenFile(); !st)
      spdlog::warn("oidc stand-in: {}", st.message());
  }
}

}  // namespace

OidcStandin::OidcStandin() : impl_(std::make_unique<Impl>()) {}

OidcStandin::~OidcStandin() {
  stop();
}

Result<std::unique_ptr<OidcStandin>> OidcStandin::start(OidcStandinOptions options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Error{"oidc stand-in: a certificate and key are required"};
  }
  if (options.subject.empty() || options.audience.empty()) {
    return Error{"oidc stand-in: subject and audience must not be empty"};
  }
  if (options.token_ttl.count() <= 0 || options.refresh.count() <= 0) {
    return Error{"oidc stand-in: token lifetime and refresh interval must be positive"};
  }
  if (!options.token_file.empty() && options.refresh >= options.token_ttl) {
    return Error{
        "oidc stand-in: the refresh interval must be shorter than the token lifetime, or "
        "the token file would hold an expired token"};
  }
  if (!options.issuer.empty()) {
    if (auto st = checkIssuer(options.issuer); !st)
      return Error{"oidc stand-in: " + st.message()};
  }

  std::unique_ptr<OidcStandin> standin(new OidcStandin());
  Impl& impl = *standin->impl_;
  impl.options = std::move(options);
  impl.subject_parts = partsOf(impl.options.subject);

  impl.key = generateRsaKey();
  if (!impl.key)
    return Error{"oidc stand-in: RSA key: " + net::drainOpensslErrors()};
  auto thumbprint = jose::jwkThumbprint(impl.key.get());
  const auto digest = thumbprint ? jose::base64UrlDecode(*thumbprint) : std::nullopt;
  if (!digest || digest->size() < 4)
    return Error{"oidc stand-in: key thumbprint"};
  impl.kid = "standin-";
  appendHex(impl.kid, reinterpret_cast<const unsigned char*>(digest->data()), 4);

  impl.request_token = jose::base64UrlEncode(randomBytes(kRequestTokenBytes));
  impl.run_id = std::to_string(std::time(nullptr));

  impl.tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = impl.tls->native_handle();
  net::hardenTls(native);
  if (SSL_CTX_use_certificate_chain_file(native, impl.options.cert_file.c_str()) != 1) {
    return Error{"oidc stand-in: " + impl.options.cert_file + ": " + net::drainOpensslErrors()};
  }
  if (SSL_CTX_use_PrivateKey_file(native, impl.options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    return Error{"oidc stand-in: " + impl.options.key_file + ": " + net::drainOpensslErrors()};
  }

  net::HttpsServerOptions server_options;
  server_options.name = "oidc stand-in";
  server_options.host = impl.options.host;
  server_options.port = impl.options.port;
  server_options.max_body_bytes = 16 * 1024;  // no endpoint takes a body
  Impl* raw = &impl;
  auto server = net::HttpsServer::start(
      server_options, [raw] { return raw->tls; }, nullptr,
      [raw](net::HttpsExchange& ex) -> asio::awaitable<net::HttpResponse> {
        co_return raw->handle(ex.request());
      });
  if (!server)
    return Error{"oidc stand-in: " + server.error().message};
  impl.server = std::move(*server);

  impl.issuer = impl.options.issuer.empty()
                    ? "https://" + impl.options.host + ":" + std::to_string(impl.server->port())
                    : impl.options.issuer;
  impl.discovery_body =
      json{
          {"issuer", impl.issuer},
          {"jwks_uri", impl.issuer + std::string(kJwksPath)},
          {"subject_types_supported", {"public"}},
          {"response_types_supported", {"id_token"}},
          {"id_token_signing_alg_values_supported", {"RS256"}},
          {"claims_supported",
           {"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
            "repository_owner", "workflow", "event_name", "run_id", "runner_environment",
            "environment"}},
      }
          .dump();
  json jwk = json::object();
  if (auto st = jose::writePublicJwk(impl.key.get(), jwk); !st)
    return Error{"oidc stand-in: JWK: " + st.message()};
  jwk["kid"] = impl.kid;
  jwk["alg"] = "RS256";
  jwk["use"] = "sig";
  impl.jwks_body = json{{"keys", json::array({jwk})}}.dump();
  impl.ready.store(true, std::memory_order_release);

  if (!impl.options.request_token_file.empty()) {
    if (auto st = writeFileAtomically(impl.options.request_token_file, impl.request_token, 0600);
        !st) {
      return Error{"oidc stand-in: request token: " + st.message()};
    }
  }
  if (auto st = impl.writeTokenFile(); !st)
    return Error{"oidc stand-in: " + st.message()};
  if (!impl.options.token_file.empty()) {
    impl.refresh_timer = std::make_unique<asio::steady_timer>(impl.server->context());
    asio::co_spawn(impl.server->context(), refreshTokenFile(raw), asio::detached);
  }
  return standin;
}

std::uint16_t OidcStandin::port() const {
  return impl_->server->port();
}
const std::string& OidcStandin::issuer() const {
  return impl_->issuer;
}
const std::string& OidcStandin::kid() const {
  return impl_->kid;
}
Result<std::string> OidcStandin::mint(const std::string& audience) const {
  return impl_->mint(audience);
}
Status OidcStandin::writeTokenFile() const {
  return impl_->writeTokenFile();
}

void OidcStandin::stop() {
  // The server's stop joins its I/O thread and stops the loop the timer runs on; the
  // timer (and the coroutine suspended on it) go after, never while it can still run.
  if (impl_->server)
    impl_->server->stop();
}

int runOidcStandin(const OidcStandinOptions& options) {
  // As src/cli/signals.h does (this library cannot link the binary's copy): signals are
  // taken synchronously by this thread, so every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto standin = OidcStandin::start(options);
  if (!standin) {
    std::cerr << "warden oidc-standin: " << standin.error().message << "\n";
    return 2;
  }
  std::cout << "oidc stand-in: issuer " << (*standin)->issuer() << std::endl;
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0)
      continue;
    if (sig == SIGHUP) {
      if (auto st = (*standin)->writeTokenFile(); !st)
        spdlog::warn("oidc stand-in: {}", st.message());
      continue;
    }
    spdlog::info("oidc stand-in: signal {}: stopping", sig);
    (*standin)->stop();
    return 0;
  }
}

}  // namespace warden::demo
