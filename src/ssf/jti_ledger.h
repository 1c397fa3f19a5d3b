// De-duplication of SETs by (iss, jti) (RFC 8417 §2.2: jti is unique per issuer;
// identity-standards §9.3: receivers de-duplicate on jti before acting).
//
// SsfReceiver records a SET only after it verified: a forged SET must never occupy a jti
// and so suppress the genuine one. An entry needs to live only as long as the verifier
// would still accept a SET with that jti: SetVerifier::acceptanceWindow() (max age plus
// clock skew). After that, a replay is refused as too old anyway.
// The control plane provides a persistent (SQLite) ledger so that a restart does not
// re-apply recent events; InMemoryJtiLedger is for tests and single-process use.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace warden::ssf {

// Thread-safety: implementations must allow concurrent calls from any thread.
class JtiLedger {
 public:
  virtual ~JtiLedger() = default;
  // Records (issuer, jti) seen at `now_unix`. False when it was already recorded and has
  // not expired: a replay, or a transmitter's retry of a SET already accepted.
  virtual bool remember(std::string_view issuer, std::string_view jti, std::int64_t now_unix) = 0;
};

// Bounded, in memory. An entry expires `retention` after it was recorded. When full, the
// oldest entry is dropped early (and counted): a replay of that SET inside its window would
// then be accepted again, which is why capacity should cover the peak rate times the
// retention; refusing new SETs instead would silently drop genuine events.
// Thread-safety: all members are safe to call concurrently (one mutex).
class InMemoryJtiLedger final : public JtiLedger {
 public:
  InMemoryJtiLedger(std::chrono::seconds retention, std::size_t capacity);

  bool remember(std::string_view issuer, std::string_view jti, std::int64_t now_unix) override;

  std::size_t size() const;
  // Entries dropped before their expiry because the ledger was full.
  std::uint64_t evictedEarly() const;

 private:
  void expire(std::int64_t now_unix);  // mutex_ held

  struct Entry {
    std::int64_t expires_at;
    std::string key;
  };

  const std::int64_t retention_s_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  // Recorded in arrival order; with one retention for all, that is expiry order too (a
  // clock stepping back only delays some expiries).
  std::deque<Entry> order_;
  std::unordered_set<std::string> keys_;
  std::uint64_t evicted_early_ = 0;
};

}  // namespace warden::ssf
