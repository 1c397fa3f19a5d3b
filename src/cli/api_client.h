// How `warden`'s admin commands reach the control plane's REST API (docs/cli.md):
// connection settings from flags, the environment and the token file `warden login`
// writes, the TLS client that authenticates the server, and one request at a time.
//
// Server authentication:
//   --server-id ID   the server's certificate must verify as an X509-SVID against --bundle
//                    (identity::verifyX509Svid, after the handshake and before any request
//                    byte is sent) and carry exactly that SPIFFE ID; no hostname check.
//   otherwise        OpenSSL verifies the chain against --bundle (the system roots without
//                    one) and the RFC 6125 hostname check applies, except when the URL's
//                    host is an IP literal and a bundle is given (SVIDs name SPIFFE IDs,
//                    not addresses; the bundle alone then decides).
// Client identity: an X509-SVID (--cert/--key) presented in the handshake, or a bearer
// token (--token, WARDEN_TOKEN, the token file), never both.
// Failures are thrown as CliFailure (exit code + one line) and reported by the command
// runner; nothing here prints.
// Thread-safety: one client per command, used by one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::cli {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// What went wrong, as the one line `warden: <message>`, and the exit code.
class CliFailure : public std::runtime_error {
 public:
  explicit CliFailure(const std::string& message, int exit_code = kExitFailure)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exitCode() const { return exit_code_; }

 private:
  int exit_code_;
};

// As given on the command line; empty members fall back to the environment.
struct ConnectionOptions {
  std::string server;     // WARDEN_SERVER
  std::string cert;       // WARDEN_CERT
  std::string key;        // WARDEN_KEY
  std::string bundle;     // WARDEN_BUNDLE
  std::string server_id;  // WARDEN_SERVER_ID
  std::string token;      // WARDEN_TOKEN
  int timeout_seconds = 30;
};

// $XDG_CONFIG_HOME/warden/token, else $HOME/.config/warden/token.
std::string tokenFilePath();
// Writes the token file (directory 0700, file 0600, replaced atomically).
void storeToken(const std::string& token);

struct ApiResponse {
  int status = 0;
  std::string body;
  std::string etag;
  std::string content_type;

  bool ok() const { return status >= 200 && status < 300; }
  // The body as JSON (discarded when it is not JSON).
  nlohmann::json asJson() const;
  // The server's explanation of a failure: `reason` of {error, layer, reason}, else the
  // status and the start of the body.
  std::string reason() const;
  // The `error` code of {error, layer, reason}, or "".
  std::string errorCode() const;
};

class ApiClient {
 public:
  enum class Identity { kRequired, kNone };
  // Resolves the settings (flags, then environment, then the token file) and builds the
  // TLS client. Missing or contradictory settings: CliFailure with kExitUsage.
  static std::unique_ptr<ApiClient> connect(const ConnectionOptions& options,
                                            Identity identity = Identity::kRequired);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  using Headers = std::vector<std::pair<std::string, std::string>>;
  // One exchange; `path` starts with /api/v1. A transport or TLS failure throws
  // CliFailure("<what>: <why>"); any HTTP status comes back.
  ApiResponse request(std::string_view what, const std::string& method, const std::string& path,
                      const std::optional<nlohmann::json>& body = std::nullopt,
                      const Headers& headers = {}, std::size_t max_body_bytes = 16 << 20);
  // A GET whose 2xx body is streamed to `on_data` until it returns false, the server ends
  // it, or `idle` passes without data. A non-2xx answer comes back as the result.
  ApiResponse stream(std::string_view what, const std::string& path,
                     const std::function<bool(std::string_view)>& on_data,
                     std::chrono::seconds idle);

  // Throws CliFailure("<what>: <reason>") unless the answer is 2xx; a 412 says that
  // someone else changed the object.
  static void expectOk(std::string_view what, const ApiResponse& response);

  const std::string& baseUrl() const;

  struct Impl;

 private:
  ApiClient();
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
std::string urlEncode(std::string_view text);

}  // namespace warden::cli
