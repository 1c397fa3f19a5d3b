// Abuse guards of the token endpoint: the client-assertion replay cache and the limiter
// of failed client authentication.
//
// ReplayCache remembers (subject, jti) until the assertion's exp (+ leeway); entries
// cannot outlive max_assertion_ttl, so its size is bounded by the request rate. When it is
// full even after dropping expired entries, new assertions are refused (fail closed:
// forgetting a jti would re-open replay), which the endpoint reports as 503.
//
// FailureLimiter keeps a token bucket per key (a client id, a source address): each
// failed authentication takes a token; an empty bucket refuses the key's requests, good
// or bad, until it refills (one token per `refill_every`). The number of keys is capped:
// at the cap, buckets that have refilled completely are dropped first, then the stalest,
// so a spray of made-up client ids cannot grow memory without bound.
// Thread-safety: both are internally locked; every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace warden::tokenservice {

class ReplayCache {
 public:
  explicit ReplayCache(std::size_t max_entries = 100000) : max_entries_(max_entries) {}
  enum class Outcome { kFresh, kReplayed, kFull };
  // Records `key` until `expires_at` unless it is already there.
  Outcome insert(const std::string& key, std::time_t expires_at, std::time_t now);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::size_t max_entries_;
  std::map<std::string, std::time_t, std::less<>> entries_;
};

class FailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  FailureLimiter(std::uint32_t burst, std::chrono::milliseconds refill_every,
                 std::size_t max_keys = 10000)
      : burst_(burst), refill_every_(refill_every), max_keys_(max_keys) {}
  // nullopt when `key` may proceed; otherwise how long until it may (rounded up to s).
  std::optional<std::chrono::seconds> blocked(std::string_view key, Clock::time_point now) const;
  void recordFailure(std::string_view key, Clock::time_point now);
  // Forgets every bucket (an operator unblocking clients after an incident; tests).
  void clear();

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  double refilled(const Bucket& b, Clock::time_point now) const;

  mutable std::mutex mutex_;
  std::uint32_t burst_;
  std::chrono::milliseconds refill_every_;
  std::size_t max_keys_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace warden::tokenservice
