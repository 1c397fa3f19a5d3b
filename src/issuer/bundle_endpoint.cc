// BundleEndpointServer: this trust domain's bundle over HTTPS (SPIFFE_Federation.md §4).
//
// Trust posture: anyone may connect (the spec forbids requiring client authentication),
// so everything a client sends is bounded: handshake and request deadlines, a header size
// limit, a small body limit (GET has none; a refused POST must not buy memory), and a cap
// on open connections. Only public documents are served: the bundle, and the JWT issuer's
// OIDC discovery document and JWKS when configured.
#include <spdlog/spdlog.h>

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
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "issuer/federation.h"
#include "net/tls_client.h"

namespace warden::issuer {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxRequestBodyBytes = 16 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// Covers the idle wait between keep-alive requests and the reading of one request, so a
// client that trickles bytes cannot hold a connection longer than this per request.
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);
// Bundle fetches are rare (one per relationship per refresh hint); this only stops a
// flood of idle connections from exhausting file descriptors.
constexpr std::size_t kMaxConnections = 256;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct ServerState {
  // What connection coroutines reference is declared before `ioc`: coroutines still
  // suspended at stop are destroyed with the io_context, so these must outlive it.
  // Request path -> document provider: the bundle, and any ServedDocument.
  std::map<std::string, std::function<std::string()>, std::less<>> documents;
  std::size_t connections = 0;  // io thread only
  ssl::context tls{ssl::context::tls_server};
  asio::io_context ioc{1};
  // I/O objects are declared after `ioc`: they must be destroyed before it.
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::thread thread;
};

http::response<http::string_body> errorResponse(http::status status, std::string_view code) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"error\":\"" + std::string(code) + "\"}";
  return res;
}

http::response<http::string_body> respond(ServerState& impl, const http::request<http::string_body>& req) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  http::response<http::string_body> res;
  const auto served = impl.documents.find(path);
  if (served == impl.documents.end()) {
    res = errorResponse(http::status::not_found, "not_found");
  } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res = errorResponse(http::status::method_not_allowed, "method_not_allowed");
    res.set(http::field::allow, "GET, HEAD");
  } else {
    std::string document;
    try {
      document = served->second();
    } catch (const std::exception& e) {
      // The provider is ours, but an exception must not cross into the I/O loop.
      spdlog::error("bundle endpoint: provider of {} failed: {}", served->first, e.what());
      return errorResponse(http::status::internal_server_error, "internal_error");
    }
    if (document.empty()) {
      // Nothing to serve yet (no authority loaded): a consumer keeps its last bundle and
      // retries, which is exactly what 503 asks of it.
      res = errorResponse(http::status::service_unavailable, "no_bundle");
    } else {
      res.result(http::status::ok);
      res.set(http::field::content_type, "application/json");
      // Intermediaries must not serve an old bundle (or old keys) after a rotation.
      res.set(http::field::cache_control, "no-store");
      res.body() = std::move(document);
    }
  }
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) {
    // HEAD: the same Content-Length as GET, no body.
    const std::size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
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

asio::awaitable<void> serveConnection(asio::ip::tcp::socket socket, ServerState& impl) {
  ConnectionCount count(impl.connections);
  TlsStream stream(std::move(socket), impl.tls);
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(kHandshakeTimeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
  if (hec) {
    spdlog::debug("bundle endpoint: TLS handshake failed: {}", hec.message());
    co_return;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxRequestBodyBytes);
    tcp.expires_after(kRequestTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::ssl::error::stream_truncated) {
        spdlog::debug("bundle endpoint: reading request: {}", ec.message());
      }
      break;
    }
    auto res = respond(impl, parser.get());
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !res.keep_alive()) break;
  }
  tcp.expires_after(kShutdownTimeout);
  co_await stream.async_shutdown(kTuple);
}

asio::awaitable<void> acceptLoop(ServerState& impl) {
  for (;;) {
    auto [ec, socket] = co_await impl.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !impl.acceptor->is_open()) co_return;
      // EMFILE and friends: back off briefly rather than spin.
      spdlog::warn("bundle endpoint: accept failed: {}", ec.message());
      asio::steady_timer pause(impl.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    if (impl.connections >= kMaxConnections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(impl.ioc, serveConnection(std::move(socket), impl), asio::detached);
  }
}

}  // namespace

struct BundleEndpointServer::Impl : ServerState {};

BundleEndpointServer::BundleEndpointServer() : impl_(std::make_unique<Impl>()) {}

BundleEndpointServer::~BundleEndpointServer() {
  if (!impl_) return;
  // Requests are short and the document is public: open connections are cut, not
  // drained; their coroutines are destroyed with the io_context.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t BundleEndpointServer::port() const { return impl_->port; }

Result<std::unique_ptr<BundleEndpointServer>> BundleEndpointServer::start(
    BundleEndpointOptions options, std::function<std::string()> bundle_json) {
  if (!bundle_json) return Error{"bundle endpoint: no bundle provider"};
  if (options.path.empty() || options.path.front() != '/' ||
      options.path.find_first_of("?# ") != std::string::npos) {
    return Error{"bundle endpoint: path \"" + options.path +
                 "\" must start with '/' and contain no query or fragment"};
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.listen_host, ec);
  if (ec) {
    return Error{"bundle endpoint: listen_host \"" + options.listen_host +
                 "\" is not an IP address"};
  }

  for (const auto& d : options.documents) {
    if (!d.provider) return Error{"bundle endpoint: no provider for " + d.path};
    if (d.path.empty() || d.path.front() != '/' ||
        d.path.find_first_of("?# ") != std::string::npos) {
      return Error{"bundle endpoint: document path \"" + d.path +
                   "\" must start with '/' and contain no query or fragment"};
    }
  }

  std::unique_ptr<BundleEndpointServer> server(new BundleEndpointServer());
  Impl& impl = *server->impl_;
  const std::string bundle_path = options.path;
  impl.documents.emplace(std::move(options.path), std::move(bundle_json));
  for (auto& d : options.documents) {
    if (!impl.documents.emplace(d.path, std::move(d.provider)).second) {
      return Error{"bundle endpoint: two documents on path " + d.path};
    }
  }

  SSL_CTX* ctx = impl.tls.native_handle();
  net::hardenTls(ctx);
  // No client certificate is requested (SSL_VERIFY_NONE is the server default): the
  // spec forbids requiring client authentication on a bundle endpoint.
  impl.tls.use_certificate_chain(asio::buffer(options.cert_pem), ec);
  if (ec) return Error{"bundle endpoint: server certificate: " + net::withOpensslErrors(ec)};
  impl.tls.use_private_key(asio::buffer(options.key_pem), ssl::context::pem, ec);
  // A key that does not belong to the certificate fails here ("key values mismatch").
  if (ec) return Error{"bundle endpoint: server key: " + net::withOpensslErrors(ec)};
  if (SSL_CTX_check_private_key(ctx) != 1) {
    net::drainOpensslErrors();
    return Error{"bundle endpoint: the server key does not match the server certificate"};
  }

  const asio::ip::tcp::endpoint endpoint(address, options.listen_port);
  impl.acceptor.emplace(impl.ioc);
  impl.acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor->bind(endpoint, ec);
  if (!ec) impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{"bundle endpoint: listening on " + options.listen_host + ":" +
                 std::to_string(options.listen_port) + ": " + ec.message()};
  }
  impl.port = impl.acceptor->local_endpoint(ec).port();

  asio::co_spawn(impl.ioc, acceptLoop(impl), asio::detached);
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  spdlog::info("bundle endpoint: serving https://{}:{}{}", address.is_v6()
                   ? "[" + address.to_string() + "]" : address.to_string(),
               impl.port, bundle_path);
  return server;
}

}  // namespace warden::issuer
