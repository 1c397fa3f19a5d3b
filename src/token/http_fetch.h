// One short HTTP/1.1 exchange with a configured URL (fetch_url.h): the client Warden uses to
// fetch key material (JWKS, discovery documents) and to ask token endpoints for access
// tokens (GET and POST), and the one `warden`'s admin commands use for the control plane's
// REST API (any method, extra headers, the ETag back, server-sent event streams).
//
// One connection per exchange (Connection: close), redirects never followed, bounded
// response head and body, and one deadline for resolve, connect, TLS handshake, request and
// response together. TLS: the caller's context decides roots, client certificate and verify
// mode; by default the server must also be named by the URL's host per RFC 6125
// (net::expectServerName). A caller that authenticates the server another way (an X509-SVID
// with an expected SPIFFE ID) turns that off and supplies `prepare`/`verify` hooks, which
// run on the connection's SSL object before and after the handshake.
// The answer of any status comes back (non-2xx bodies carry OAuth error objects); `ok` is
// false only when no complete response was read.
// Streaming (`on_body`): the body of a 2xx answer is handed over piece by piece as it
// arrives instead of being collected; the deadline then covers the exchange up to the
// response head, and after it `timeout` bounds each wait for more data (silence). The body
// of any other answer is collected in `body` as usual.
// Thread-safety: the coroutine runs on the caller's executor; the request (and the SSL
// context it points to) must outlive it.
#pragma once

#include <openssl/ossl_typ.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "token/fetch_url.h"

namespace warden::token {

struct HttpFetchRequest {
  const FetchUrl* url = nullptr;
  bool post = false;          // GET otherwise (when `method` is empty)
  // Any other method by name ("PUT", "DELETE", ...); empty: POST or GET per `post`.
  std::string method;
  std::string body;           // sent with POST, PUT and PATCH, or whenever non-empty
  std::string content_type;   // sent with a body (when non-empty)
  // Extra request headers (If-Match, Authorization, ...), set after the fixed ones (one of
  // the same name is replaced). Names must be RFC 9110 tokens; values with CR, LF or NUL
  // are refused before connecting (no header injection).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string accept = "application/json";
  std::string user_agent = "warden";
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  // Required for https URLs.
  boost::asio::ssl::context* tls = nullptr;
  // RFC 6125 host check against the URL (and SNI for DNS names).
  bool check_server_name = true;
  // Optional hooks on the connection's SSL object: `prepare` before the handshake (a
  // failure aborts), `verify` after a successful one (a failure is the answer's error).
  std::function<Status(SSL*)> prepare;
  std::function<Status(SSL*)> verify;
  // Streaming: receives each piece of a 2xx body; returning false ends the exchange (the
  // result is then ok with what was read so far). See the note at the top.
  std::function<bool(std::string_view)> on_body;
};

struct HttpFetchResult {
  bool ok = false;  // a complete response was read (of any status)
  int status = 0;
  std::string body;
  std::string content_type;
  std::string cache_control;
  std::string location;  // of a redirect, for messages only
  std::string etag;      // the ETag header, as sent
  std::string error;     // when !ok: what failed, naming the URL
};

boost::asio::awaitable<HttpFetchResult> httpFetch(const HttpFetchRequest& request);

// Producer text headed for logs and messages: printable ASCII only, at most `max` bytes.
std::string printableText(std::string_view text, std::size_t max = 200);

}  // namespace warden::token
