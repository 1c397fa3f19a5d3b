// Password guessing protection for both sign-ins (POST /api/v1/login and the portal's
// /oauth2/authorize form): after `free_failures` consecutive failures for a user name, or
// from one source address, each further attempt must wait an exponentially growing delay
// (capped). While a key waits, attempts are refused with 429 and Retry-After before the
// password is even hashed, so a guesser learns nothing and costs no scrypt work. An address
// gets `source_factor` times the free failures of a user name: many people share a NAT, and
// a spray over many names from one address is what this key exists for. Unknown
// user names are throttled like real ones (no enumeration). A success clears the user
// name's record, not the address's: one good password does not reset a spraying source.
// Thread-safety: all members may be called from any thread (one mutex; sign-in is not a
// hot path and the map is bounded).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace warden::controlplane {

struct LoginThrottleOptions {
  unsigned free_failures = 5;                        // failures before any delay
  unsigned source_factor = 4;                        // an address may fail 4x as often
  std::chrono::seconds base_delay{1};                // the first delay; doubles per failure
  std::chrono::seconds max_delay{std::chrono::minutes(15)};
  std::chrono::seconds forget_after{std::chrono::hours(1)};  // a quiet key starts over
  std::size_t max_keys = 10000;                      // bounded memory under a spray
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(LoginThrottleOptions options = {});

  // How long the caller must still wait before this attempt may be checked; nullopt: go.
  std::optional<std::chrono::seconds> waitFor(std::string_view user, std::string_view source,
                                              Clock::time_point now);
  void recordFailure(std::string_view user, std::string_view source, Clock::time_point now);
  void recordSuccess(std::string_view user, Clock::time_point now);

  const LoginThrottleOptions& options() const { return options_; }

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point last_failure{};
    Clock::time_point blocked_until{};
  };
  std::chrono::seconds delayAfter(unsigned failures, unsigned free) const;
  void fail(const std::string& key, unsigned free, Clock::time_point now);
  void evictIfFull(Clock::time_point now);

  LoginThrottleOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
};

// The address part of an "ip:port" source (IPv6 sources are "[addr]:port").
std::string sourceAddress(std::string_view source);

}  // namespace warden::controlplane
