// JwksSource: one issuer's verification keys, kept current in the background.
//
// Where the keys come from is the issuer's configuration, never a token: an OIDC discovery
// document (whose `issuer` must equal the configured issuer exactly, else the document is
// refused: a mix-up guard, OIDC Discovery §4.3) and then its `jwks_uri`; or a JWKS URL; or
// a file. Tokens' `jku`/`x5u` are never followed (see access_token.h).
//
// Schedule (identity-standards §7.6; the JWKS complaints of mesh-anchors §8.1):
//
//   start ──> fetch ──ok──> wait clamp(max-age, min, max) or default ──┐
//               ^  └─fail─> wait retry (doubling, jittered, capped) ───┤
//               └──── timer fires, or requestRefresh() accepted ───────┘
//
// A failed fetch, or one that yields an unusable document, keeps the last good keys (there
// is never a placeholder set that rejects everything); a fetch that yields the same keys
// keeps the current set and its generation (so cached verifications stay valid). Before
// the first success current() is nullptr and verification answers 503 jwks_unavailable;
// retries continue and the first success fixes that without a restart.
// requestRefresh() (an unknown kid, no keys yet) triggers a fetch at most once per
// min_refetch_interval, whatever the request rate: an attacker inventing kids costs the
// IdP one request per interval.
// Responses: 200 only (redirects are not followed), bounded size, one deadline for
// connect, TLS handshake (RFC 6125 name check against the system roots or ca_file), request
// and response.
//
// Thread-safety: fetching runs on the source's own thread. current(), generation(),
// ready() and requestRefresh() are lock-free and may be called from any thread on the
// request path (current() is an atomic shared_ptr load: libstdc++ guards it with a spin bit
// held for one reference-count increment, never a mutex or a syscall). status() and
// waitReady() take a mutex and are for admin/metrics and startup.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "token/key_set.h"
#include "token/token_config.h"

namespace warden::token {

// Per-issuer counters and state for /metrics and the admin API.
struct JwksStatus {
  std::string issuer;
  std::string source;  // the JWKS URL in use (from discovery once known) or the file
  bool ready = false;  // a key set is held
  std::size_t key_count = 0;
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
  std::uint64_t key_set_changes = 0;
  std::uint64_t refetches_requested = 0;   // requestRefresh() calls that caused a fetch
  std::uint64_t refetches_suppressed = 0;  // requestRefresh() calls within the interval
  std::string last_error;                  // empty after a success
  std::chrono::system_clock::time_point last_attempt{};
  std::chrono::system_clock::time_point last_success{};
  std::chrono::milliseconds next_fetch_in{0};  // as scheduled after the last attempt
};

// At most one acquisition per interval, lock-free; the first one is always granted.
// Thread-safety: tryAcquire may race from any number of threads; exactly one wins.
class RefetchLimiter {
 public:
  explicit RefetchLimiter(std::chrono::steady_clock::duration interval) : interval_(interval) {}
  bool tryAcquire(std::chrono::steady_clock::time_point now);

 private:
  std::chrono::steady_clock::duration interval_;
  std::atomic<std::int64_t> next_allowed_{std::numeric_limits<std::int64_t>::min()};
};

// Cache-Control (RFC 9111 §5.2.2): `max-age=N`; `no-store`/`no-cache` count as 0 (refresh
// as soon as the lower bound allows). nullopt when none of those is present or N is not a
// number. Several max-age values: the smallest.
std::optional<std::chrono::seconds> cacheControlMaxAge(std::string_view header);
// When to refresh after a good fetch.
std::chrono::milliseconds refreshAfter(const JwksTiming& timing,
                                       std::optional<std::chrono::seconds> max_age);

class JwksSource final : public KeySetProvider {
 public:
  // Validates `config` (validateIssuerConfig), prepares TLS (ca_file is loaded here) and
  // starts fetching at once; does not wait for the first result (see waitReady()).
  static Result<std::shared_ptr<JwksSource>> start(const TokenIssuerConfig& config);
  ~JwksSource() override;  // stops and joins; a fetch in flight is abandoned
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  std::shared_ptr<const KeySet> current() const override;
  std::uint64_t generation() const override;
  void requestRefresh() override;

  bool ready() const { return generation() != 0; }
  // Blocks until a key set is held or `timeout` passes (startup: prefetch before the
  // listener reports ready). True when ready.
  bool waitReady(std::chrono::milliseconds timeout) const;
  JwksStatus status() const;

  struct Impl;

 private:
  explicit JwksSource(const TokenIssuerConfig& config);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::token
