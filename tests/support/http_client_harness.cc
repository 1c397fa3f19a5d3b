#include "support/http_client_harness.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <variant>

namespace warden::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

struct TestConnection::Impl {
  asio::io_context ioc;
  std::optional<ssl::context> ctx;
  std::optional<asio::ip::tcp::socket> plain;
  std::optional<ssl::stream<asio::ip::tcp::socket>> tls;
  beast::flat_buffer buffer;

  asio::ip::tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  // Calls f with the stream the connection speaks: the TLS stream or the plain socket.
  template <class F>
  void withStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }

  // Runs one asynchronous operation until it completes or `timeout` passes, then cancels
  // it. Blocking Asio calls cannot be bounded: with SO_RCVTIMEO a timed-out recv returns
  // EAGAIN, and Asio's blocking read then polls the socket with no timeout at all.
  template <class Initiate>
  boost::system::error_code run(Initiate&& initiate, std::chrono::milliseconds timeout,
                                std::size_t* transferred = nullptr) {
    boost::system::error_code result;
    bool done = false;
    std::forward<Initiate>(initiate)([&](boost::system::error_code ec, std::size_t n = 0) {
      result = ec;
      done = true;
      if (transferred) *transferred = n;
    });
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) {
      boost::system::error_code ignored;
      socket().cancel(ignored);
      ioc.restart();
      ioc.run();  // the cancelled operation completes with operation_aborted
      result = asio::error::timed_out;
    }
    return result;
  }
};

namespace {
constexpr std::chrono::seconds kHandshakeTimeout{5};
constexpr std::chrono::seconds kSendTimeout{60};  // bodies of tens of MB, read by a peer
}  // namespace

TestConnection::TestConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestConnection::~TestConnection() = default;

std::unique_ptr<TestConnection> TestConnection::plain(std::uint16_t port) {
  auto impl = std::make_unique<Impl>();
  impl->plain.emplace(impl->ioc);
  boost::system::error_code ec;
  impl->plain->connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return nullptr;
  return std::unique_ptr<TestConnection>(new TestConnection(std::move(impl)));
}

std::unique_ptr<TestConnection> TestConnection::tls(std::uint16_t port,
                                                    const std::optional<ClientCredential>& cred,
                                                    std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->ctx.emplace(ssl::context::tls_client);
  boost::system::error_code ec;
  if (cred) {
    impl->ctx->use_certificate_chain_file(cred->cert_path, ec);
    if (!ec) impl->ctx->use_private_key_file(cred->key_path, ssl::context::pem, ec);
    if (ec) {
      if (error) *error = "client credential: " + ec.message();
      return nullptr;
    }
  }
  impl->ctx->set_verify_mode(ssl::verify_none);
  impl->tls.emplace(impl->ioc, *impl->ctx);
  impl->tls->next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    if (error) *error = "connect: " + ec.message();
    return nullptr;
  }
  ec = impl->run(
      [&](auto handler) {
        impl->tls->async_handshake(ssl::stream_base::client,
                                   [handler](boost::system::error_code e) mutable { handler(e); });
      },
      kHandshakeTimeout);
  if (ec) {
    if (error) *error = "handshake: " + ec.message();
    return nullptr;
  }
  return std::unique_ptr<TestConnection>(new TestConnection(std::move(impl)));
}

bool TestConnection::send(const std::string& bytes) {
  const auto ec = impl_->run(
      [&](auto handler) {
        impl_->withStream([&](auto& stream) {
          asio::async_write(stream, asio::buffer(bytes), handler);
        });
      },
      kSendTimeout);
  if (ec) last_error_ = ec.message();
  return !ec;
}

std::optional<HttpResponse> TestConnection::read(bool head_request,
                                                 std::chrono::milliseconds timeout) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (head_request) parser.skip(true);
  const auto ec = impl_->run(
      [&](auto handler) {
        impl_->withStream([&](auto& stream) {
          http::async_read(stream, impl_->buffer, parser, handler);
        });
      },
      timeout);
  if (ec) {
    last_error_ = ec.message();
    return std::nullopt;
  }
  HttpResponse r;
  const auto& msg = parser.get();
  r.status = msg.result_int();
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = msg.body();
  r.keep_alive = msg.keep_alive();
  return r;
}

std::optional<HttpResponse> TestConnection::readStreaming(
    const std::function<bool(std::string_view)>& on_body, std::chrono::milliseconds timeout) {
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  // `timeout` bounds each wait: for the head, then for each piece of the body (a stream
  // may rightly last longer than any one wait).
  auto ec = impl_->run(
      [&](auto handler) {
        impl_->withStream([&](auto& stream) {
          http::async_read_header(stream, impl_->buffer, parser, handler);
        });
      },
      timeout);
  if (ec) {
    last_error_ = ec.message();
    return std::nullopt;
  }
  HttpResponse r;
  r.head_received_at = std::chrono::steady_clock::now();
  r.status = parser.get().result_int();
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.keep_alive = parser.get().keep_alive();
  std::vector<char> scratch(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = scratch.data();
    parser.get().body().size = scratch.size();
    ec = impl_->run(
        [&](auto handler) {
          impl_->withStream([&](auto& stream) {
            http::async_read_some(stream, impl_->buffer, parser, handler);
          });
        },
        timeout);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      last_error_ = ec.message();
      return std::nullopt;
    }
    const std::size_t got = scratch.size() - parser.get().body().size;
    if (got > 0 && !on_body(std::string_view(scratch.data(), got))) return r;
  }
  return r;
}

bool TestConnection::waitClosed(std::chrono::milliseconds timeout) {
  char byte;
  // Pipelined leftovers in the buffer are not "closed".
  if (impl_->buffer.size() > 0) return false;
  std::size_t n = 0;
  const auto ec = impl_->run(
      [&](auto handler) {
        impl_->withStream([&](auto& stream) {
          stream.async_read_some(asio::buffer(&byte, 1), handler);
        });
      },
      timeout, &n);
  if (n > 0 || ec == asio::error::timed_out) return false;
  // EOF, a TLS stream cut short, a reset: all mean the peer closed the connection.
  return static_cast<bool>(ec);
}

std::string makeRequest(const std::string& method, const std::string& target,
                        const std::string& extra_headers, const std::string& body) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: budget-backend\r\n" + extra_headers;
  if (!body.empty() || method == "POST" || method == "PUT") {
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n" + body;
  return r;
}

}  // namespace warden::testing
