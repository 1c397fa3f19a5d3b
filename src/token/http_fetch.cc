// httpFetch: resolve (bounded by a timer), connect, optional TLS, one request, one response.
//
// Trust posture: the network and the answer are untrusted. The response head and body are
// size-bounded by Beast's parser limits (an oversize body fails as soon as the limit is
// crossed, without buffering the rest); nothing in the answer is interpreted here beyond
// HTTP framing.
#include "token/http_fetch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <vector>

#include "common/http_token.h"
#include "net/tls_client.h"

namespace warden::token {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;

HttpFetchResult failed(std::string why) {
  HttpFetchResult out;
  out.error = std::move(why);
  return out;
}

std::string describeError(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? std::string("timed out") : ec.message();
}

// The method to send: `method` when given, else POST or GET per `post`.
http::verb methodOf(const HttpFetchRequest& r) {
  if (r.method.empty()) return r.post ? http::verb::post : http::verb::get;
  return http::string_to_verb(r.method);
}

bool isHeaderSafe(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A 2xx body handed to `on_body` piece by piece (server-sent events); any other body
// collected, bounded by max_body_bytes.
template <class Stream>
asio::awaitable<HttpFetchResult> readStreamed(Stream& stream, beast::flat_buffer& buffer,
                                              const HttpFetchRequest& r, bool head_request) {
  const FetchUrl& url = *r.url;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(boost::none);  // a stream has no end; other bodies are bounded below
  if (head_request) parser.skip(true);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (hec) co_return failed("reading the response from " + url.text + ": " + describeError(hec));
  HttpFetchResult out;
  const auto& res = parser.get();
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.cache_control = std::string(res[http::field::cache_control]);
  out.location = std::string(res[http::field::location]);
  out.etag = std::string(res[http::field::etag]);
  const bool streaming = out.status >= 200 && out.status < 300;
  auto& tcp = beast::get_lowest_layer(stream);
  std::vector<char> piece(16 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    // The overall deadline covered the head; a stream is bounded by its silences only.
    if (streaming) tcp.expires_after(r.timeout);
    // read_some: whatever has arrived is handed over now, not when the piece buffer fills.
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = piece.size() - parser.get().body().size;
    if (got > 0 && streaming) {
      if (!r.on_body(std::string_view(piece.data(), got))) {
        out.ok = true;
        co_return out;
      }
    } else if (got > 0) {
      if (out.body.size() + got > r.max_body_bytes) {
        co_return failed(url.text + ": the response exceeds " + std::to_string(r.max_body_bytes) +
                         " bytes");
      }
      out.body.append(piece.data(), got);
    }
    if (ec) co_return failed("reading the response from " + url.text + ": " + describeError(ec));
  }
  out.ok = true;
  co_return out;
}

template <class Stream>
asio::awaitable<HttpFetchResult> exchange(Stream& stream, const HttpFetchRequest& r) {
  const FetchUrl& url = *r.url;
  const http::verb verb = methodOf(r);
  http::request<http::string_body> req{verb, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, r.user_agent);
  req.set(http::field::accept, r.accept);
  const bool with_body = !r.body.empty() || verb == http::verb::post || verb == http::verb::put ||
                         verb == http::verb::patch;
  if (with_body) {
    if (!r.content_type.empty()) req.set(http::field::content_type, r.content_type);
    req.set(http::field::cache_control, "no-store");
    req.body() = r.body;
    req.prepare_payload();
  }
  for (const auto& [name, value] : r.headers) req.set(name, value);
  req.keep_alive(false);
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return failed("sending the request to " + url.text + ": " + describeError(wec));

  beast::flat_buffer buffer;
  if (r.on_body) co_return co_await readStreamed(stream, buffer, r, verb == http::verb::head);
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(r.max_body_bytes);
  if (verb == http::verb::head) parser.skip(true);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (rec == http::error::body_limit) {
    co_return failed(url.text + ": the response exceeds " + std::to_string(r.max_body_bytes) +
                     " bytes");
  }
  if (rec) co_return failed("reading the response from " + url.text + ": " + describeError(rec));
  auto& res = parser.get();
  HttpFetchResult out;
  out.ok = true;
  out.status = res.result_int();
  out.body = std::move(res.body());
  out.content_type = std::string(res[http::field::content_type]);
  out.cache_control = std::string(res[http::field::cache_control]);
  out.location = std::string(res[http::field::location]);
  out.etag = std::string(res[http::field::etag]);
  co_return out;
}

}  // namespace

std::string printableText(std::string_view text, std::size_t max) {
  std::string out;
  for (const char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

asio::awaitable<HttpFetchResult> httpFetch(const HttpFetchRequest& r) {
  const FetchUrl& url = *r.url;
  if (methodOf(r) == http::verb::unknown) {
    co_return failed(url.text + ": unsupported method " + printableText(r.method));
  }
  for (const auto& [name, value] : r.headers) {
    if (!isHttpToken(name) || !isHeaderSafe(value)) {
      co_return failed(url.text + ": refusing a malformed request header (name or line break)");
    }
  }
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + r.timeout;

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

  if (!url.tls) {
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    auto [cec, connected] = co_await stream.async_connect(endpoints, kTuple);
    if (cec) co_return failed("connecting to " + url.host_header + ": " + describeError(cec));
    co_return co_await exchange(stream, r);
  }
  if (r.tls == nullptr) co_return failed(url.text + ": no TLS context for an https URL");

  beast::ssl_stream<beast::tcp_stream> stream(executor, *r.tls);
  auto& tcp = beast::get_lowest_layer(stream);
  // One deadline for connect, handshake, request and response together.
  tcp.expires_at(deadline);
  SSL* ssl_obj = stream.native_handle();
  if (r.check_server_name && !net::expectServerName(ssl_obj, url.host, url.host_is_ip)) {
    net::drainOpensslErrors();
    co_return failed("cannot set the expected server name " + url.host);
  }
  if (r.prepare) {
    if (auto st = r.prepare(ssl_obj); !st) co_return failed(url.text + ": " + st.message());
  }
  auto [cec, connected] = co_await tcp.async_connect(endpoints, kTuple);
  if (cec) co_return failed("connecting to " + url.host_header + ": " + describeError(cec));
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  Status verified;
  if (r.verify) verified = r.verify(ssl_obj);
  if (hec) {
    std::string why = "TLS handshake with " + url.host_header + " failed: ";
    if (!verified) {
      why += verified.message();
    } else if (const long vr = SSL_get_verify_result(ssl_obj); vr != X509_V_OK) {
      why += X509_verify_cert_error_string(vr);
    } else {
      why += describeError(hec);
    }
    net::drainOpensslErrors();
    co_return failed(std::move(why));
  }
  if (!verified) {
    co_return failed("TLS handshake with " + url.host_header + ": " + verified.message());
  }
  co_return co_await exchange(stream, r);
}

}  // namespace warden::token
