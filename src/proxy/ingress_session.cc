// Ingress: one mTLS connection from a caller's sidecar, many requests.
//
//   accept -> TLS handshake (layer 1: SVID verified, peer on the allow-list)
//     -> loop: read head (strict framing) -> normalise path -> layer 1 re-check and
//              layer 2 RBAC on the policy in force for *this* request
//           -> deny: JSON error (connection kept only if no body is pending)
//           -> allow: identity headers replaced, forwarded to the app, response relayed
// Every request and every refused handshake produces one audit event.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>

#include "policy/request_path.h"
#include "proxy/forward.h"
#include "proxy/request_identity.h"
#include "proxy/request_token.h"
#include "proxy/session_support.h"
#include "proxy/worker.h"

namespace warden::proxy {
namespace {

using Clock = SessionClock;
using std::chrono::milliseconds;

Connected<TcpSocketStream> failedConnect(std::string detail, bool timeout) {
  Connected<TcpSocketStream> c;
  c.reason = timeout ? policy::reason::kUpstreamTimeout : policy::reason::kUpstreamUnavailable;
  c.status = timeout ? http::status::gateway_timeout : http::status::service_unavailable;
  c.detail = std::move(detail);
  return c;
}

// The caller's governance facts for the audit trail (ARCHITECTURE.md §4).
void describeCaller(const governance::GovernanceSnapshot& gov, std::string_view caller,
                    audit::AuditEvent& e) {
  e.governance_version = gov.version();
  const governance::AgentFacts* facts = gov.find(caller);
  if (facts == nullptr) {
    e.caller_risk = "unknown";
    return;
  }
  e.caller_name = facts->name;
  e.caller_risk = std::string(governance::riskLevelName(facts->risk));
  e.caller_state = std::string(governance::agentStateName(facts->state));
  for (const auto& [key, value] : facts->tags) {
    if (!e.caller_tags.empty()) e.caller_tags.push_back(',');
    e.caller_tags.append(key).append("=").append(value);
  }
}

}  // namespace

asio::awaitable<void> runIngressSession(Worker& worker, asio::ip::tcp::socket socket,
                                        std::uint64_t connection_id) {
  ConnectionScope scope(worker, /*ingress=*/true);
  SharedState& shared = worker.shared();
  const SidecarConfig& cfg = shared.config;
  const std::string source = remoteAddress(socket);
  std::shared_ptr<const Runtime> runtime = worker.runtime();
  if (!runtime->tls) {
    // No SVID yet (Workload API mode): nothing to present, so nothing to accept. Fail
    // closed, and say so in the audit trail rather than silently.
    shared.metrics->recordHandshake(true, policy::reason::kIdentityUnavailable);
    audit::AuditEvent e;
    e.kind = audit::EventKind::kHandshake;
    e.time_unix_us = nowUnixMicros();
    e.layer = std::string(policy::toString(policy::Layer::kTransport));
    e.reason = std::string(policy::reason::kIdentityUnavailable);
    e.policy_version = runtime->policy ? runtime->policy->version() : "";
    e.source_address = source;
    e.connection_id = connection_id;
    e.detail = "this sidecar has no SVID yet";
    shared.audit->submit(std::move(e));
    co_return;
  }

  TlsStream stream(std::move(socket), *runtime->tls->server);
  HandshakeState hs;
  hs.bundles = runtime->tls->bundles.get();
  hs.policy = runtime->policy.get();
  hs.governance = runtime->governance.get();
  attachHandshakeState(stream.native_handle(), &hs);
  const auto hs_start = Clock::now();
  const auto hs_wall = nowUnixMicros();
  beast::get_lowest_layer(stream).expires_after(milliseconds(cfg.timeouts.handshake_ms));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  attachHandshakeState(stream.native_handle(), nullptr);

  if (hec || !hs.verified) {
    std::string reason = hs.failure_reason;
    if (reason.empty()) {
      // Not a policy refusal: a client that went away, spoke something else, or sent no
      // certificate. Still audited: a transport-layer denial without an identity.
      reason = std::string(hec == beast::error::timeout ? policy::reason::kHandshakeTimeout
                                                        : policy::reason::kHandshakeFailed);
    }
    shared.metrics->recordHandshake(true, reason);
    shared.metrics->recordDecision(true, policy::toString(policy::Layer::kTransport), reason,
                                   false);
    audit::AuditEvent e;
    e.kind = audit::EventKind::kHandshake;
    e.time_unix_us = hs_wall;
    e.layer = std::string(policy::toString(policy::Layer::kTransport));
    e.reason = std::move(reason);
    e.caller_id = hs.peer_id;
    e.target_id = runtime->tls->own_id.str();
    e.policy_version = runtime->policy->version();
    e.source_address = source;
    e.connection_id = connection_id;
    e.decision_latency_us = static_cast<std::uint32_t>(microsSince(hs_start));
    e.detail = hs.failure_detail.empty() ? hec.message() : hs.failure_detail;
    shared.audit->submit(std::move(e));
    co_return;
  }
  shared.metrics->recordHandshake(true, "ok");
  const identity::VerifiedPeer peer = *hs.peer;
  const std::string own_id = runtime->tls->own_id.str();
  // The identity header lines are the same for every request on this connection.
  std::string identity_fields;
  appendHeaderLine(identity_fields, kSpiffeIdHeader, peer.id.str());
  appendHeaderLine(identity_fields, kClientCertHeader,
                   clientCertHeader(own_id, peer.cert_sha256, peer.id.str()));
  token::TokenMemo token_memo;  // the caller's last verified token on this connection
  TcpSocketStream* live_upstream = nullptr;
  LiveIngress live{&peer.id, [&live_upstream, &shared] {
                     if (live_upstream == nullptr) return;
                     boost::system::error_code ignored;
                     live_upstream->socket().close(ignored);
                     shared.metrics->connectionRevoked();
                   }};
  worker.addLive(&live);
  struct Unregister {
    Worker& w;
    LiveIngress* l;
    ~Unregister() { w.removeLive(l); }
  } unregister{worker, &live};

  beast::flat_buffer buffer;
  buffer.reserve(kRelayBufferBytes);
  std::array<char, 16 * 1024> scratch;
  ExchangeBuffers exchange_buffers;
  bool first = true;
  while (!shared.draining.load(std::memory_order_relaxed)) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(cfg.limits.max_header_bytes);
    if (cfg.limits.max_body_bytes > 0) {
      parser.body_limit(cfg.limits.max_body_bytes);
    } else {
      parser.body_limit(boost::none);
    }
    const HeadLimits limits = downstreamHeadLimits(
        cfg.limits.max_header_bytes, cfg.timeouts.header_read_ms, cfg.timeouts.idle_ms, first);
    first = false;
    std::string why;
    const HeadStatus head = co_await readHead(stream, buffer, parser, limits, why);
    if (connectionEnded(head)) break;

    // From here on there is a request (or the remains of one) to answer and audit.
    const auto t0 = Clock::now();
    runtime = worker.runtime();  // the policy in force when this request arrived
    const policy::PolicySnapshot& snapshot = *runtime->policy;
    audit::AuditEvent e;
    e.time_unix_us = nowUnixMicros();
    e.request_id = newRequestId();
    e.caller_id = peer.id.str();
    e.target_id = own_id;
    e.policy_version = snapshot.version();
    e.source_address = source;
    e.connection_id = connection_id;

    auto finish = [&](const policy::Decision& d, int status) {
      e.allowed = d.allowed;
      e.layer = std::string(policy::toString(d.layer));
      e.reason = std::string(d.reason);
      e.rule_id = std::string(d.rule_id);
      e.status = status;
      e.duration_us = microsSince(t0);
      shared.metrics->recordDecision(true, policy::toString(d.layer), d.reason, d.allowed);
      shared.metrics->observeRequestDuration(static_cast<double>(e.duration_us) / 1e6);
      shared.audit->submit(std::move(e));
    };
    // Protocol-level rejections: answer and close, the stream position is unknown.
    auto reject = [&](policy::Layer layer, std::string_view reason, http::status status,
                      std::string_view message) -> asio::awaitable<void> {
      co_await writeError(stream, 11, status, reason, policy::toString(layer), e.request_id,
                          message, false, milliseconds(cfg.timeouts.body_idle_ms));
      finish(policy::Decision::deny(layer, reason, static_cast<std::uint16_t>(status)),
             static_cast<int>(status));
    };

    if (head != HeadStatus::kOk) {
      e.method = "";
      e.path = "";
      e.detail = why;
      if (head == HeadStatus::kTimeout) {
        // The stream's deadline closed the socket (Beast's timeout semantics), so no 408
        // can be sent: like nginx, the connection just ends; the audit keeps the reason.
        e.detail = "request head not completed within header_read_ms";
        finish(policy::Decision::deny(policy::Layer::kProxy, policy::reason::kRequestTimeout, 408),
               0);
      } else if (head == HeadStatus::kTooLarge) {
        co_await reject(policy::Layer::kProxy, policy::reason::kHeadersTooLarge,
                        http::status::request_header_fields_too_large, {});
      } else if (head == HeadStatus::kBodyTooLarge) {
        co_await reject(policy::Layer::kProxy, policy::reason::kPayloadTooLarge,
                        http::status::payload_too_large, {});
      } else {
        co_await reject(policy::Layer::kProxy, policy::reason::kBadRequest,
                        http::status::bad_request, why);
      }
      break;
    }

    auto& req = parser.get();
    e.method = std::string(req.method_string());
    e.trace_id = traceIdFrom(req["traceparent"]);
    if (auto bad = checkRequestFraming(req); !bad.empty()) {
      e.path = std::string(req.target());
      e.detail = std::string(bad);
      co_await reject(policy::Layer::kProxy, policy::reason::kBadRequest,
                      http::status::bad_request, bad);
      break;
    }
    auto target = policy::normalizeRequestTarget(req.target());
    if (!target) {
      e.path = std::string(req.target());
      co_await reject(policy::Layer::kProxy, policy::reason::kInvalidPath,
                      http::status::bad_request, target.error().message);
      break;
    }
    e.path = target->path;

    // Canonical order (ARCHITECTURE.md §2): layer 1 again (the allow-list may have
    // changed since this connection was opened), then 4a/4b, then 2; layer 3 below.
    policy::Decision decision;
    if (!snapshot.allowsPeer(peer.id)) {
      decision = policy::Decision::deny(policy::Layer::kTransport, policy::reason::kPeerNotAllowed,
                                        403);
    } else if (runtime->governance &&
               !(decision = runtime->governance->evaluate(peer.id.str(), governanceAge(shared)))
                    .allowed) {
      // denied by layer 4a or 4b
    } else {
      decision = snapshot.evaluate(peer.id, policy::parseMethod(req.method_string()), target->path);
    }
    if (runtime->governance) describeCaller(*runtime->governance, peer.id.str(), e);
    e.decision_latency_us = static_cast<std::uint32_t>(microsSince(t0));
    shared.metrics->observeDecisionLatency(e.decision_latency_us);

    if (!decision.allowed) {
      // Keep the connection only if nothing of this request is left unread and the peer
      // is still allowed to hold it: not once it left the allow-list, and not once it is
      // quarantined (isolated from the network; its next handshake is refused too).
      const bool keep = req.keep_alive() && parser.is_done() &&
                        decision.layer != policy::Layer::kTransport &&
                        decision.reason != governance::reason::kAgentQuarantined;
      const auto status = static_cast<http::status>(decision.status);
      auto ec = co_await writeError(stream, req.version(), status, decision.reason,
                                    policy::toString(decision.layer), e.request_id, {}, keep,
                                    milliseconds(cfg.timeouts.body_idle_ms));
      finish(decision, decision.status);
      if (ec || !keep) break;
      continue;
    }

    // Layer 3 (request_token.h): the caller's access token, verified (or taken from the
    // cache), bound to this connection, not revoked, with the rule's roles and claims.
    std::shared_ptr<const token::VerifiedToken> verified_token;
    if (runtime->token_verifier) {
      const token::CallerBinding binding{
          peer.id.str(), std::string_view(reinterpret_cast<const char*>(peer.cert_sha256.data()),
                                          peer.cert_sha256.size())};
      RequestTokenCheck checked = checkRequestToken(
          *runtime->token_verifier, runtime->revocations.get(), decision,
          req[http::field::authorization], binding, std::chrono::system_clock::now(), &token_memo);
      token::TokenVerdict& verdict = checked.verdict;
      e.token_present = checked.present;
      e.token = verdict.token;  // shared, not copied
      if (!verdict.ok) {
        e.detail = verdict.detail;
        const bool keep = req.keep_alive() && parser.is_done();
        const auto status = static_cast<std::uint16_t>(verdict.http_status);
        const auto denial = policy::Decision::deny(policy::Layer::kToken, verdict.reason, status,
                                                   decision.rule_id);
        auto ec = co_await writeError(stream, req.version(), static_cast<http::status>(status),
                                      verdict.reason, policy::toString(policy::Layer::kToken),
                                      e.request_id, {}, keep,
                                      milliseconds(cfg.timeouts.body_idle_ms),
                                      verdict.www_authenticate);
        finish(denial, status);
        if (ec || !keep) break;
        continue;
      }
      verified_token = verdict.token;
    }

    removeHopByHopFields(req);
    stripIdentityHeaders(req);
    std::string& added = exchange_buffers.request_fields;
    added.assign(identity_fields);
    appendHeaderLine(added, kRequestIdHeader, e.request_id);
    if (verified_token) {
      // The app gets the verified facts, never the credential (it cannot replay it).
      req.erase(http::field::authorization);
      appendHeaderLines(added, *verified_token);
    }
    req.target(target->target());

    auto connect = [&]() -> asio::awaitable<Connected<TcpSocketStream>> {
      TcpSocketStream up(worker.context().get_executor());
      up.expires_after(milliseconds(cfg.timeouts.upstream_connect_ms));
      auto [ec] = co_await up.async_connect(shared.app_endpoint, kTuple);
      if (ec) {
        co_return failedConnect("connecting to app at " + cfg.ingress->upstream.str() + ": " +
                                    ec.message(),
                                ec == beast::error::timeout);
      }
      up.socket().set_option(asio::ip::tcp::no_delay(true), ec);
      Connected<TcpSocketStream> c;
      c.stream.emplace(std::move(up));
      co_return c;
    };
    ForwardOutcome fwd = co_await forwardExchange(
        stream, buffer, parser, worker.appPool(), 0, connect, std::span<char>(scratch),
        exchange_buffers, cfg.timeouts, &live_upstream);
    e.bytes_in = fwd.bytes_in;
    e.bytes_out = fwd.bytes_out;
    if (fwd.client_gone) {
      e.detail = "client connection failed mid-exchange";
      finish(decision, fwd.status);
      break;
    }
    if (fwd.failed) {
      e.detail = fwd.detail;
      const auto status = static_cast<http::status>(fwd.status);
      co_await writeError(stream, 11, status, fwd.reason, policy::toString(fwd.layer),
                          e.request_id, {}, false, milliseconds(cfg.timeouts.body_idle_ms));
      finish(policy::Decision::deny(fwd.layer, fwd.reason, static_cast<std::uint16_t>(fwd.status)),
             fwd.status);
      break;
    }
    e.upstream_status = fwd.status;
    finish(decision, fwd.status);
    if (!fwd.keep_client) break;
  }
  // Best effort close_notify; the peer may already be gone.
  beast::get_lowest_layer(stream).expires_after(milliseconds(500));
  co_await stream.async_shutdown(kTuple);
}

}  // namespace warden::proxy
