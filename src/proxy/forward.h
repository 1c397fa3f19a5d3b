// Forwarding one admitted request upstream and its response back (ingress: to the app;
// egress: to the target's ingress over mTLS). Shared by both directions.
//
// Upstream connections come from the worker's pool. If a pooled connection turns out to
// be dead before any response byte arrived and the request had no body, the request is
// replayed once on a fresh connection (what Envoy and HAProxy do for idempotent reuse
// failures); otherwise the client gets a 502/503/504 JSON error. A request with
// `Expect: 100-continue` is answered with 100 by the sidecar only after it was admitted,
// so denied uploads are never sent.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "policy/decision.h"
#include "proxy/http_exchange.h"
#include "proxy/sidecar_config.h"
#include "proxy/tls_contexts.h"
#include "proxy/worker.h"

namespace warden::proxy {

template <class Up>
struct Connected {
  std::optional<Up> stream;
  // When no stream: why.
  policy::Layer layer = policy::Layer::kProxy;
  std::string_view reason = policy::reason::kUpstreamUnavailable;
  http::status status = http::status::service_unavailable;
  std::string detail;
};

struct ForwardOutcome {
  bool responded = false;   // a response head reached the client
  bool keep_client = false; // the client connection may carry another request
  int status = 0;           // status sent to the client (responded) or to send (failed)
  std::uint64_t bytes_in = 0, bytes_out = 0;
  // Set when !responded and the client should get an error response.
  bool failed = false;
  bool client_gone = false;  // the client's side failed: nothing to answer
  policy::Layer layer = policy::Layer::kProxy;
  std::string_view reason;
  std::string detail;
};

// Buffers a downstream connection reuses for every exchange (no allocation per request).
struct ExchangeBuffers {
  ExchangeBuffers() { upstream.reserve(kRelayBufferBytes); }  // Beast reads at most the free capacity
  beast::flat_buffer upstream;  // the response bytes read from the upstream
  std::string head;             // the head being written (relayMessage)
  // Header lines the session adds to the request it forwards (request_identity.h), set
  // per request; empty for none.
  std::string request_fields;
  // The upstream's response, parsed afresh for each one. Kept here rather than in
  // forwardExchange's coroutine frame: the frame then stays within what Asio recycles per
  // thread (<= 1020 bytes) instead of costing a malloc and a free per request.
  std::optional<http::response_parser<http::buffer_body>> response;
};

namespace detail {

inline ForwardOutcome& setFailure(ForwardOutcome& out, policy::Layer layer,
                                  std::string_view reason, http::status status,
                                  std::string detail) {
  out.failed = true;
  out.layer = layer;
  out.reason = reason;
  out.status = static_cast<int>(status);
  out.detail = std::move(detail);
  return out;
}

// What the response half of an exchange needs to know about the request half.
struct ExchangeFacts {
  bool is_head = false;            // a response to HEAD has no body, whatever it says
  unsigned client_version = 11;
  bool client_keep_alive = false;  // as the client asked, on the wire
  bool replayable = false;         // a reused connection that failed before any response
  bool fresh = false;              // the connection was opened for this request
};

enum class ResponseStep { kDone, kRetry };

// The response half of forwardExchange: reads the upstream's response head (dropping 1xx
// other than 101), checks its framing and relays it to `down`; the connection goes back
// to the pool when it can carry another request. kRetry: a reused connection that had been
// closed while idle; `out` is then untouched. A coroutine of its own so that neither
// half's frame outgrows what Asio recycles (<= 1020 bytes).
template <class Down, class Up>
asio::awaitable<ResponseStep> relayResponse(Down& down, std::unique_ptr<Up>& up,
                                            ConnectionPool<Up>& pool, std::uint64_t generation,
                                            std::span<char> scratch, ExchangeBuffers& buffers,
                                            const Timeouts& timeouts, ExchangeFacts facts,
                                            ForwardOutcome& out) {
  using std::chrono::milliseconds;
  beast::flat_buffer& up_buffer = buffers.upstream;
  up_buffer.consume(up_buffer.size());
  auto& rp = buffers.response;
  const milliseconds response_ms(timeouts.upstream_response_ms);
  const HeadLimits response_limits{64 * 1024, response_ms, response_ms};
  HeadStatus head = HeadStatus::kOk;
  std::string head_error;
  beast::error_code ec;
  for (;;) {
    rp.emplace();
    rp->body_limit(boost::none);
    rp->header_limit(response_limits.max_header_bytes);
    if (facts.is_head) rp->skip(true);
    head = co_await readHead(*up, up_buffer, *rp, response_limits, head_error, &ec);
    if (head != HeadStatus::kOk || rp->get().result_int() / 100 != 1 ||
        rp->get().result_int() == 101) {
      break;
    }
  }
  if (head != HeadStatus::kOk) {
    // Nothing at all came back from a reused connection: the app closed it while idle.
    if (facts.replayable && head == HeadStatus::kClosed) co_return ResponseStep::kRetry;
    if (head == HeadStatus::kTimeout || head == HeadStatus::kIdleTimeout) {
      setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamTimeout,
                 http::status::gateway_timeout, "no response head within the timeout");
      co_return ResponseStep::kDone;
    }
    if (auto alert = describeTlsAlert(ec); !alert.empty() && facts.fresh) {
      setFailure(out, policy::Layer::kTransport, policy::reason::kHandshakeRefused,
                 http::status::bad_gateway, "TLS alert from target: " + alert);
      co_return ResponseStep::kDone;
    }
    const std::string what = ec ? ec.message()
                             : head == HeadStatus::kTooLarge ? "response head too large"
                             : head_error;
    setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
               http::status::bad_gateway, "reading upstream response: " + what);
    co_return ResponseStep::kDone;
  }
  auto& res = rp->get();
  if (res.result_int() == 101) {
    setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
               http::status::bad_gateway, "upstream switched protocols unasked");
    co_return ResponseStep::kDone;
  }
  if (auto why = checkResponseFraming(res); !why.empty()) {
    setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
               http::status::bad_gateway, "upstream response framing: " + std::string(why));
    co_return ResponseStep::kDone;
  }
  // Framing facts from the parser (flags set as it read the head; no field lookups).
  const bool upstream_keep_alive = rp->keep_alive();
  removeHopByHopFields(res);
  bool keep_client = facts.client_keep_alive && !rp->need_eof();
  const bool has_body = !rp->is_done();
  if (has_body && !rp->content_length() && !rp->chunked()) {
    // A close-delimited body (e.g. an SSE stream from an HTTP/1.0-style app): chunk it
    // for HTTP/1.1 clients so their connection survives; 1.0 clients read to close.
    if (facts.client_version >= 11) {
      res.chunked(true);
    } else {
      keep_client = false;
    }
  } else if (facts.client_version < 11 && res.chunked()) {
    res.chunked(false);  // HTTP/1.0 has no chunked coding: stream raw and close
    keep_client = false;
  }
  res.version(11);
  res.keep_alive(keep_client);
  out.status = res.result_int();

  const RelayResult back = co_await relayMessage(*up, up_buffer, *rp, down, scratch,
                                                 milliseconds(timeouts.body_idle_ms),
                                                 buffers.head);
  out.bytes_out = back.body_bytes;
  out.responded = back.wrote_anything;
  if (back.status != RelayStatus::kDone) {
    // Mid-stream failure: the status line is already out, so the only honest signal
    // left is closing the client connection.
    out.keep_client = false;
    if (!out.responded) {
      setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
                 http::status::bad_gateway, "relaying response: " + back.ec.message());
      co_return ResponseStep::kDone;
    }
    if (back.status == RelayStatus::kWriteFailed) out.client_gone = true;
    co_return ResponseStep::kDone;
  }
  if (upstream_keep_alive && rp->is_done() && up_buffer.size() == 0) {
    pool.give(std::move(up), generation);
  }
  out.keep_client = keep_client;
  co_return ResponseStep::kDone;
}

}  // namespace detail

// `generation` names the client credentials `connect` uses (ConnectionPool).
// `live_upstream`, when given, points at the upstream stream while it is in use, so the
// session can close it when the connection is revoked (Worker::revokeDenied).
template <class Down, class Up, class Connect>
asio::awaitable<ForwardOutcome> forwardExchange(Down& down, beast::flat_buffer& down_buffer,
                                                http::request_parser<http::buffer_body>& parser,
                                                ConnectionPool<Up>& pool, std::uint64_t generation,
                                                Connect connect,
                                                std::span<char> scratch, ExchangeBuffers& buffers,
                                                const Timeouts& timeouts,
                                                Up** live_upstream = nullptr) {
  using std::chrono::milliseconds;
  using detail::setFailure;
  ForwardOutcome out;
  struct ClearLive {
    Up** slot;
    ~ClearLive() {
      if (slot) *slot = nullptr;
    }
  } clear_live{live_upstream};
  auto& req = parser.get();
  detail::ExchangeFacts facts;
  // The parser's view, as the request arrived: its Connection field is already gone with
  // the other hop-by-hop fields, and without it the head alone would say "keep-alive" to
  // a client that sent "Connection: close" (RFC 9112 §9.6: that one is closed after the
  // response).
  facts.client_keep_alive = parser.keep_alive();
  facts.client_version = req.version();
  facts.is_head = req.method() == http::verb::head;
  bool expect_continue = false;
  if (const auto expect = req.find(http::field::expect); expect != req.end()) {
    expect_continue = beast::iequals(expect->value(), "100-continue");
    req.erase(http::field::expect);
  }
  const bool bodyless = parser.is_done();
  // HTTP/1.1 with no Connection field (hop-by-hop, removed by the caller) is keep-alive.
  req.version(11);

  bool sent_continue = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Up> up = pool.take(generation);
    facts.fresh = !up;
    if (facts.fresh) {
      Connected<Up> c = co_await connect();
      if (!c.stream) co_return setFailure(out, c.layer, c.reason, c.status, std::move(c.detail));
      up = std::make_unique<Up>(std::move(*c.stream));
    }
    if (live_upstream) *live_upstream = &*up;
    if (expect_continue && !bodyless && !sent_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::get_lowest_layer(down).expires_after(milliseconds(timeouts.body_idle_ms));
      auto [ec, n] = co_await asio::async_write(down, asio::buffer(kContinue), kTuple);
      if (ec) {
        out.client_gone = true;
        co_return out;
      }
      sent_continue = true;
    }
    const RelayResult sent = co_await relayMessage(down, down_buffer, parser, *up, scratch,
                                                   milliseconds(timeouts.body_idle_ms),
                                                   buffers.head, buffers.request_fields);
    out.bytes_in = sent.body_bytes;
    if (sent.status == RelayStatus::kReadFailed) {
      // A body that breaks framing (bad chunk size, body over the limit) is the client's
      // error and gets a 400 on a connection that is then closed; a client that simply
      // went away gets nothing. Either way the half-sent upstream connection is dropped.
      if (sent.ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
        co_return setFailure(out, policy::Layer::kProxy,
                             sent.ec == http::error::body_limit
                                 ? policy::reason::kPayloadTooLarge
                                 : policy::reason::kBadRequest,
                             sent.ec == http::error::body_limit ? http::status::payload_too_large
                                                                : http::status::bad_request,
                             "malformed request body: " + sent.ec.message());
      }
      out.client_gone = true;
      co_return out;
    }
    facts.replayable = !facts.fresh && bodyless && attempt == 0;
    if (sent.status == RelayStatus::kWriteFailed) {
      if (facts.replayable) continue;
      if (auto alert = describeTlsAlert(sent.ec); !alert.empty() && facts.fresh) {
        co_return setFailure(out, policy::Layer::kTransport, policy::reason::kHandshakeRefused,
                             http::status::bad_gateway, "TLS alert from target: " + alert);
      }
      co_return setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
                           http::status::bad_gateway, "writing to upstream: " + sent.ec.message());
    }
    const detail::ResponseStep step = co_await detail::relayResponse(
        down, up, pool, generation, scratch, buffers, timeouts, facts, out);
    if (step == detail::ResponseStep::kRetry) continue;
    co_return out;
  }
  co_return setFailure(out, policy::Layer::kProxy, policy::reason::kUpstreamUnavailable,
                       http::status::bad_gateway, "upstream closed the connection");
}

}  // namespace warden::proxy
