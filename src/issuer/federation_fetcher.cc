// FederationFetcher: polls foreign trust domains' bundle endpoints (SPIFFE_Federation.md
// §5, §6; identity-standards §5.2).
//
// Trust posture: the endpoint, the network and the document are untrusted until the
// profile's check passes; even then the document is only a candidate: it must parse as a
// bundle for the configured trust domain, fit in kMaxBundleBytes and not be older than
// the held one. The configuration is trusted (tampering with it is a total break, so it
// is validated strictly and nothing is inferred: the trust domain never comes from the
// URL, and one profile never falls back to the other).
//
// Per relationship, one coroutine on the fetcher's io_context:
//
//   start ──> fetch ──ok──> wait clamp(hint) ──┐
//               ^  └─fail─> wait retry ────────┤
//               └──────── timer fires, or refreshNow() ┘
//
// Held bundles and status are guarded by one mutex; fetching, verification and the
// on_change callback run on the fetcher's thread without it.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/url_port.h"
#include "identity/spiffe_id.h"
#include "identity/svid_verifier.h"
#include "issuer/federation.h"
#include "net/tls_client.h"

namespace warden::issuer {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using std::chrono::milliseconds;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;

// ---- configuration --------------------------------------------------------------------

struct EndpointUrl {
  std::string host;  // lowercase DNS name, or an IP literal without brackets
  bool host_is_ip = false;
  std::string port;         // decimal
  std::uint16_t port_number = 443;
  std::string target;       // origin-form: path and query
  std::string host_header;  // Host: value
};

bool validDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

Result<EndpointUrl> parseEndpointUrl(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return Error{"not a valid URI (" + parsed.error().message() + ")"};
  const boost::urls::url_view& url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::https) return Error{"the scheme must be https"};
  if (url.has_userinfo()) return Error{"userinfo is not allowed"};
  if (url.has_fragment()) return Error{"a fragment is not allowed"};
  EndpointUrl out;
  switch (url.host_type()) {
    case boost::urls::host_type::name: {
      out.host = url.host_name();
      if (!validDnsName(out.host)) return Error{"invalid host name \"" + out.host + "\""};
      std::transform(out.host.begin(), out.host.end(), out.host.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      });
      out.host_header = out.host;
      break;
    }
    case boost::urls::host_type::ipv4:
      out.host = url.host_ipv4_address().to_string();
      out.host_is_ip = true;
      out.host_header = out.host;
      break;
    case boost::urls::host_type::ipv6:
      out.host = url.host_ipv6_address().to_string();
      out.host_is_ip = true;
      out.host_header = "[" + out.host + "]";
      break;
    default:
      return Error{"a host name or IP address is required"};
  }
  out.port = "443";
  if (url.has_port() && !url.port().empty()) {
    const std::string_view port = url.port();
    const std::optional<std::uint16_t> value = parseUrlPort(port);
    if (!value) return Error{"invalid port \"" + std::string(port) + "\""};
    out.port = std::to_string(*value);
    out.port_number = *value;
    if (*value != 443) out.host_header += ":" + out.port;
  }
  out.target = url.encoded_path().empty() ? "/" : std::string(url.encoded_path());
  if (url.has_query()) out.target += "?" + std::string(url.encoded_query());
  return out;
}

std::string_view profileName(FederationProfile profile) {
  return profile == FederationProfile::kHttpsWeb ? "https_web" : "https_spiffe";
}

Status validateTiming(const FederationTiming& t) {
  if (t.min_refresh.count() <= 0) return Error{"federation timing: min_refresh must be positive"};
  if (t.max_refresh < t.min_refresh) {
    return Error{"federation timing: max_refresh must not be below min_refresh"};
  }
  if (t.default_refresh.count() <= 0) {
    return Error{"federation timing: default_refresh must be positive"};
  }
  if (t.retry.count() <= 0) return Error{"federation timing: retry must be positive"};
  if (t.request_timeout.count() <= 0) {
    return Error{"federation timing: request_timeout must be positive"};
  }
  return {};
}

// ---- https_spiffe server verification ------------------------------------------------

// Per-handshake input and outcome of the https_spiffe check, attached to the SSL object.
struct SpiffeCheck {
  const identity::TrustBundleSet* bundles = nullptr;
  const identity::SpiffeId* expected = nullptr;
  bool verified = false;
  std::string failure;
};

int spiffeCheckIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Replaces OpenSSL's chain verification for https_spiffe: the server's chain must be an
// X509-SVID (leaf rules, anchors chosen by the leaf's trust domain only) for exactly the
// configured endpoint ID. No host name check: the ID is the server's name here.
int verifyEndpointSvid(X509_STORE_CTX* store_ctx, void* /*arg*/) {
  auto* ssl_obj = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* check = ssl_obj == nullptr
                    ? nullptr
                    : static_cast<SpiffeCheck*>(SSL_get_ex_data(ssl_obj, spiffeCheckIndex()));
  if (check == nullptr || check->bundles == nullptr || check->expected == nullptr) {
    // Fail closed: without its expectations a handshake cannot be authenticated.
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  auto outcome = identity::verifyX509Svid(*check->bundles, X509_STORE_CTX_get0_cert(store_ctx),
                                          X509_STORE_CTX_get0_untrusted(store_ctx));
  if (!outcome.ok) {
    check->failure = "server certificate is not a valid X509-SVID (" +
                     std::string(identity::toReasonCode(outcome.error.failure)) +
                     "): " + outcome.error.detail;
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  if (!(outcome.peer.id == *check->expected)) {
    check->failure = "server presented " + outcome.peer.id.str() + ", expected " +
                     check->expected->str();
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  check->verified = true;
  return 1;
}

// ---- relationship state ---------------------------------------------------------------

struct Relationship {
  // Immutable after start().
  FederationRelationship config;
  EndpointUrl url;
  std::optional<identity::SpiffeId> endpoint_id;    // https_spiffe
  std::optional<identity::SpiffeBundle> bootstrap;  // https_spiffe, for endpoint_id's TD
  std::shared_ptr<ssl::context> tls;

  // Fetcher thread only.
  asio::steady_timer* waiting = nullptr;  // the timer the coroutine sleeps on, if it does
  bool refresh_requested = false;

  // Guarded by FetcherState::mutex.
  std::optional<identity::SpiffeBundle> held;
  FederationStatus status;
};

struct FetcherState {
  // What relationship coroutines reference is declared before `ioc`: coroutines still
  // suspended at stop are destroyed with the io_context, so these must outlive it.
  FederationTiming timing;
  FederationFetcher::ChangeFn on_change;
  std::vector<std::unique_ptr<Relationship>> relationships;
  mutable std::mutex mutex;
  asio::io_context ioc{1};
  std::thread thread;
};

Result<std::unique_ptr<Relationship>> buildRelationship(FederationRelationship config,
                                                        std::size_t index) {
  const std::string field = "federation[" + std::to_string(index) + "]";
  auto rel = std::make_unique<Relationship>();
  if (auto st = identity::validateTrustDomain(config.trust_domain); !st) {
    return Error{field + ".trust_domain: " + st.message()};
  }
  auto url = parseEndpointUrl(config.url);
  if (!url) return Error{field + ".url \"" + config.url + "\": " + url.error().message};
  rel->url = std::move(*url);

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  net::hardenTls(ctx->native_handle());
  boost::system::error_code ec;
  if (config.profile == FederationProfile::kHttpsWeb) {
    // Parameters of the other profile are refused rather than ignored: a relationship
    // that names both is a configuration mistake, and guessing would change whom we trust.
    if (!config.endpoint_spiffe_id.empty() || !config.bootstrap_bundle.empty()) {
      return Error{field + ": endpoint_spiffe_id and bootstrap_bundle belong to the "
                   "https_spiffe profile, not https_web"};
    }
    ctx->set_verify_mode(ssl::verify_peer);
    if (config.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
      if (ec) return Error{field + ": cannot load the system CA roots: " + ec.message()};
    } else {
      ctx->load_verify_file(config.ca_file, ec);
      if (ec) {
        return Error{field + ".ca_file \"" + config.ca_file + "\": " +
                     net::withOpensslErrors(ec)};
      }
    }
  } else {
    if (!config.ca_file.empty()) {
      return Error{field + ".ca_file: belongs to the https_web profile, not https_spiffe"};
    }
    if (config.endpoint_spiffe_id.empty()) {
      return Error{field + ".endpoint_spiffe_id: required by the https_spiffe profile"};
    }
    auto id = identity::SpiffeId::parse(config.endpoint_spiffe_id);
    if (!id) return Error{field + ".endpoint_spiffe_id: " + id.error().message};
    if (!id->hasPath()) {
      return Error{field + ".endpoint_spiffe_id: must name a workload (an X509-SVID always "
                   "has a path)"};
    }
    if (config.bootstrap_bundle.empty()) {
      return Error{field + ".bootstrap_bundle: required by the https_spiffe profile"};
    }
    auto bootstrap = identity::parseSpiffeBundle(config.bootstrap_bundle, id->trustDomain());
    if (!bootstrap) return Error{field + ".bootstrap_bundle: " + bootstrap.error().message};
    if (bootstrap->x509_authorities.empty()) {
      return Error{field + ".bootstrap_bundle: no X.509 authority to verify the endpoint with"};
    }
    rel->endpoint_id = std::move(*id);
    rel->bootstrap = std::move(*bootstrap);
    SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx->native_handle(), &verifyEndpointSvid, nullptr);
  }
  rel->tls = std::move(ctx);
  rel->status.trust_domain = config.trust_domain;
  rel->config = std::move(config);
  return rel;
}

// ---- one fetch ------------------------------------------------------------------------

struct FetchOutcome {
  bool ok = false;
  std::string body;
  std::string error;
};

FetchOutcome failed(std::string why) { return FetchOutcome{false, {}, std::move(why)}; }

// The bundle the https_spiffe endpoint is verified with: the newest one held for the
// endpoint ID's trust domain (this relationship's own when self-serving, or another
// relationship's), else the operator's bootstrap bundle.
Result<std::shared_ptr<const identity::TrustBundleSet>> endpointTrust(FetcherState& state,
                                                                      const Relationship& rel) {
  const std::string td(rel.endpoint_id->trustDomain());
  std::optional<std::string> pem;
  {
    std::lock_guard lock(state.mutex);
    for (const auto& other : state.relationships) {
      if (other->config.trust_domain == td && other->held) pem = other->held->x509Pem();
    }
  }
  // A fetched bundle without X.509 authorities (all revoked) does not fall back to the
  // bootstrap bundle: revocation must hold.
  if (!pem) pem = rel.bootstrap->x509Pem();
  if (pem->empty()) {
    return Error{"no X.509 authority held for " + td + " to verify the endpoint with"};
  }
  return identity::TrustBundleSet::fromPem({{td, *pem}});
}

asio::awaitable<FetchOutcome> fetchDocument(FetcherState& state, Relationship& rel) {
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + state.timing.request_timeout;
  const EndpointUrl& url = rel.url;

  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (url.host_is_ip) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (ec) co_return failed("bad address " + url.host);
    endpoints.emplace_back(address, url.port_number);
  } else {
    // The resolver has no deadline of its own; a timer cancels it. The resolver is shared
    // with the timer's handler so that a late expiry never touches a finished frame.
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
    asio::steady_timer guard(executor, deadline);
    guard.async_wait([resolver](boost::system::error_code ec) {
      if (!ec) resolver->cancel();
    });
    auto [rec, results] = co_await resolver->async_resolve(url.host, url.port, kTuple);
    guard.cancel();
    if (rec) {
      co_return failed("resolving " + url.host + ": " +
                       (rec == asio::error::operation_aborted ? "timed out" : rec.message()));
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  // Declared before the stream: the SSL object points at `check` until it is freed.
  SpiffeCheck check;
  std::shared_ptr<const identity::TrustBundleSet> trust;
  beast::ssl_stream<beast::tcp_stream> stream(executor, *rel.tls);
  auto& tcp = beast::get_lowest_layer(stream);
  // One deadline for connect, handshake, request and response together.
  tcp.expires_at(deadline);
  SSL* ssl_obj = stream.native_handle();
  if (!url.host_is_ip) {
    // SNI for name-based virtual hosting; never an IP literal (RFC 6066 §3).
    // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
    SSL_ctrl(ssl_obj, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(url.host.c_str()));
  }
  if (rel.config.profile == FederationProfile::kHttpsWeb) {
    // RFC 6125: the certificate must name the URL's host (DNS-ID, or IP SAN for literals).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_obj);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = url.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
                                   : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    if (set != 1) {
      net::drainOpensslErrors();
      co_return failed("cannot set the expected host " + url.host);
    }
  } else {
    auto built = endpointTrust(state, rel);
    if (!built) co_return failed(built.error().message);
    trust = std::move(*built);
    check.bundles = trust.get();
    check.expected = &*rel.endpoint_id;
    SSL_set_ex_data(ssl_obj, spiffeCheckIndex(), &check);
  }

  auto [cec, connected] = co_await tcp.async_connect(endpoints, kTuple);
  if (cec) {
    co_return failed("connecting to " + url.host_header + ": " +
                     (cec == beast::error::timeout ? "timed out" : cec.message()));
  }
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  if (hec) {
    std::string why = "TLS handshake with " + url.host_header + " failed";
    if (!check.failure.empty()) {
      why += ": " + check.failure;
    } else if (const long vr = SSL_get_verify_result(ssl_obj); vr != X509_V_OK) {
      why += ": " + std::string(X509_verify_cert_error_string(vr));
    } else {
      why += ": " + (hec == beast::error::timeout ? std::string("timed out") : hec.message());
    }
    net::drainOpensslErrors();
    co_return failed(std::move(why));
  }
  if (rel.config.profile == FederationProfile::kHttpsSpiffe && !check.verified) {
    // Belt and braces: the callback runs only if a certificate was presented.
    co_return failed("the endpoint presented no X509-SVID");
  }

  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "warden-federation");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return failed("sending the request: " + wec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  // Beast stops at the limit: a declared oversize length fails right after the head, an
  // undeclared one as soon as the limit is crossed, without buffering the rest.
  parser.body_limit(identity::kMaxBundleBytes);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (rec == http::error::body_limit) {
    co_return failed("the bundle exceeds " + std::to_string(identity::kMaxBundleBytes) + " bytes");
  }
  if (rec) {
    co_return failed("reading the response: " +
                     (rec == beast::error::timeout ? std::string("timed out") : rec.message()));
  }
  auto& res = parser.get();
  if (res.result() != http::status::ok) {
    std::string why = "HTTP " + std::to_string(res.result_int());
    if (http::to_status_class(res.result()) == http::status_class::redirection) {
      // Redirects are not followed (the spec allows, never requires, following them).
      why += " redirect to \"" + std::string(res[http::field::location]) + "\" not followed";
    }
    co_return failed(std::move(why));
  }
  co_return FetchOutcome{true, std::move(res.body()), {}};
}

// ---- apply and schedule ---------------------------------------------------------------

milliseconds nextRefresh(const FederationTiming& timing, std::optional<std::int64_t> hint_s) {
  if (!hint_s) return std::clamp(timing.default_refresh, timing.min_refresh, timing.max_refresh);
  if (*hint_s <= 0) return timing.min_refresh;
  // Compared in seconds first: a huge hint must not overflow milliseconds.
  if (*hint_s >= std::chrono::duration_cast<std::chrono::seconds>(timing.max_refresh).count() + 1) {
    return timing.max_refresh;
  }
  return std::clamp(milliseconds(*hint_s * 1000), timing.min_refresh, timing.max_refresh);
}

std::string describe(const identity::SpiffeBundle& b) {
  return "sequence " + (b.sequence ? std::to_string(*b.sequence) : std::string("none")) + ", " +
         std::to_string(b.x509_authorities.size()) + " X.509 and " +
         std::to_string(b.jwt_authorities.size()) + " JWT authorities";
}

// Fetches once, applies the result and returns how long to wait before the next fetch.
asio::awaitable<milliseconds> fetchAndApply(FetcherState& state, Relationship& rel) {
  const std::string& td = rel.config.trust_domain;
  const auto attempt = std::chrono::system_clock::now();
  FetchOutcome fetched = co_await fetchDocument(state, rel);
  std::optional<identity::SpiffeBundle> candidate;
  std::string error = std::move(fetched.error);
  if (fetched.ok) {
    auto parsed = identity::parseSpiffeBundle(fetched.body, td);
    if (parsed) {
      candidate = std::move(*parsed);
    } else {
      error = "invalid bundle: " + parsed.error().message;
    }
  }

  bool changed = false;
  bool holds_one = false;
  std::optional<identity::SpiffeBundle> notify;
  {
    std::lock_guard lock(state.mutex);
    FederationStatus& status = rel.status;
    status.last_attempt = attempt;
    if (candidate && rel.held && rel.held->sequence && candidate->sequence &&
        *candidate->sequence < *rel.held->sequence) {
      // A rollback (or a lagging replica behind the endpoint): keep the newer bundle.
      error = "stale bundle ignored: sequence " + std::to_string(*candidate->sequence) +
              " is lower than the held " + std::to_string(*rel.held->sequence);
      candidate.reset();
    }
    if (candidate) {
      changed = !rel.held || !rel.held->sameKeys(*candidate) ||
                rel.held->sequence != candidate->sequence;
      // Held even when unchanged, so that a new refresh hint takes effect.
      rel.held = *candidate;
      if (changed) notify = *candidate;
      status.last_success = attempt;
      status.last_error.clear();
      ++status.fetches_ok;
    } else {
      status.last_error = error;
      ++status.fetches_failed;
    }
    holds_one = rel.held.has_value();
  }

  if (!candidate) {
    spdlog::warn("federation: fetching the bundle of {} from {} ({}) failed{}: {}", td,
                 rel.config.url, profileName(rel.config.profile),
                 holds_one ? ", keeping the last good one" : ", no bundle held yet", error);
    co_return state.timing.retry;
  }
  if (changed) {
    spdlog::info("federation: new bundle for {} from {} ({}): {}", td, rel.config.url,
                 profileName(rel.config.profile), describe(*candidate));
    if (state.on_change) state.on_change(*notify);
  } else {
    spdlog::debug("federation: bundle of {} from {} unchanged ({})", td, rel.config.url,
                  describe(*candidate));
  }
  co_return nextRefresh(state.timing, candidate->refresh_hint_seconds);
}

// Clears the relationship's pointer to a timer that is going away.
class WaitingOn {
 public:
  WaitingOn(Relationship& rel, asio::steady_timer& timer) : rel_(rel) { rel_.waiting = &timer; }
  ~WaitingOn() { rel_.waiting = nullptr; }
  WaitingOn(const WaitingOn&) = delete;
  WaitingOn& operator=(const WaitingOn&) = delete;

 private:
  Relationship& rel_;
};

asio::awaitable<void> runRelationship(FetcherState& state, Relationship& rel) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    rel.refresh_requested = false;
    const milliseconds wait = co_await fetchAndApply(state, rel);
    // refreshNow() during the fetch asks for a fetch that starts after it was called.
    if (rel.refresh_requested) continue;
    asio::steady_timer timer(executor, wait);
    WaitingOn waiting(rel, timer);
    co_await timer.async_wait(kTuple);  // cancelled by refreshNow(): fetch at once
  }
}

}  // namespace

struct FederationFetcher::Impl : FetcherState {};

FederationFetcher::FederationFetcher() : impl_(std::make_unique<Impl>()) {}

FederationFetcher::~FederationFetcher() {
  if (!impl_) return;
  // A fetch in progress is abandoned: its coroutine is destroyed with the io_context and
  // its connection closed; nothing is half-applied because applying happens under the
  // mutex between suspension points.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<FederationFetcher>> FederationFetcher::start(
    std::vector<FederationRelationship> relationships, ChangeFn on_change,
    FederationTiming timing) {
  if (auto st = validateTiming(timing); !st) return st.error();
  std::unique_ptr<FederationFetcher> fetcher(new FederationFetcher());
  Impl& impl = *fetcher->impl_;
  impl.timing = timing;
  impl.on_change = std::move(on_change);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < relationships.size(); ++i) {
    auto rel = buildRelationship(std::move(relationships[i]), i);
    if (!rel) return rel.error();
    if (!seen.insert((*rel)->config.trust_domain).second) {
      return Error{"federation[" + std::to_string(i) + "].trust_domain: " +
                   (*rel)->config.trust_domain + " has more than one relationship"};
    }
    impl.relationships.push_back(std::move(*rel));
  }
  for (auto& rel : impl.relationships) {
    spdlog::info("federation: fetching the bundle of {} from {} ({}{})", rel->config.trust_domain,
                 rel->config.url, profileName(rel->config.profile),
                 rel->endpoint_id ? ", endpoint " + rel->endpoint_id->str() : std::string());
    asio::co_spawn(impl.ioc, runRelationship(impl, *rel), asio::detached);
  }
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  return fetcher;
}

std::map<std::string, identity::SpiffeBundle> FederationFetcher::bundles() const {
  std::map<std::string, identity::SpiffeBundle> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& rel : impl_->relationships) {
    if (rel->held) out.emplace(rel->config.trust_domain, *rel->held);
  }
  return out;
}

std::vector<FederationStatus> FederationFetcher::status() const {
  std::vector<FederationStatus> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& rel : impl_->relationships) {
    FederationStatus s = rel->status;
    s.has_bundle = rel->held.has_value();
    s.sequence = rel->held ? rel->held->sequence : std::nullopt;
    out.push_back(std::move(s));
  }
  return out;
}

void FederationFetcher::refreshNow() {
  FetcherState* state = impl_.get();
  asio::post(impl_->ioc, [state] {
    for (auto& rel : state->relationships) {
      rel->refresh_requested = true;
      if (rel->waiting != nullptr) rel->waiting->cancel();
    }
  });
}

}  // namespace warden::issuer
