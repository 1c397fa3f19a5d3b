// A small HTTPS/1.1 server for management surfaces (the control plane's API, its
// distribution and audit endpoints): one I/O thread, coroutine handlers, strict limits.
//
// The data plane does not use this (the sidecar has its own worker model); it serves
// request/response APIs, long-polls (a handler may co_await for as long as it likes,
// bounded by its own timer) and event streams (chunked responses written piece by piece).
//
// TLS: the context for each new connection comes from a callback (so a rotated server
// certificate applies to new connections without a restart). The server asks for a
// client certificate but never requires one; `identify` verifies whatever was presented
// after the handshake (as an X509-SVID against the bundles in force) and the handler
// decides what an unauthenticated request may do.
//
// Trust posture: anyone may connect. Headers and bodies are bounded, reads have deadlines,
// connections are capped. Thread-safety: start() returns a running server; stop() and the
// destructor may be called from any other thread; handlers run on the I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

typedef struct ssl_st SSL;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace warden::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Who is on the other end of the TLS connection, established once per connection.
struct ClientIdentity {
  bool presented = false;   // a client certificate was sent
  std::string spiffe_id;    // set when it verified as an X509-SVID
  std::array<std::uint8_t, 32> cert_sha256{};
  std::string error;        // why a presented certificate did not verify
  bool verified() const { return !spiffe_id.empty(); }
};

class HttpsExchange {
 public:
  virtual ~HttpsExchange() = default;
  virtual const HttpRequest& request() const = 0;
  virtual const ClientIdentity& client() const = 0;
  virtual const std::string& source() const = 0;  // "ip:port"
  // Streaming: sends `head` with chunked transfer coding; then chunks; the handler's
  // returned response is ignored afterwards. Each returns false once the client is gone.
  virtual boost::asio::awaitable<bool> startStream(HttpResponse head) = 0;
  virtual boost::asio::awaitable<bool> sendChunk(std::string_view data) = 0;
  virtual bool streaming() const = 0;
  // True after stop(): long-polls and streams should return promptly.
  virtual bool stopping() const = 0;
};

using HttpsHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpsExchange&)>;

struct HttpsServerOptions {
  std::string name = "https";  // for log lines
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};  // idle keep-alive wait + reading one request
  std::size_t max_connections = 1024;
};

class HttpsServer {
 public:
  using TlsSource = std::function<std::shared_ptr<boost::asio::ssl::context>()>;
  using Identify = std::function<ClientIdentity(SSL*)>;

  static Result<std::unique_ptr<HttpsServer>> start(HttpsServerOptions options, TlsSource tls,
                                                    Identify identify, HttpsHandler handler);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  std::uint16_t port() const;
  boost::asio::io_context& context();
  // Closes the listener, wakes long-polls and streams, joins the thread.
  void stop();

  struct Impl;

 private:
  HttpsServer();
  std::unique_ptr<Impl> impl_;
};

// The server side of TLS for management listeners: TLS 1.2+ (hardened like every Warden
// listener), the given certificate chain and key, a client certificate requested but
// not required (verified after the handshake by the server's `identify`).
Result<std::shared_ptr<boost::asio::ssl::context>> managementServerContext(
    const std::vector<X509*>& chain, EVP_PKEY* key, std::string_view session_context);

// A JSON response with the given status (HTTP/1.1; keep-alive decided by the server).
HttpResponse jsonResponse(unsigned status, std::string body);

}  // namespace warden::net
