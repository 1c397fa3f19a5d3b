#include "tokenservice/issuer_fetch.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <optional>

// The TLS hardening settings are the issuer's (the bundle fetcher uses the same): one
// place decides which protocol versions and ciphers Warden's control plane speaks.
#include "net/tls_client.h"

namespace warden::tokenservice {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;

struct Target {
  std::string host;  // lowercase name, or an IP literal without brackets
  bool host_is_ip = false;
  std::string port = "443";
  std::string target;
  std::string host_header;
};

Result<Target> parseTarget(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return Error{"not an absolute URI"};
  const auto& url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::https) return Error{"not https"};
  if (url.has_userinfo()) return Error{"userinfo is not allowed"};
  Target t;
  switch (url.host_type()) {
    case boost::urls::host_type::name:
      t.host = url.host_name();
      std::transform(t.host.begin(), t.host.end(), t.host.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
      });
      t.host_header = t.host;
      break;
    case boost::urls::host_type::ipv4:
      t.host = url.host_ipv4_address().to_string();
      t.host_is_ip = true;
      t.host_header = t.host;
      break;
    case boost::urls::host_type::ipv6:
      t.host = url.host_ipv6_address().to_string();
      t.host_is_ip = true;
      t.host_header = "[" + t.host + "]";
      break;
    default:
      return Error{"a host name or IP address is required"};
  }
  if (t.host.empty()) return Error{"a host is required"};
  if (url.has_port()) {
    if (url.port().empty() || url.port_number() == 0) return Error{"invalid port"};
    t.port = std::to_string(url.port_number());
    if (t.port != "443") t.host_header += ":" + t.port;
  }
  t.target = url.encoded_path().empty() ? "/" : std::string(url.encoded_path());
  if (url.has_query()) t.target += "?" + std::string(url.encoded_query());
  return t;
}

}  // namespace

asio::awaitable<Result<std::string>> httpsGet(std::string url, std::string ca_file,
                                              std::chrono::milliseconds timeout) {
  auto target = parseTarget(url);
  if (!target) co_return Error{url + ": " + target.error().message};
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  ssl::context tls(ssl::context::tls_client);
  net::hardenTls(tls.native_handle());
  tls.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(ca_file, ec);
  }
  if (ec) {
    co_return Error{"cannot load CA roots" + (ca_file.empty() ? "" : " from " + ca_file) + ": " +
                    ec.message() + " (" + net::drainOpensslErrors() + ")"};
  }

  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (target->host_is_ip) {
    endpoints.emplace_back(asio::ip::make_address(target->host, ec),
                           static_cast<std::uint16_t>(std::stoi(target->port)));
    if (ec) co_return Error{"bad address " + target->host};
  } else {
    // The resolver has no deadline of its own; a timer cancels it (shared so a late
    // expiry never touches a finished frame).
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
    asio::steady_timer guard(executor, deadline);
    guard.async_wait([resolver](boost::system::error_code wec) {
      if (!wec) resolver->cancel();
    });
    auto [rec, results] = co_await resolver->async_resolve(target->host, target->port, kTuple);
    guard.cancel();
    if (rec) co_return Error{"resolving " + target->host + ": " + rec.message()};
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_at(deadline);
  SSL* ssl_obj = stream.native_handle();
  if (!target->host_is_ip) {
    // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
    SSL_ctrl(ssl_obj, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(target->host.c_str()));
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_obj);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int set = target->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, target->host.c_str())
                                     : X509_VERIFY_PARAM_set1_host(param, target->host.c_str(), 0);
  if (set != 1) {
    net::drainOpensslErrors();
    co_return Error{"cannot set the expected host " + target->host};
  }
  auto [cec, connected] = co_await tcp.async_connect(endpoints, kTuple);
  if (cec) co_return Error{"connecting to " + target->host_header + ": " + cec.message()};
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  if (hec) {
    std::string why = "TLS handshake with " + target->host_header + " failed";
    if (const long vr = SSL_get_verify_result(ssl_obj); vr != X509_V_OK) {
      why += ": " + std::string(X509_verify_cert_error_string(vr));
    } else {
      why += ": " + hec.message();
    }
    net::drainOpensslErrors();
    co_return Error{why};
  }

  http::request<http::empty_body> req{http::verb::get, target->target, 11};
  req.set(http::field::host, target->host_header);
  req.set(http::field::user_agent, "warden-token-service");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return Error{"sending the request to " + target->host_header + ": " + wec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(kMaxIssuerDocumentBytes);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (rec) co_return Error{"reading " + url + ": " + rec.message()};
  auto& res = parser.get();
  if (res.result() != http::status::ok) {
    // Redirects are not followed: the configured issuer is the only origin we trust.
    co_return Error{url + " answered HTTP " + std::to_string(res.result_int())};
  }
  co_return std::move(res.body());
}

asio::awaitable<void> refreshIssuerKeys(ExternalKeyCache& cache, ExternalIssuerConfig issuer) {
  const auto timeout = cache.timing().fetch_timeout;
  // OIDC Discovery §4: the well-known path is appended to the issuer, whose trailing
  // slash, if any, is dropped first.
  std::string base = issuer.issuer;
  if (!base.empty() && base.back() == '/') base.pop_back();
  std::string error;
  auto discovery = co_await httpsGet(base + "/.well-known/openid-configuration", issuer.ca_file, timeout);
  std::optional<Result<std::string>> jwks_text;
  std::optional<Result<std::string>> jwks_uri;
  if (!discovery) {
    error = "discovery: " + discovery.error().message;
  } else {
    jwks_uri = parseDiscoveryDocument(*discovery, issuer.issuer);
    if (!*jwks_uri) error = jwks_uri->error().message;
  }
  if (error.empty()) {
    jwks_text = co_await httpsGet(**jwks_uri, issuer.ca_file, timeout);
    if (!*jwks_text) error = "JWKS: " + jwks_text->error().message;
  }
  if (error.empty()) {
    auto keys = parseJwks(**jwks_text, issuer.issuer);
    if (keys) {
      spdlog::info("token service: {} keys of external issuer {}", keys->keys.size(), issuer.issuer);
      cache.storeKeys(std::move(*keys), ExternalKeyCache::Clock::now());
      co_return;
    }
    error = keys.error().message;
  }
  spdlog::warn("token service: cannot fetch the keys of external issuer {}: {}", issuer.issuer, error);
  cache.storeFailure(issuer.issuer, std::move(error));
}

}  // namespace warden::tokenservice
