// JwksSource: the fetch loop of jwks_source.h on its own io_context and thread.
//
// Trust posture: the network and the documents are untrusted. A discovery document counts
// only if it names exactly the configured issuer, and its jwks_uri must pass the same URL
// rules as a configured one (https, or http to loopback). A JWKS replaces the held keys
// only if KeySet::fromJwks accepts it. Nothing from a token ever reaches this file except
// the wish for a refetch, which is rate-limited before it gets here.
//
// The loop's state (discovered jwks_uri, the timer being waited on, failure count) belongs
// to the source's thread; the held keys are an atomic shared_ptr (readers never block);
// status is guarded by one mutex.
#include "token/jwks_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "jose/jws.h"
#include "net/tls_client.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"

namespace warden::token {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Discovery documents are a few KiB (Keycloak's, the largest seen, about 6).
constexpr std::size_t kMaxDiscoveryBytes = 64 * 1024;

std::string lowerCopy(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Producer text headed for logs: printable ASCII only, short.
std::string printable(std::string_view text) { return printableText(text); }

}  // namespace

bool RefetchLimiter::tryAcquire(std::chrono::steady_clock::time_point now) {
  const std::int64_t t = now.time_since_epoch().count();
  std::int64_t next = next_allowed_.load(std::memory_order_acquire);
  while (t >= next) {
    if (next_allowed_.compare_exchange_weak(next, t + interval_.count(),
                                            std::memory_order_acq_rel)) {
      return true;
    }
  }
  return false;
}

std::optional<seconds> cacheControlMaxAge(std::string_view header) {
  std::optional<seconds> out;
  const auto take = [&out](seconds value) {
    if (!out || value < *out) out = value;
  };
  while (!header.empty()) {
    const std::size_t comma = std::min(header.find(','), header.size());
    const std::string directive = lowerCopy(trim(header.substr(0, comma)));
    header.remove_prefix(std::min(comma + 1, header.size()));
    if (directive == "no-store" || directive == "no-cache") {
      take(seconds(0));
      continue;
    }
    constexpr std::string_view kMaxAge = "max-age=";
    if (directive.rfind(kMaxAge, 0) != 0) continue;
    std::string_view value = std::string_view(directive).substr(kMaxAge.size());
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);  // RFC 9111 §5.2: senders should not, but may
    }
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    take(seconds(std::stoll(std::string(value))));
  }
  return out;
}

milliseconds refreshAfter(const JwksTiming& timing, std::optional<seconds> max_age) {
  if (!max_age) return std::clamp(timing.default_refresh, timing.min_refresh, timing.max_refresh);
  // Compared in seconds first: a huge max-age must not overflow milliseconds.
  if (*max_age >= std::chrono::duration_cast<seconds>(timing.max_refresh) + seconds(1)) {
    return timing.max_refresh;
  }
  return std::clamp(milliseconds(*max_age), timing.min_refresh, timing.max_refresh);
}

struct JwksSource::Impl {
  explicit Impl(const TokenIssuerConfig& c) : config(c), limiter(c.jwks.min_refetch_interval) {}

  // Immutable after start(). Declared before `ioc`: the loop coroutine, destroyed with the
  // io_context at stop, references all of it.
  TokenIssuerConfig config;
  std::optional<FetchUrl> discovery_url;
  std::optional<FetchUrl> jwks_url;
  std::shared_ptr<ssl::context> tls;

  RefetchLimiter limiter;
  std::atomic<std::shared_ptr<const KeySet>> keys;
  std::atomic<std::uint64_t> generation{0};
  std::atomic<std::uint64_t> refetches_requested{0};
  std::atomic<std::uint64_t> refetches_suppressed{0};

  mutable std::mutex mutex;
  mutable std::condition_variable ready_cv;
  JwksStatus status;  // guarded by mutex

  // The source's thread only.
  std::optional<FetchUrl> discovered;  // jwks_uri from the last good discovery document
  asio::steady_timer* waiting = nullptr;
  bool refresh_requested = false;
  int consecutive_failures = 0;
  std::minstd_rand jitter{std::random_device{}()};

  asio::io_context ioc{1};
  std::thread thread;
};

namespace {

using Impl = JwksSource::Impl;

struct HttpResult {
  bool ok = false;
  std::string body;
  std::string cache_control;
  std::string error;
};

HttpResult failed(std::string why) { return HttpResult{false, {}, {}, std::move(why)}; }

// GET through the shared client (http_fetch.h); anything but 200 is a failure.
asio::awaitable<HttpResult> httpGet(Impl& impl, const FetchUrl& url, std::size_t max_body,
                                    const char* accept) {
  HttpFetchRequest request;
  request.url = &url;
  request.accept = accept;
  request.user_agent = "warden-jwks";
  request.max_body_bytes = max_body;
  request.timeout = impl.config.jwks.request_timeout;
  request.tls = impl.tls.get();
  HttpFetchResult res = co_await httpFetch(request);
  if (!res.ok) co_return failed(std::move(res.error));
  if (res.status != 200) {
    std::string why = url.text + ": HTTP " + std::to_string(res.status);
    if (res.status / 100 == 3) {
      // Key material moves only when the configuration (or discovery) says so.
      why += " redirect to \"" + printable(res.location) + "\" not followed";
    }
    co_return failed(std::move(why));
  }
  co_return HttpResult{true, std::move(res.body), std::move(res.cache_control), {}};
}

Result<FetchUrl> parseDiscovery(const Impl& impl, const std::string& body) {
  auto doc = jose::parseJsonNoDuplicates(body);
  if (!doc) return Error{"discovery document: " + doc.error().message};
  const auto issuer = doc->find("issuer");
  if (issuer == doc->end() || !issuer->is_string()) {
    return Error{"discovery document: \"issuer\" missing or not a string"};
  }
  // OIDC Discovery §4.3: exactly equal, or a document from one issuer could make us
  // accept another's keys for this one (mix-up).
  if (issuer->get_ref<const std::string&>() != impl.config.issuer) {
    return Error{"discovery document names issuer \"" +
                 printable(issuer->get_ref<const std::string&>()) + "\", not the configured \"" +
                 impl.config.issuer + "\""};
  }
  const auto jwks_uri = doc->find("jwks_uri");
  if (jwks_uri == doc->end() || !jwks_uri->is_string()) {
    return Error{"discovery document: \"jwks_uri\" missing or not a string"};
  }
  auto url = parseFetchUrl(jwks_uri->get_ref<const std::string&>());
  if (!url) {
    return Error{"discovery document: jwks_uri \"" +
                 printable(jwks_uri->get_ref<const std::string&>()) + "\": " + url.error().message};
  }
  return url;
}

HttpResult readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failed("cannot open " + path);
  std::string body(kMaxJwksBytes + 1, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  if (in.bad()) return failed("cannot read " + path);
  body.resize(static_cast<std::size_t>(in.gcount()));
  if (body.size() > kMaxJwksBytes) {
    return failed(path + " exceeds " + std::to_string(kMaxJwksBytes) + " bytes");
  }
  HttpResult out;
  out.ok = true;
  out.body = std::move(body);
  return out;
}

std::string sourceName(const Impl& impl) {
  if (!impl.config.jwks_file.empty()) return impl.config.jwks_file;
  if (impl.jwks_url) return impl.jwks_url->text;
  if (impl.discovered) return impl.discovered->text;
  return impl.config.discovery_url;
}

milliseconds retryDelay(Impl& impl) {
  const JwksTiming& t = impl.config.jwks;
  milliseconds delay = t.retry_initial;
  for (int i = 1; i < impl.consecutive_failures && delay < t.retry_max; ++i) delay *= 2;
  delay = std::min(delay, t.retry_max);
  // Jitter over the upper half, so that sidecars that lost the IdP together do not all
  // come back in the same instant.
  std::uniform_int_distribution<std::int64_t> pick(delay.count() / 2, delay.count());
  return milliseconds(pick(impl.jitter));
}

// One attempt (discovery when due, then the JWKS); applies the result and returns how long
// to wait before the next one.
asio::awaitable<milliseconds> fetchAndApply(Impl& impl, bool forced) {
  const auto attempt = std::chrono::system_clock::now();
  HttpResult fetched;
  if (!impl.config.jwks_file.empty()) {
    fetched = readFile(impl.config.jwks_file);
  } else {
    const FetchUrl* jwks = impl.jwks_url ? &*impl.jwks_url : nullptr;
    if (impl.discovery_url) {
      // A refetch for an unknown kid goes straight to the known jwks_uri; scheduled
      // refreshes and recovery from a failure re-read discovery, since jwks_uri may move.
      if (!impl.discovered || !forced || impl.consecutive_failures > 0) {
        HttpResult doc = co_await httpGet(impl, *impl.discovery_url, kMaxDiscoveryBytes,
                                          "application/json");
        if (doc.ok) {
          auto url = parseDiscovery(impl, doc.body);
          if (url) {
            impl.discovered = std::move(*url);
          } else {
            doc = failed(impl.discovery_url->text + ": " + url.error().message);
          }
        }
        if (!doc.ok) fetched = std::move(doc);
      }
      jwks = fetched.error.empty() && impl.discovered ? &*impl.discovered : nullptr;
    }
    if (jwks != nullptr) {
      fetched = co_await httpGet(impl, *jwks, kMaxJwksBytes,
                                 "application/jwk-set+json, application/json");
    }
  }

  std::shared_ptr<const KeySet> candidate;
  std::string error = fetched.error;
  if (fetched.ok) {
    auto parsed = KeySet::fromJwks(fetched.body);
    if (parsed) {
      candidate = std::move(*parsed);
    } else {
      error = sourceName(impl) + ": " + parsed.error().message;
    }
  }

  milliseconds wait{};
  if (candidate) {
    impl.consecutive_failures = 0;
    wait = impl.config.jwks_file.empty()
               ? refreshAfter(impl.config.jwks, cacheControlMaxAge(fetched.cache_control))
               : refreshAfter(impl.config.jwks, std::nullopt);
  } else {
    ++impl.consecutive_failures;
    wait = retryDelay(impl);
  }

  bool changed = false;
  bool held = false;
  {
    std::lock_guard lock(impl.mutex);
    JwksStatus& status = impl.status;
    status.last_attempt = attempt;
    status.source = sourceName(impl);
    status.next_fetch_in = wait;
    if (candidate) {
      const auto current = impl.keys.load();
      if (current == nullptr || !current->sameKeys(*candidate)) {
        impl.keys.store(candidate);
        impl.generation.store(candidate->generation());
        changed = true;
        ++status.key_set_changes;
      }
      status.key_count = impl.keys.load()->size();
      status.ready = true;
      status.last_success = attempt;
      status.last_error.clear();
      ++status.fetches_ok;
    } else {
      status.last_error = error;
      ++status.fetches_failed;
      held = status.ready;
    }
  }

  if (!candidate) {
    spdlog::warn("jwks: fetching the keys of {} from {} failed{}; retrying in {} ms: {}",
                 impl.config.issuer, sourceName(impl),
                 held ? ", keeping the last good ones" : ", no keys held yet", wait.count(), error);
    co_return wait;
  }
  if (changed) {
    impl.ready_cv.notify_all();
    std::string kids;
    for (const auto& key : candidate->keys()) {
      kids += (kids.empty() ? "" : ", ") + printable(key.kid);
    }
    spdlog::info("jwks: keys of {} from {}: {} ({}){}", impl.config.issuer, sourceName(impl),
                 candidate->size(), kids,
                 candidate->skipped().empty()
                     ? std::string()
                     : "; skipped " + std::to_string(candidate->skipped().size()) + ": " +
                           candidate->skipped().front());
  }
  co_return wait;
}

// Clears the source's pointer to a timer that is going away.
class WaitingOn {
 public:
  WaitingOn(Impl& impl, asio::steady_timer& timer) : impl_(impl) { impl_.waiting = &timer; }
  ~WaitingOn() { impl_.waiting = nullptr; }
  WaitingOn(const WaitingOn&) = delete;
  WaitingOn& operator=(const WaitingOn&) = delete;

 private:
  Impl& impl_;
};

asio::awaitable<void> runSource(Impl& impl) {
  auto executor = co_await asio::this_coro::executor;
  bool forced = false;
  for (;;) {
    impl.refresh_requested = false;
    const milliseconds wait = co_await fetchAndApply(impl, forced);
    // A request during the fetch wants a fetch that starts after it was made.
    if (impl.refresh_requested) {
      forced = true;
      continue;
    }
    asio::steady_timer timer(executor, wait);
    WaitingOn waiting(impl, timer);
    co_await timer.async_wait(kTuple);  // cancelled by requestRefresh(): fetch at once
    forced = impl.refresh_requested;
  }
}

}  // namespace

JwksSource::JwksSource(const TokenIssuerConfig& config) : impl_(std::make_unique<Impl>(config)) {}

JwksSource::~JwksSource() {
  if (!impl_) return;
  // A fetch in flight is abandoned with its coroutine; nothing is half-applied, because
  // applying happens between suspension points.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::shared_ptr<JwksSource>> JwksSource::start(const TokenIssuerConfig& config) {
  const std::string field = "token_issuer \"" + config.issuer + "\"";
  if (auto st = validateIssuerConfig(config, field); !st) return st.error();
  if (config.discovery_url.empty() && config.jwks_url.empty() && config.jwks_file.empty()) {
    return Error{field + ": no key source (it pins HS256 only)"};
  }
  std::shared_ptr<JwksSource> source(new JwksSource(config));
  Impl& impl = *source->impl_;
  impl.status.issuer = config.issuer;
  if (!config.discovery_url.empty()) impl.discovery_url = *parseFetchUrl(config.discovery_url);
  if (!config.jwks_url.empty()) impl.jwks_url = *parseFetchUrl(config.jwks_url);
  if (impl.discovery_url || impl.jwks_url) {
    // Made even for http URLs: discovery over loopback http may name an https jwks_uri.
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    net::hardenTls(ctx->native_handle());
    ctx->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (config.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
      if (ec) return Error{field + ": cannot load the system CA roots: " + ec.message()};
    } else {
      ctx->load_verify_file(config.ca_file, ec);
      if (ec) {
        const std::string details = net::drainOpensslErrors();
        return Error{field + ".ca_file \"" + config.ca_file + "\": " + ec.message() +
                     (details.empty() ? std::string() : " (" + details + ")")};
      }
    }
    impl.tls = std::move(ctx);
  }
  impl.status.source = sourceName(impl);
  spdlog::info("jwks: fetching the keys of {} from {}", config.issuer,
               impl.discovery_url ? "discovery " + impl.discovery_url->text : sourceName(impl));
  asio::co_spawn(impl.ioc, runSource(impl), asio::detached);
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  return source;
}

std::shared_ptr<const KeySet> JwksSource::current() const { return impl_->keys.load(); }

std::uint64_t JwksSource::generation() const { return impl_->generation.load(); }

void JwksSource::requestRefresh() {
  Impl* impl = impl_.get();
  if (!impl->limiter.tryAcquire(std::chrono::steady_clock::now())) {
    impl->refetches_suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impl->refetches_requested.fetch_add(1, std::memory_order_relaxed);
  asio::post(impl->ioc, [impl] {
    impl->refresh_requested = true;
    if (impl->waiting != nullptr) impl->waiting->cancel();
  });
}

bool JwksSource::waitReady(milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->ready_cv.wait_for(lock, timeout, [this] { return impl_->status.ready; });
}

JwksStatus JwksSource::status() const {
  std::lock_guard lock(impl_->mutex);
  JwksStatus out = impl_->status;
  out.refetches_requested = impl_->refetches_requested.load(std::memory_order_relaxed);
  out.refetches_suppressed = impl_->refetches_suppressed.load(std::memory_order_relaxed);
  return out;
}

}  // namespace warden::token
