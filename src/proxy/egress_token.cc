// EgressTokens: the per-route fetch loops of egress_token.h on their own io_context.
//
// Trust posture: the token endpoint is configured and authenticated (RFC 6125 or its
// X509-SVID), and its answer is parsed strictly (token/oauth_client.h). Tokens and client
// assertions never reach a log line, an error message or /readyz.
//
// A route's loop state (timer, failure count, kick flag) belongs to the fetchers' thread;
// the held token is an atomic shared_ptr (workers never block); status is guarded by the
// route's mutex.
#include "proxy/egress_token.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "net/tls_client.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"
#include "token/oauth_client.h"
#include "workload/endpoint_address.h"
#include "workload/workload_client.h"

namespace warden::proxy {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxTokenResponseBytes = 64 * 1024;

std::int64_t unixSeconds(SystemClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string routeName(const EgressRoute& route) {
  return route.path_prefix.empty() ? route.host : route.host + route.path_prefix;
}

// Presents the sidecar's current X509-SVID (leaf, key and intermediates) on one connection
// (tls_client_auth through a context that verifies the endpoint with Web PKI roots).
Status presentSvid(SSL* ssl_obj, const TlsContexts& tls) {
  SSL_CTX* source = tls.client->native_handle();
  X509* cert = SSL_CTX_get0_certificate(source);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(source);
  if (cert == nullptr || key == nullptr) return Error{"no X509-SVID to present"};
  if (SSL_use_certificate(ssl_obj, cert) != 1 || SSL_use_PrivateKey(ssl_obj, key) != 1) {
    return Error{"cannot present the X509-SVID: " + net::drainOpensslErrors()};
  }
  // SSL_CTX_get0_chain_certs and SSL_set1_chain are macros with C-style casts; call what
  // they expand to.
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_ctrl(source, SSL_CTRL_GET_CHAIN_CERTS, 0, static_cast<void*>(&chain));
  if (chain != nullptr && SSL_ctrl(ssl_obj, SSL_CTRL_CHAIN, 1, static_cast<void*>(chain)) != 1) {
    return Error{"cannot present the X509-SVID chain: " + net::drainOpensslErrors()};
  }
  return {};
}

// What tells a rotated subject token file from the one last read: platforms replace it
// by renaming (a new inode; Kubernetes swaps a symlink) or rewrite it in place.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  std::int64_t mtime_ns = -1;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return {};
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Re-read for every request: the platform rotates the file, and an old token may have
// expired. Errors name the file, never its content.
Result<std::string> readSubjectToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"subject_token_file \"" + path + "\": cannot open: " + std::strerror(errno)};
  }
  // One byte beyond the limit tells an oversized file from one exactly at it.
  std::string contents(token::kMaxSubjectTokenFileBytes + 1, '\0');
  in.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (in.bad())
    return Error{"subject_token_file \"" + path + "\": read error"};
  contents.resize(static_cast<std::size_t>(in.gcount()));
  auto token = token::subjectTokenFromFile(contents);
  if (!token)
    return Error{"subject_token_file \"" + path + "\": " + token.error().message};
  return token;
}

}  // namespace

struct TokenRoute {
  TokenRoute(std::size_t i, const EgressRoute& r)
      : index(i), name(routeName(r)), config(*r.token) {}

  // Immutable after create().
  std::size_t index;
  std::string name;
  EgressTokenConfig config;
  token::FetchUrl url;
  std::shared_ptr<ssl::context> web_tls;  // https without server_spiffe_id

  std::atomic<std::shared_ptr<const HeldToken>> held;

  mutable std::mutex mutex;
  EgressTokenStatus status;  // guarded by mutex

  // The fetchers' thread only.
  asio::steady_timer* waiting = nullptr;
  bool kick = false;
  int consecutive_failures = 0;
  FileStamp subject_stamp;  // token exchange: the subject token file at the last read
};

struct EgressTokens::Impl {
  IdentityFn identity;
  EgressTokenTiming timing;
  std::unique_ptr<workload::WorkloadClient> workload;  // Workload API mode with private_key_jwt
  // One slot per egress route; null for routes without a `token:` block.
  std::vector<std::unique_ptr<TokenRoute>> routes;

  std::minstd_rand jitter{std::random_device{}()};  // the fetchers' thread only
  // Declared after `routes`: the loop coroutines, destroyed with the io_context, use them.
  asio::io_context ioc{1};
  std::thread thread;
  bool started = false;
};

namespace {

using Impl = EgressTokens::Impl;

class WaitingOn {
 public:
  WaitingOn(TokenRoute& route, asio::steady_timer& timer) : route_(route) {
    route_.waiting = &timer;
  }
  ~WaitingOn() { route_.waiting = nullptr; }
  WaitingOn(const WaitingOn&) = delete;
  WaitingOn& operator=(const WaitingOn&) = delete;

 private:
  TokenRoute& route_;
};

Result<std::string> clientAssertion(Impl& impl, const TokenRoute& r, const TlsContexts& tls,
                                    const std::string& client_id) {
  const EgressTokenConfig& c = r.config;
  const std::string& audience = c.assertion_audience.empty() ? c.issuer : c.assertion_audience;
  if (impl.workload) {
    // Blocks this thread for at most the client's deadline.
    auto svids = impl.workload->fetchJwtSvids({audience}, tls.own_id.str());
    if (!svids) return Error{"Workload API FetchJWTSVID: " + svids.error().message};
    if (svids->empty()) return Error{"Workload API FetchJWTSVID returned no JWT-SVID"};
    return svids->front().token;
  }
  SSL_CTX* ctx = tls.client->native_handle();
  auto signed_assertion = token::signClientAssertion(
      SSL_CTX_get0_privatekey(ctx), SSL_CTX_get0_certificate(ctx),
      {client_id, audience, SystemClock::now(), impl.timing.assertion_lifetime});
  if (!signed_assertion) return Error{"client assertion: " + signed_assertion.error().message};
  return signed_assertion;
}

using Form = std::vector<std::pair<std::string, std::string>>;

Result<Form> clientCredentialsForm(Impl& impl, const TokenRoute& r, const TlsContexts& tls) {
  const EgressTokenConfig& c = r.config;
  const std::string client_id = c.client_id.empty() ? tls.own_id.str() : c.client_id;
  Form form{{"grant_type", "client_credentials"}};
  if (!c.resource.empty())
    form.emplace_back("resource", c.resource);
  if (!c.scope.empty())
    form.emplace_back("scope", c.scope);
  form.emplace_back("client_id", client_id);
  if (c.client_auth == TokenClientAuth::kPrivateKeyJwt) {
    auto assertion = clientAssertion(impl, r, tls, client_id);
    if (!assertion)
      return assertion.error();
    form.emplace_back("client_assertion_type", std::string(token::kClientAssertionTypeJwtBearer));
    form.emplace_back("client_assertion", std::move(*assertion));
  }
  return form;
}

// RFC 8693 §2.1: the subject token is the credential; no client authentication.
Result<Form> tokenExchangeForm(TokenRoute& r) {
  const EgressTokenConfig& c = r.config;
  r.subject_stamp = stampOf(c.subject_token_file);
  auto subject = readSubjectToken(c.subject_token_file);
  if (!subject)
    return subject.error();
  Form form{{"grant_type", std::string(token::kGrantTypeTokenExchange)},
            {"subject_token", std::move(*subject)},
            {"subject_token_type", c.subject_token_type},
            {"requested_token_type", std::string(token::kTokenTypeAccessToken)}};
  // RFC 8693 names the target `audience`; Warden's token service (and most others) take it
  // as the same audience that `resource` names for client_credentials.
  if (!c.resource.empty())
    form.emplace_back("audience", c.resource);
  if (!c.scope.empty())
    form.emplace_back("scope", c.scope);
  if (!c.client_id.empty())
    form.emplace_back("client_id", c.client_id);
  return form;
}

asio::awaitable<Result<token::ObtainedToken>> requestToken(
    Impl& impl, TokenRoute& r, const std::shared_ptr<const TlsContexts>& tls) {
  const EgressTokenConfig& c = r.config;
  auto form = c.tokenExchange() ? tokenExchangeForm(r) : clientCredentialsForm(impl, r, *tls);
  if (!form)
    co_return form.error();

  token::HttpFetchRequest request;
  request.url = &r.url;
  request.post = true;
  request.body = token::formUrlEncode(*form);
  request.content_type = "application/x-www-form-urlencoded";
  request.user_agent = "warden-egress";
  request.max_body_bytes = kMaxTokenResponseBytes;
  request.timeout = impl.timing.request_timeout;
  HandshakeState hs;  // outlives the exchange: the hooks point at it
  if (r.url.tls && !c.server_spiffe_id.empty()) {
    // The endpoint's certificate is an X509-SVID: the sidecar's client context verifies it
    // with the bundles in force and requires exactly server_spiffe_id (and presents our
    // SVID, which tls_client_auth needs and private_key_jwt does not mind; token exchange
    // takes it back below).
    expectServerSvid(request, *tls, hs, c.server_spiffe_id, "the token endpoint");
    if (c.tokenExchange()) {
      // Token exchange authenticates no client: present no certificate, so that the
      // endpoint cannot take the connection for tls_client_auth of this workload.
      request.prepare = [attach = std::move(request.prepare)](SSL* ssl_obj) {
        Status attached = attach(ssl_obj);
        if (attached.ok()) SSL_certs_clear(ssl_obj);
        return attached;
      };
    }
  } else if (r.url.tls) {
    request.tls = r.web_tls.get();
    if (!c.tokenExchange() && c.client_auth == TokenClientAuth::kTlsClientAuth) {
      request.prepare = [&tls](SSL* ssl_obj) { return presentSvid(ssl_obj, *tls); };
    }
  }
  token::HttpFetchResult res = co_await token::httpFetch(request);
  if (!res.ok) co_return Error{std::move(res.error)};
  auto parsed = token::parseTokenResponse(res.status, res.content_type, res.body,
                                          SystemClock::now());
  if (!parsed) co_return Error{c.token_endpoint + ": " + parsed.error().message};
  co_return std::move(*parsed);
}

milliseconds retryDelay(Impl& impl, const TokenRoute& r) {
  const EgressTokenTiming& t = impl.timing;
  milliseconds delay = t.retry_initial;
  for (int i = 1; i < r.consecutive_failures && delay < t.retry_max; ++i) delay *= 2;
  delay = std::min(delay, t.retry_max);
  // Jitter over the upper half, so that sidecars that lost the endpoint together do not
  // all come back in the same instant.
  std::uniform_int_distribution<std::int64_t> pick(delay.count() / 2, delay.count());
  return milliseconds(pick(impl.jitter));
}

milliseconds refreshWait(const Impl& impl, const EgressTokenConfig& c, milliseconds lifetime) {
  const milliseconds before =
      c.refresh_before ? *c.refresh_before
                       : std::min<milliseconds>(std::chrono::seconds(60), lifetime / 5);
  milliseconds wait = lifetime - before;
  // refresh_before at least as long as the token lives: refresh at half its life rather
  // than at once and forever.
  if (wait <= milliseconds(0)) wait = lifetime / 2;
  return std::max(wait, impl.timing.min_wait);
}

// One attempt; applies the result and returns how long to wait before the next one.
asio::awaitable<milliseconds> fetchAndApply(Impl& impl, TokenRoute& r) {
  const auto tls = impl.identity();
  Result<token::ObtainedToken> obtained = Error{"no X509-SVID yet"};
  // Token exchange needs no SVID, except to verify an endpoint that is an X509-SVID.
  if (tls || (r.config.tokenExchange() && r.config.server_spiffe_id.empty())) {
    obtained = co_await requestToken(impl, r, tls);
  }
  const auto now_steady = SteadyClock::now();
  const auto now_system = SystemClock::now();

  milliseconds wait{};
  std::shared_ptr<const HeldToken> held = r.held.load();
  const bool recovered = r.consecutive_failures > 0 || !held;
  if (obtained) {
    auto next = std::make_shared<HeldToken>();
    next->authorization = "Bearer " + obtained->access_token;
    const auto left = std::chrono::duration_cast<milliseconds>(obtained->expires_at - now_system);
    next->expires_at = now_steady + left;
    next->expires_unix = unixSeconds(obtained->expires_at);
    if (tls && !r.config.tokenExchange() &&
        r.config.client_auth == TokenClientAuth::kTlsClientAuth) {
      next->bound_identity = tls;
      const auto cert_left = std::chrono::duration_cast<milliseconds>(
          SystemClock::from_time_t(tls->not_after) - now_system);
      next->expires_at = std::min(next->expires_at, now_steady + cert_left);
    }
    r.held.store(next);
    r.consecutive_failures = 0;
    wait = refreshWait(impl, r.config, left);
    if (recovered) {
      spdlog::info("egress token for {} from {}: valid for {} s, refreshing in {} ms", r.name,
                   r.config.token_endpoint, left.count() / 1000, wait.count());
    } else {
      spdlog::debug("egress token for {} refreshed: valid for {} s, refreshing in {} ms", r.name,
                    left.count() / 1000, wait.count());
    }
    held = std::move(next);
  } else {
    ++r.consecutive_failures;
    wait = retryDelay(impl, r);
    const bool usable = held && held->usableAt(now_steady);
    spdlog::warn("egress token for {} from {} failed{}; retrying in {} ms: {}", r.name,
                 r.config.token_endpoint,
                 usable ? ", keeping the held token until it expires" : ", no usable token held",
                 wait.count(), obtained.error().message);
  }

  std::lock_guard lock(r.mutex);
  EgressTokenStatus& st = r.status;
  st.next_fetch_in = wait;
  if (obtained) {
    ++st.fetches_ok;
    st.last_error.clear();
    st.last_success_unix = unixSeconds(now_system);
  } else {
    ++st.fetches_failed;
    st.last_error = obtained.error().message;
  }
  if (held) st.expires_unix = held->expires_unix;
  co_return wait;
}

asio::awaitable<void> runRoute(Impl& impl, TokenRoute& r) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    r.kick = false;
    const milliseconds wait = co_await fetchAndApply(impl, r);
    // A kick during the fetch (a new SVID) wants a fetch that starts after it.
    if (r.kick) continue;
    asio::steady_timer timer(executor);
    WaitingOn waiting(r, timer);
    // After a failed exchange the platform may already have written the token that works
    // (a runner's or pod's file lags its start): watch the file rather than sit out the
    // backoff. While things go well, the refresh schedule alone decides.
    const bool watch = r.config.tokenExchange() && r.consecutive_failures > 0;
    const auto deadline = SteadyClock::now() + wait;
    while (!r.kick && SteadyClock::now() < deadline) {
      timer.expires_at(watch ? std::min(deadline, SteadyClock::now() + impl.timing.file_poll)
                             : deadline);
      co_await timer.async_wait(kTuple);  // cancelled by identityChanged(): fetch at once
      if (watch && !(stampOf(r.config.subject_token_file) == r.subject_stamp))
        break;
    }
  }
}

}  // namespace

EgressTokens::EgressTokens() : impl_(std::make_unique<Impl>()) {}

EgressTokens::~EgressTokens() {
  if (!impl_) return;
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<EgressTokens>> EgressTokens::create(const EgressConfig& egress,
                                                           const IdentityConfig& identity_config,
                                                           IdentityFn identity,
                                                           EgressTokenTiming timing) {
  std::unique_ptr<EgressTokens> tokens(new EgressTokens());
  Impl& impl = *tokens->impl_;
  impl.identity = std::move(identity);
  impl.timing = timing;
  bool needs_jwt_svids = false;
  for (std::size_t i = 0; i < egress.routes.size(); ++i) {
    const EgressRoute& route = egress.routes[i];
    if (!route.token) {
      impl.routes.emplace_back();
      continue;
    }
    const std::string field = "egress.routes[" + std::to_string(i) + "].token";
    auto r = std::make_unique<TokenRoute>(i, route);
    auto url = token::parseFetchUrl(r->config.token_endpoint);
    if (!url) return Error{field + ".token_endpoint: " + url.error().message};
    r->url = std::move(*url);
    if (r->url.tls && r->config.server_spiffe_id.empty()) {
      auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
      net::hardenTls(ctx->native_handle());
      ctx->set_verify_mode(ssl::verify_peer);
      boost::system::error_code ec;
      if (r->config.ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
        if (ec) return Error{field + ": cannot load the system CA roots: " + ec.message()};
      } else {
        ctx->load_verify_file(r->config.ca_file, ec);
        if (ec) {
          const std::string details = net::drainOpensslErrors();
          return Error{field + ".ca_file \"" + r->config.ca_file + "\": " + ec.message() +
                       (details.empty() ? std::string() : " (" + details + ")")};
        }
      }
      r->web_tls = std::move(ctx);
    }
    r->status.route = r->name;
    r->status.token_endpoint = r->config.token_endpoint;
    r->status.grant = std::string(r->config.grantName());
    r->status.client_auth = std::string(r->config.clientAuthName());
    r->status.subject_token_file = r->config.subject_token_file;
    r->status.last_error = "no token fetched yet";
    needs_jwt_svids |=
        !r->config.tokenExchange() && r->config.client_auth == TokenClientAuth::kPrivateKeyJwt;
    impl.routes.push_back(std::move(r));
  }
  if (needs_jwt_svids && !identity_config.workload_api.empty()) {
    auto address = workload::parseEndpointAddress(identity_config.workload_api);
    if (!address) return Error{"identity.workload_api: " + address.error().message};
    impl.workload = std::make_unique<workload::WorkloadClient>(*address);
  }
  return tokens;
}

void EgressTokens::start() {
  Impl& impl = *impl_;
  if (impl.started) return;
  impl.started = true;
  for (auto& r : impl.routes) {
    if (r) asio::co_spawn(impl.ioc, runRoute(impl, *r), asio::detached);
  }
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
}

std::shared_ptr<const HeldToken> EgressTokens::current(std::size_t route) const {
  const auto& r = impl_->routes[route];
  return r ? r->held.load() : nullptr;
}

std::string EgressTokens::lastError(std::size_t route) const {
  const auto& r = impl_->routes[route];
  if (!r) return {};
  std::lock_guard lock(r->mutex);
  return r->status.last_error;
}

void EgressTokens::identityChanged() {
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl] {
    const auto now = SteadyClock::now();
    for (auto& r : impl->routes) {
      if (!r) continue;
      const auto held = r->held.load();
      if (r->consecutive_failures == 0 && held && held->usableAt(now) &&
          (r->config.tokenExchange() || r->config.client_auth != TokenClientAuth::kTlsClientAuth)) {
        continue;
      }
      r->kick = true;
      if (r->waiting != nullptr) r->waiting->cancel();
    }
  });
}

bool EgressTokens::ready() const {
  const auto now = SteadyClock::now();
  for (const auto& r : impl_->routes) {
    if (!r) continue;
    const auto held = r->held.load();
    if (!held || !held->usableAt(now)) return false;
  }
  return true;
}

std::vector<EgressTokenStatus> EgressTokens::status() const {
  const auto now = SteadyClock::now();
  std::vector<EgressTokenStatus> out;
  for (const auto& r : impl_->routes) {
    if (!r) continue;
    const auto held = r->held.load();
    std::lock_guard lock(r->mutex);
    out.push_back(r->status);
    out.back().ok = held && held->usableAt(now);
  }
  return out;
}

}  // namespace warden::proxy
