// Egress: plain HTTP from the local app, many requests per connection.
//
//   accept (loopback only) -> loop: read head (strict framing) -> route by Host (and
//   path prefix) -> [route with `token:`: the app's Authorization replaced by the held
//   access token, or 503 token_unavailable] -> pooled mTLS connection to the target
//   presenting our SVID, verifying the target's SVID and that its ID is the one the route
//   expects -> relay.
// The app never handles a credential and never sees a TLS error: a refused or failed
// handshake becomes a 502 JSON error naming the transport layer.
#include <boost/asio/ssl.hpp>
#include <chrono>

#include "proxy/egress_routes.h"
#include "proxy/egress_token.h"
#include "proxy/error_response.h"
#include "proxy/forward.h"
#include "proxy/request_identity.h"
#include "proxy/session_support.h"
#include "proxy/worker.h"

namespace warden::proxy {
namespace {

using Clock = SessionClock;
using std::chrono::milliseconds;

std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

asio::awaitable<void> runEgressSession(Worker& worker, asio::ip::tcp::socket socket,
                                       std::uint64_t connection_id) {
  ConnectionScope scope(worker, /*ingress=*/false);
  SharedState& shared = worker.shared();
  const SidecarConfig& cfg = shared.config;
  const EgressConfig& egress = *cfg.egress;
  const std::string source = remoteAddress(socket);
  TcpSocketStream stream(std::move(socket));
  beast::flat_buffer buffer;
  buffer.reserve(kRelayBufferBytes);
  std::array<char, 16 * 1024> scratch;
  ExchangeBuffers exchange_buffers;
  bool first = true;

  while (!shared.draining.load(std::memory_order_relaxed)) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(cfg.limits.max_header_bytes);
    parser.body_limit(boost::none);
    const HeadLimits limits = downstreamHeadLimits(
        cfg.limits.max_header_bytes, cfg.timeouts.header_read_ms, cfg.timeouts.idle_ms, first);
    first = false;
    std::string why;
    const HeadStatus head = co_await readHead(stream, buffer, parser, limits, why);
    if (connectionEnded(head)) break;
    const auto t0 = Clock::now();
    std::shared_ptr<const Runtime> runtime = worker.runtime();
    audit::AuditEvent e;
    e.direction = audit::Direction::kEgress;
    e.time_unix_us = nowUnixMicros();
    e.request_id = newRequestId();
    e.caller_id = runtime->tls ? runtime->tls->own_id.str() : std::string();
    e.source_address = source;
    e.connection_id = connection_id;

    auto finish = [&](bool allowed, policy::Layer layer, std::string_view reason, int status) {
      e.allowed = allowed;
      e.layer = std::string(policy::toString(layer));
      e.reason = std::string(reason);
      e.status = status;
      e.duration_us = microsSince(t0);
      shared.metrics->recordDecision(false, policy::toString(layer), reason, allowed);
      shared.metrics->observeRequestDuration(static_cast<double>(e.duration_us) / 1e6);
      shared.audit->submit(std::move(e));
    };
    auto reject = [&](policy::Layer layer, std::string_view reason, http::status status,
                      std::string_view message, bool keep) -> asio::awaitable<bool> {
      auto ec = co_await writeError(stream, 11, status, reason, policy::toString(layer),
                                    e.request_id, message, keep,
                                    milliseconds(cfg.timeouts.body_idle_ms));
      finish(false, layer, reason, static_cast<int>(status));
      co_return !ec && keep;
    };

    if (head == HeadStatus::kTimeout) {
      // The deadline closed the socket: nothing can be answered (see ingress_session.cc).
      e.detail = "request head not completed within header_read_ms";
      finish(false, policy::Layer::kProxy, policy::reason::kRequestTimeout, 0);
      break;
    }
    if (head != HeadStatus::kOk) {
      e.detail = why;
      const auto status = head == HeadStatus::kTimeout    ? http::status::request_timeout
                          : head == HeadStatus::kTooLarge ? http::status::request_header_fields_too_large
                                                          : http::status::bad_request;
      const auto reason = head == HeadStatus::kTimeout    ? policy::reason::kRequestTimeout
                          : head == HeadStatus::kTooLarge ? policy::reason::kHeadersTooLarge
                                                          : policy::reason::kBadRequest;
      co_await reject(policy::Layer::kProxy, reason, status, why, false);
      break;
    }
    auto& req = parser.get();
    e.method = std::string(req.method_string());
    e.path = std::string(req.target());
    e.trace_id = traceIdFrom(req["traceparent"]);
    if (!runtime->tls) {
      if (!co_await reject(policy::Layer::kTransport, policy::reason::kIdentityUnavailable,
                           http::status::service_unavailable,
                           "this sidecar has no SVID yet (Workload API)",
                           req.keep_alive() && parser.is_done())) {
        break;
      }
      continue;
    }
    if (auto bad = checkRequestFraming(req); !bad.empty()) {
      co_await reject(policy::Layer::kProxy, policy::reason::kBadRequest,
                      http::status::bad_request, bad, false);
      break;
    }
    const int route_index = selectRoute(egress, hostWithoutPort(req[http::field::host]),
                                        req.target());
    if (route_index < 0) {
      if (!co_await reject(policy::Layer::kProxy, policy::reason::kNoRoute,
                           http::status::not_found, {}, req.keep_alive() && parser.is_done())) {
        break;
      }
      continue;
    }
    const EgressRoute& route = egress.routes[static_cast<std::size_t>(route_index)];
    e.target_id = route.spiffe_id;

    // The app cannot speak for this workload: anything identity-like it sent is dropped
    // (the target's ingress strips these too; defence in depth).
    removeHopByHopFields(req);
    stripIdentityHeaders(req);
    req.set(kRequestIdHeader, e.request_id);

    // The credentials this exchange's connection presents: the SVID in force, or those a
    // certificate-bound token was requested with (until its successor arrives).
    const TlsContexts* client_identity = runtime->tls.get();
    std::shared_ptr<const TlsContexts> bound_identity;  // keeps client_identity alive
    if (route.token) {
      // Layer 3 credentials are the sidecar's: whatever Authorization the app sent is
      // dropped (it cannot smuggle a credential past the route's), and the held token for
      // this target's audience is attached. One atomic load; the header value is prebuilt.
      req.erase(http::field::authorization);
      const auto held = shared.egress_tokens->current(static_cast<std::size_t>(route_index));
      if (!held || !held->usableAt(Clock::now())) {
        e.detail = held ? "the held access token expired and no new one was obtained"
                        : "no access token obtained yet";
        const std::string last_error =
            shared.egress_tokens->lastError(static_cast<std::size_t>(route_index));
        if (!last_error.empty()) e.detail += "; last error: " + last_error;
        const std::string message = std::string(defaultMessage(policy::reason::kTokenUnavailable)) +
                                    " (" + e.detail + "; see /readyz)";
        if (!co_await reject(policy::Layer::kToken, policy::reason::kTokenUnavailable,
                             http::status::service_unavailable, message,
                             parser.keep_alive() && parser.is_done())) {
          break;
        }
        continue;
      }
      req.set(http::field::authorization, held->authorization);
      e.token_present = true;
      if (held->bound_identity) {
        bound_identity = held->bound_identity;
        client_identity = bound_identity.get();
      }
    }

    const auto& target_endpoint = shared.route_endpoints[static_cast<std::size_t>(route_index)];
    auto connect = [&]() -> asio::awaitable<Connected<TlsStream>> {
      Connected<TlsStream> c;
      c.status = http::status::bad_gateway;
      TlsStream up(worker.context().get_executor(), *client_identity->client);
      auto& tcp = beast::get_lowest_layer(up);
      tcp.expires_after(milliseconds(cfg.timeouts.upstream_connect_ms));
      auto [cec] = co_await tcp.async_connect(target_endpoint, kTuple);
      if (cec) {
        c.layer = policy::Layer::kProxy;
        c.reason = cec == beast::error::timeout ? policy::reason::kUpstreamTimeout
                                                : policy::reason::kUpstreamUnavailable;
        c.status = cec == beast::error::timeout ? http::status::gateway_timeout
                                                : http::status::service_unavailable;
        c.detail = "connecting to " + route.address.str() + ": " + cec.message();
        co_return c;
      }
      boost::system::error_code ignored;
      tcp.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      if (!route.sni.empty()) {
        // SSL_set_tlsext_host_name is a macro with a C-style cast; call what it expands to.
        SSL_ctrl(up.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(route.sni.c_str()));
      }
      HandshakeState hs;
      hs.bundles = runtime->tls->bundles.get();
      hs.expected_peer = &route.spiffe_id;
      attachHandshakeState(up.native_handle(), &hs);
      tcp.expires_after(milliseconds(cfg.timeouts.handshake_ms));
      auto [hec] = co_await up.async_handshake(asio::ssl::stream_base::client, kTuple);
      attachHandshakeState(up.native_handle(), nullptr);
      const std::string handshake_result = hs.verified && !hec ? "ok"
                                           : hs.failure_reason.empty() ? "handshake_refused"
                                                                       : hs.failure_reason;
      shared.metrics->recordHandshake(false, handshake_result);
      if (hec || !hs.verified) {
        c.layer = policy::Layer::kTransport;
        if (!hs.failure_reason.empty()) {
          // We refused the target: its certificate is not what the route requires.
          c.reason = hs.failure_reason == policy::reason::kUpstreamIdentityMismatch
                         ? policy::reason::kUpstreamIdentityMismatch
                     : hs.failure_reason == policy::reason::kInvalidSvid
                         ? policy::reason::kInvalidSvid
                         : policy::reason::kUntrustedCertificate;
          c.detail = hs.failure_detail;
        } else {
          const auto alert = describeTlsAlert(hec);
          c.reason = policy::reason::kHandshakeRefused;
          c.detail = alert.empty() ? "TLS handshake with target failed: " + hec.message()
                                   : "TLS alert from target: " + alert;
        }
        co_return c;
      }
      c.stream.emplace(std::move(up));
      co_return c;
    };
    ForwardOutcome fwd =
        co_await forwardExchange(stream, buffer, parser, worker.routePool(route_index),
                                 client_identity->generation, connect,
                                 std::span<char>(scratch), exchange_buffers, cfg.timeouts);
    e.bytes_in = fwd.bytes_in;
    e.bytes_out = fwd.bytes_out;
    if (fwd.client_gone) {
      e.detail = "app connection failed mid-exchange";
      finish(true, policy::Layer::kProxy, policy::reason::kAllowed, fwd.status);
      break;
    }
    if (fwd.failed) {
      e.detail = fwd.detail;
      // The app is local and is the one who must fix or report this, so it gets the
      // detail (which target, which alert); remote callers never see such details.
      const std::string message = std::string(defaultMessage(fwd.reason)) + " (" + fwd.detail + ")";
      co_await reject(fwd.layer, fwd.reason, static_cast<http::status>(fwd.status), message, false);
      break;
    }
    e.upstream_status = fwd.status;
    finish(true, policy::Layer::kProxy, policy::reason::kAllowed, fwd.status);
    if (!fwd.keep_client) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace warden::proxy
