// Blocking HTTP/1.1 test client over plain TCP or mTLS, for integration tests.
//
// It sends raw bytes (so tests can write deliberately malformed or pipelined requests)
// and parses responses with Beast. Every read is bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace warden::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = false;
  std::chrono::steady_clock::time_point head_received_at;  // readStreaming only
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct ClientCredential {
  std::string cert_path;  // PEM chain
  std::string key_path;
};

class TestConnection {
 public:
  ~TestConnection();
  static std::unique_ptr<TestConnection> plain(std::uint16_t port);
  // mTLS; the server certificate is not verified (tests check identities server-side).
  // Returns nullptr if TCP connect or the client side of the handshake fails; a server
  // that refuses the client certificate under TLS 1.3 shows up on the first read.
  static std::unique_ptr<TestConnection> tls(std::uint16_t port,
                                             const std::optional<ClientCredential>& cred,
                                             std::string* error = nullptr);

  bool send(const std::string& bytes);
  // One response; nullopt on timeout, EOF or error (see lastError()).
  std::optional<HttpResponse> read(bool head_request = false,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads one response head, then hands each body piece to `on_body` as it arrives (the
  // body is not kept). `on_body` returns false to stop early.
  std::optional<HttpResponse> readStreaming(
      const std::function<bool(std::string_view)>& on_body,
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True if the peer closes the connection within the timeout.
  bool waitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(2));
  const std::string& lastError() const { return last_error_; }

  struct Impl;

 private:
  explicit TestConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string last_error_;
};

// Formats a request with Host, Content-Length (when a body is given) and extra headers.
std::string makeRequest(const std::string& method, const std::string& target,
                        const std::string& extra_headers = "", const std::string& body = "");

}  // namespace warden::testing
