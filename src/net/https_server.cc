#include "net/https_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "net/tls_client.h"

namespace warden::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Verification happens after the handshake (HttpsServer's `identify`), against the
// bundles in force then; OpenSSL's own chain check would need a static store and would
// refuse clients that authenticate otherwise (a bearer token).
int acceptAnyClientCertificate(X509_STORE_CTX* /*ctx*/, void* /*arg*/) { return 1; }

std::string endpointText(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

HttpResponse jsonResponse(unsigned status, std::string body) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

Result<std::shared_ptr<ssl::context>> managementServerContext(const std::vector<X509*>& chain,
                                                              EVP_PKEY* key,
                                                              std::string_view session_context) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  hardenTls(native);
  if (chain.empty() || SSL_CTX_use_certificate(native, chain.front()) != 1) {
    return Error{"server certificate: " + drainOpensslErrors()};
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(native, chain[i]) != 1) {
      return Error{"server certificate chain: " + drainOpensslErrors()};
    }
  }
  if (SSL_CTX_use_PrivateKey(native, key) != 1 || SSL_CTX_check_private_key(native) != 1) {
    drainOpensslErrors();
    return Error{"the server key does not match the server certificate"};
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(native, &acceptAnyClientCertificate, nullptr);
  const std::string sid(session_context.substr(0, SSL_MAX_SID_CTX_LENGTH));
  SSL_CTX_set_session_id_context(native, reinterpret_cast<const unsigned char*>(sid.data()),
                                 static_cast<unsigned>(sid.size()));
  return ctx;
}

struct HttpsServer::Impl {
  HttpsServerOptions options;
  TlsSource tls;
  Identify identify;
  HttpsHandler handler;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  asio::io_context ioc{1};
  std::optional<asio::ip::tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::thread thread;
  bool stopped = false;
  std::mutex stop_mutex;
};

namespace {

class Exchange final : public HttpsExchange {
 public:
  Exchange(TlsStream& stream, const HttpRequest& req, const ClientIdentity& client,
           const std::string& source, const std::atomic<bool>& stopping)
      : stream_(stream), req_(req), client_(client), source_(source), stopping_(stopping) {}

  const HttpRequest& request() const override { return req_; }
  const ClientIdentity& client() const override { return client_; }
  const std::string& source() const override { return source_; }
  bool streaming() const override { return streaming_; }
  bool stopping() const override { return stopping_.load(std::memory_order_relaxed); }

  asio::awaitable<bool> startStream(HttpResponse head) override {
    streaming_ = true;
    head.version(11);
    head.chunked(true);
    head.keep_alive(false);
    http::response_serializer<http::string_body> sr(head);
    beast::get_lowest_layer(stream_).expires_never();
    auto [ec, n] = co_await http::async_write_header(stream_, sr, kTuple);
    ok_ = !ec;
    co_return ok_;
  }

  asio::awaitable<bool> sendChunk(std::string_view data) override {
    if (!ok_ || data.empty()) co_return ok_;
    char size[32];
    const int len = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    std::array<asio::const_buffer, 3> parts{asio::buffer(size, static_cast<std::size_t>(len)),
                                            asio::buffer(data.data(), data.size()),
                                            asio::buffer("\r\n", 2)};
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await asio::async_write(stream_, parts, kTuple);
    ok_ = !ec;
    co_return ok_;
  }

  asio::awaitable<void> endStream() {
    if (!ok_) co_return;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer("0\r\n\r\n", 5), kTuple);
    ok_ = !ec;
  }

 private:
  TlsStream& stream_;
  const HttpRequest& req_;
  const ClientIdentity& client_;
  const std::string& source_;
  const std::atomic<bool>& stopping_;
  bool streaming_ = false;
  bool ok_ = true;
};

struct ConnectionCount {
  explicit ConnectionCount(std::atomic<std::size_t>& n) : n_(n) { ++n_; }
  ~ConnectionCount() { --n_; }
  std::atomic<std::size_t>& n_;
};

asio::awaitable<void> serveConnection(HttpsServer::Impl& impl, asio::ip::tcp::socket socket,
                                      std::shared_ptr<ssl::context> tls) {
  ConnectionCount count(impl.connections);
  const std::string source = endpointText(socket);
  TlsStream stream(std::move(socket), *tls);
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(impl.options.handshake_timeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
  if (hec) {
    spdlog::debug("{}: TLS handshake from {} failed: {}", impl.options.name, source, hec.message());
    drainOpensslErrors();
    co_return;
  }
  // Identity is established once per connection (no renegotiation).
  const ClientIdentity client = impl.identify ? impl.identify(stream.native_handle())
                                              : ClientIdentity{};
  beast::flat_buffer buffer;
  while (!impl.stopping.load(std::memory_order_relaxed)) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(impl.options.max_header_bytes));
    parser.body_limit(impl.options.max_body_bytes);
    tcp.expires_after(impl.options.request_timeout);
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (rec) {
      if (rec == http::error::body_limit || rec == http::error::header_limit) {
        const bool body = rec == http::error::body_limit;
        auto res = jsonResponse(body ? 413 : 431,
                                std::string(R"({"error":")") +
                                    (body ? "payload_too_large" : "headers_too_large") +
                                    R"(","reason":"the request exceeds the server's limit"})");
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, kTuple);
      } else if (rec != http::error::end_of_stream && rec != ssl::error::stream_truncated &&
                 rec != beast::error::timeout) {
        auto res = jsonResponse(400, R"({"error":"bad_request","reason":")" + rec.message() + "\"}");
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, kTuple);
      }
      break;
    }
    const HttpRequest& req = parser.get();
    Exchange ex(stream, req, client, source, impl.stopping);
    HttpResponse res = co_await impl.handler(ex);
    if (ex.streaming()) {
      co_await ex.endStream();
      break;
    }
    res.version(req.version());
    res.keep_alive(req.keep_alive() && !impl.stopping.load());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
      const std::size_t length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    tcp.expires_after(impl.options.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !res.keep_alive()) break;
  }
  tcp.expires_after(kShutdownTimeout);
  co_await stream.async_shutdown(kTuple);
}

asio::awaitable<void> acceptLoop(HttpsServer::Impl& impl) {
  for (;;) {
    auto [ec, socket] = co_await impl.acceptor->async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !impl.acceptor->is_open()) co_return;
      spdlog::warn("{}: accept failed: {}", impl.options.name, ec.message());
      asio::steady_timer pause(impl.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto tls = impl.tls ? impl.tls() : nullptr;
    if (!tls || impl.connections >= impl.options.max_connections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(impl.ioc, serveConnection(impl, std::move(socket), std::move(tls)),
                   asio::detached);
  }
}

}  // namespace

HttpsServer::HttpsServer() : impl_(std::make_unique<Impl>()) {}

HttpsServer::~HttpsServer() { stop(); }

Result<std::unique_ptr<HttpsServer>> HttpsServer::start(HttpsServerOptions options, TlsSource tls,
                                                        Identify identify, HttpsHandler handler) {
  std::unique_ptr<HttpsServer> server(new HttpsServer());
  Impl& impl = *server->impl_;
  impl.options = std::move(options);
  impl.tls = std::move(tls);
  impl.identify = std::move(identify);
  impl.handler = std::move(handler);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl.options.host, ec);
  if (ec) return Error{impl.options.name + ": listen address " + impl.options.host + " is not an IP literal"};
  asio::ip::tcp::endpoint endpoint(address, impl.options.port);
  impl.acceptor.emplace(impl.ioc);
  impl.acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor->bind(endpoint, ec);
  if (!ec) impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{impl.options.name + ": cannot listen on " + impl.options.host + ":" +
                 std::to_string(impl.options.port) + ": " + ec.message()};
  }
  impl.port = impl.acceptor->local_endpoint().port();
  asio::co_spawn(impl.ioc, acceptLoop(impl), asio::detached);
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  return server;
}

std::uint16_t HttpsServer::port() const { return impl_->port; }
asio::io_context& HttpsServer::context() { return impl_->ioc; }

void HttpsServer::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true);
  asio::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  // Long-polls and streams notice `stopping` on their next wake-up; give them a moment,
  // then stop the loop (suspended coroutines are destroyed with the io_context).
  if (impl_->thread.joinable()) {
    auto done = std::async(std::launch::async, [this] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
      while (impl_->connections > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      impl_->ioc.stop();
    });
    impl_->thread.join();
    done.wait();
  }
}

}  // namespace warden::net
