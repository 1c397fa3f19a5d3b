// The Shared Signals push endpoint of `warden server` (POST /api/v1/ssf/events, RFC 8935):
// ssf::SsfReceiver (verification, RFC 8935 answers, de-duplication) over the store's jti
// ledger, then applySecurityEvent() (ssf_apply.h) for accepted events.
//
// Built in two steps because the default audience is the API's base URL, known only once
// the API listens: create() reads the configuration and starts the transmitters' key
// sources, waiting up to 5 s in all for their first keys (a source still without keys is
// logged and keeps retrying; its SETs get invalid_key meanwhile); open(base_url) builds
// the verifier and receiver. push() before open() answers 503.
//
// Answers: the receiver's 202 / 400 (RFC 8935 §2.4 body). A SET that verified but could
// not be applied because the store failed gets 503, and its jti is forgotten so that the
// transmitter's retry is applied rather than taken for a duplicate.
// Logs: every accepted, ignored or duplicate SET at info (issuer, jti, event, agent,
// outcome); rejected ones at warn, at most one line per second (the endpoint is open).
// Thread-safety: push() may be called from any thread; open() once, from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "controlplane/api_config.h"
#include "controlplane/ssf_apply.h"
#include "controlplane/ssf_ledger.h"
#include "controlplane/store.h"
#include "ssf/receiver.h"
#include "token/jwks_source.h"

namespace warden::controlplane {

struct SsfStats {
  std::uint64_t accepted = 0;   // verified, new, an event type Warden reads
  std::uint64_t duplicates = 0;
  std::uint64_t ignored = 0;    // verified, an event type Warden does not read
  std::uint64_t rejected = 0;   // 400
  std::uint64_t applied = 0;    // accepted and the registry changed
  std::uint64_t unmatched = 0;  // accepted, but the subject is no registered agent
  std::uint64_t failed = 0;     // accepted, the store failed (503)
};

class SsfEndpoint {
 public:
  static Result<std::shared_ptr<SsfEndpoint>> create(const SsfConfig& config, Store& store);
  ~SsfEndpoint();
  SsfEndpoint(const SsfEndpoint&) = delete;
  SsfEndpoint& operator=(const SsfEndpoint&) = delete;

  // `base_url`: the API's (https://host:port), the audience when none is configured.
  Status open(const std::string& base_url);

  // One push: status and body (empty for 202, JSON otherwise).
  std::pair<int, std::string> push(std::string_view content_type,
                                   std::optional<std::string_view> authorization,
                                   std::string_view body,
                                   std::chrono::system_clock::time_point now =
                                       std::chrono::system_clock::now());

  // For ApiServerHooks::ssf_push: forwards to endpoint->push().
  using PushHook = std::function<std::pair<int, std::string>(
      const std::string& content_type, const std::optional<std::string>& authorization,
      const std::string& body)>;
  static PushHook pushHook(std::shared_ptr<SsfEndpoint> endpoint);

  // The audience SETs must carry (empty before open()).
  std::string audience() const;
  SsfStats stats() const;

 private:
  SsfEndpoint() = default;
  void noteRejected(const ssf::ReceiveOutcome& out, std::int64_t now_unix);

  SsfConfig config_;
  Store* store_ = nullptr;
  std::vector<std::shared_ptr<token::JwksSource>> sources_;  // by transmitter, config order
  std::shared_ptr<StoreJtiLedger> ledger_;
  std::atomic<std::shared_ptr<const ssf::SsfReceiver>> receiver_;
  std::atomic<std::shared_ptr<const std::string>> audience_;
  std::atomic<std::int64_t> next_revocation_prune_{0};
  std::atomic<std::int64_t> next_reject_log_{0};
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace warden::controlplane
