// The verification keys of external OIDC issuers, as last fetched from their discovery
// document and JWKS (identity-standards §7.6), and when to fetch again.
//
// A key set is fetched when none is held, when it is older than max_age, or when a token
// names a kid it lacks (a rotation at the issuer); attempts for one issuer are at least
// `cooldown` apart, so a flood of tokens with made-up kids costs one fetch per cooldown
// (jose's remote-JWKS defaults: 30 s cooldown, 10 min max age). A failed fetch keeps the
// last good keys and records the error, which then explains refused tokens.
// Thread-safety: internally locked; every member may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tokenservice/token_validation.h"

namespace warden::tokenservice {

struct ExternalKeyTiming {
  std::chrono::milliseconds max_age{std::chrono::minutes(10)};
  std::chrono::milliseconds cooldown{std::chrono::seconds(30)};
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(5)};
};

class ExternalKeyCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ExternalKeyCache(ExternalKeyTiming timing = {}) : timing_(timing) {}

  struct Snapshot {
    std::shared_ptr<const ExternalKeySet> keys;  // null until a fetch succeeded
    std::string last_error;                      // empty after a success
  };
  Snapshot get(std::string_view issuer) const;
  // True when a fetch for `issuer` should start now (see above); marks the attempt.
  bool claimFetch(std::string_view issuer, std::string_view kid, Clock::time_point now);
  void storeKeys(ExternalKeySet keys, Clock::time_point now);
  void storeFailure(std::string_view issuer, std::string error);

  const ExternalKeyTiming& timing() const { return timing_; }

 private:
  struct Entry {
    Snapshot snapshot;
    Clock::time_point fetched_at{};
    std::optional<Clock::time_point> attempted_at;
  };
  ExternalKeyTiming timing_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace warden::tokenservice
