#include "controlplane/ssf_service.h"

#include <spdlog/spdlog.h>

#include "jose/jws.h"
#include "token/token_config.h"

namespace warden::controlplane {
namespace {

constexpr auto kClockSkew = std::chrono::seconds(60);
constexpr auto kKeysWait = std::chrono::seconds(5);   // all transmitters together, at start
constexpr std::int64_t kRevocationPruneEvery = 3600;  // seconds

// What the transmitter's operator reads in a log: printable, bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

struct SsfEndpoint::Counters {
  std::atomic<std::uint64_t> accepted{0}, duplicates{0}, ignored{0}, rejected{0}, applied{0},
      unmatched{0}, failed{0};
};

SsfEndpoint::~SsfEndpoint() = default;

Result<std::shared_ptr<SsfEndpoint>> SsfEndpoint::create(const SsfConfig& config, Store& store) {
  if (config.transmitters.empty()) return Error{"control_plane.ssf.transmitters: none configured"};
  std::shared_ptr<SsfEndpoint> endpoint(new SsfEndpoint());
  endpoint->config_ = config;
  endpoint->store_ = &store;
  endpoint->counters_ = std::make_unique<Counters>();
  for (std::size_t i = 0; i < config.transmitters.size(); ++i) {
    const auto& t = config.transmitters[i];
    const std::string field = "control_plane.ssf.transmitters[" + std::to_string(i) + "]";
    // The token module's key source: the same fetch, TLS, cache and refresh rules as
    // layer 3 (a jwks_file is re-read every 5 minutes).
    token::TokenIssuerConfig keys;
    keys.issuer = t.issuer;
    keys.jwks_url = t.jwks_url;
    keys.jwks_file = t.jwks_file;
    keys.ca_file = t.ca_file;
    keys.algorithms = t.algorithms;
    if (auto st = token::validateIssuerConfig(keys, field); !st) return Error{st.message()};
    auto source = token::JwksSource::start(keys);
    if (!source) return Error{field + ": " + source.error().message};
    endpoint->sources_.push_back(std::move(*source));
  }
  const auto deadline = std::chrono::steady_clock::now() + kKeysWait;
  for (std::size_t i = 0; i < endpoint->sources_.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!endpoint->sources_[i]->waitReady(std::max(left, std::chrono::milliseconds(0)))) {
      // Not fatal: SETs get 400 invalid_key until the keys arrive, and transmitters retry.
      spdlog::warn("ssf: no keys yet for transmitter {}: {}", config.transmitters[i].issuer,
                   endpoint->sources_[i]->status().last_error);
    }
  }
  const auto window = config.max_age + kClockSkew;
  endpoint->ledger_ = std::make_shared<StoreJtiLedger>(store, window);
  return endpoint;
}

Status SsfEndpoint::open(const std::string& base_url) {
  const std::string audience = config_.audience.empty() ? base_url : config_.audience;
  if (audience.empty()) return Error{"control_plane.ssf.audience: no audience and no base URL"};
  std::vector<ssf::Transmitter> transmitters;
  ssf::ReceiverOptions options;
  for (std::size_t i = 0; i < config_.transmitters.size(); ++i) {
    const auto& t = config_.transmitters[i];
    ssf::Transmitter tx;
    tx.issuer = t.issuer;
    tx.keys = sources_[i];
    for (const auto& name : t.algorithms) {
      if (auto alg = jose::algFromName(name)) tx.algorithms.push_back(*alg);
    }
    tx.audiences = {audience};
    transmitters.push_back(std::move(tx));
    if (!t.push_authorization.empty()) options.push_authorization[t.issuer] = t.push_authorization;
  }
  auto verifier = ssf::SetVerifier::create(std::move(transmitters),
                                           ssf::SetVerifierOptions{config_.max_age, kClockSkew});
  if (!verifier) return Error{"control_plane.ssf: " + verifier.error().message};
  auto receiver = ssf::SsfReceiver::create(std::shared_ptr<const ssf::SetVerifier>(std::move(*verifier)),
                                           ledger_, std::move(options));
  if (!receiver) return Error{"control_plane.ssf: " + receiver.error().message};
  audience_.store(std::make_shared<const std::string>(audience));
  receiver_.store(std::shared_ptr<const ssf::SsfReceiver>(std::move(*receiver)));
  spdlog::info("ssf: push receiver at {}/api/v1/ssf/events, audience {}, {} transmitters",
               base_url, audience, config_.transmitters.size());
  return {};
}

SsfEndpoint::PushHook SsfEndpoint::pushHook(std::shared_ptr<SsfEndpoint> endpoint) {
  return [endpoint = std::move(endpoint)](const std::string& content_type,
                                          const std::optional<std::string>& authorization,
                                          const std::string& body) {
    std::optional<std::string_view> auth;
    if (authorization) auth = *authorization;
    return endpoint->push(content_type, auth, body);
  };
}

std::string SsfEndpoint::audience() const {
  auto a = audience_.load();
  return a ? *a : std::string();
}

SsfStats SsfEndpoint::stats() const {
  const auto& c = *counters_;
  return SsfStats{c.accepted.load(), c.duplicates.load(), c.ignored.load(), c.rejected.load(),
                  c.applied.load(),  c.unmatched.load(),  c.failed.load()};
}

void SsfEndpoint::noteRejected(const ssf::ReceiveOutcome& out, std::int64_t now_unix) {
  counters_->rejected.fetch_add(1, std::memory_order_relaxed);
  std::int64_t due = next_reject_log_.load(std::memory_order_relaxed);
  if (now_unix < due || !next_reject_log_.compare_exchange_strong(due, now_unix + 1)) return;
  // (Other refusals within the same second are counted, not logged: the route is open.)
  spdlog::warn("ssf: SET refused with 400 {}: {}", out.error ? ssf::setErrorName(out.error->err) : "?",
               out.error ? printable(out.error->description) : "");
}

std::pair<int, std::string> SsfEndpoint::push(std::string_view content_type,
                                              std::optional<std::string_view> authorization,
                                              std::string_view body,
                                              std::chrono::system_clock::time_point now) {
  const auto receiver = receiver_.load();
  if (!receiver) {
    return {503, R"({"error":"starting","description":"the Shared Signals receiver is starting"})"};
  }
  const std::int64_t now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                    now.time_since_epoch()).count();
  std::int64_t due = next_revocation_prune_.load(std::memory_order_relaxed);
  if (now_unix >= due &&
      next_revocation_prune_.compare_exchange_strong(due, now_unix + kRevocationPruneEvery)) {
    if (auto pruned = store_->pruneRevocations(now_unix); !pruned) {
      spdlog::warn("ssf: expired revocations not pruned: {}", pruned.error().message);
    }
  }

  ssf::ReceiveOutcome out = receiver->receive({content_type, authorization, body}, now);
  auto& c = *counters_;
  switch (out.disposition) {
    case ssf::Disposition::kRejected:
      noteRejected(out, now_unix);
      return {out.http_status, std::move(out.body)};
    case ssf::Disposition::kDuplicate:
      c.duplicates.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("ssf: {} jti {}: duplicate, nothing applied", printable(out.issuer),
                   printable(out.jti));
      return {out.http_status, std::move(out.body)};
    case ssf::Disposition::kIgnored:
      c.ignored.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("ssf: {} jti {}: event type {} ignored", printable(out.issuer),
                   printable(out.jti), out.event ? printable(out.event->event_type) : "?");
      return {out.http_status, std::move(out.body)};
    case ssf::Disposition::kAccepted:
      break;
  }
  c.accepted.fetch_add(1, std::memory_order_relaxed);
  const ssf::SecurityEvent& event = *out.event;
  const ApplyResult applied =
      applySecurityEvent(*store_, event, now_unix, ApplyOptions{config_.revocation_ttl.count()});
  const auto kind = ssf::eventKindName(event.kind);
  switch (applied.outcome) {
    case ApplyOutcome::kApplied:
    case ApplyOutcome::kUnchanged:
      c.applied.fetch_add(applied.outcome == ApplyOutcome::kApplied ? 1 : 0, std::memory_order_relaxed);
      spdlog::info("ssf: {} jti {}: {} -> agent {}: {} ({})", printable(event.issuer),
                   printable(event.jti), kind, applied.agent, applied.detail,
                   applyOutcomeName(applied.outcome));
      break;
    case ApplyOutcome::kUnmatched:
      c.unmatched.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("ssf: {} jti {}: {} not applied, subject unmatched: {}", printable(event.issuer),
                   printable(event.jti), kind, printable(applied.detail));
      break;
    case ApplyOutcome::kNotApplied:
    case ApplyOutcome::kStale:
      spdlog::info("ssf: {} jti {}: {} not applied ({}): {}", printable(event.issuer),
                   printable(event.jti), kind, applyOutcomeName(applied.outcome),
                   printable(applied.detail));
      break;
    case ApplyOutcome::kFailed:
      c.failed.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("ssf: {} jti {}: {} could not be applied, asking for a retry: {}",
                    printable(event.issuer), printable(event.jti), kind, applied.detail);
      ledger_->forget(event.issuer, event.jti);
      return {503, R"({"error":"unavailable","description":"the SET verified but could not be applied; retry it"})"};
  }
  return {out.http_status, std::move(out.body)};
}

}  // namespace warden::controlplane
