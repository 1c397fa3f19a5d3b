#include "controlplane/login_throttle.h"

#include <algorithm>

namespace warden::controlplane {

namespace {

// Separate key spaces: a user named like an address must not share its record.
std::string userKey(std::string_view user) { return "u:" + std::string(user); }
std::string sourceKey(std::string_view source) { return "s:" + sourceAddress(source); }

}  // namespace

std::string sourceAddress(std::string_view source) {
  const auto colon = source.rfind(':');
  if (colon == std::string_view::npos) return std::string(source);
  return std::string(source.substr(0, colon));
}

LoginThrottle::LoginThrottle(LoginThrottleOptions options) : options_(options) {}

std::chrono::seconds LoginThrottle::delayAfter(unsigned failures, unsigned free) const {
  if (failures < free) return std::chrono::seconds(0);
  const unsigned doublings = std::min(failures - free, 30u);
  const auto delay = options_.base_delay * (std::int64_t{1} << doublings);
  return std::min(delay, options_.max_delay);
}

std::optional<std::chrono::seconds> LoginThrottle::waitFor(std::string_view user,
                                                           std::string_view source,
                                                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Clock::time_point until{};
  for (const auto& key : {userKey(user), sourceKey(source)}) {
    const auto it = records_.find(key);
    if (it != records_.end()) until = std::max(until, it->second.blocked_until);
  }
  if (until <= now) return std::nullopt;
  // Round up: "retry after 0 s" would invite an immediate, refused retry.
  return std::chrono::ceil<std::chrono::seconds>(until - now);
}

void LoginThrottle::fail(const std::string& key, unsigned free, Clock::time_point now) {
  auto it = records_.find(key);
  if (it == records_.end()) {
    evictIfFull(now);
    it = records_.emplace(key, Record{}).first;
  } else if (now - it->second.last_failure > options_.forget_after) {
    it->second = Record{};
  }
  Record& r = it->second;
  r.failures += 1;
  r.last_failure = now;
  r.blocked_until = now + delayAfter(r.failures, free);
}

void LoginThrottle::recordFailure(std::string_view user, std::string_view source,
                                  Clock::time_point now) {
  std::lock_guard lock(mutex_);
  fail(userKey(user), options_.free_failures, now);
  fail(sourceKey(source), options_.free_failures * options_.source_factor, now);
}

void LoginThrottle::recordSuccess(std::string_view user, Clock::time_point /*now*/) {
  std::lock_guard lock(mutex_);
  records_.erase(userKey(user));
}

void LoginThrottle::evictIfFull(Clock::time_point now) {
  if (records_.size() < options_.max_keys) return;
  // Forgotten records first; then the one whose block ends soonest (the least dangerous
  // to drop). O(n) but only when the map is full, i.e. under a spray, and n is bounded.
  std::erase_if(records_, [&](const auto& kv) { return now - kv.second.last_failure > options_.forget_after; });
  if (records_.size() < options_.max_keys) return;
  const auto victim = std::min_element(records_.begin(), records_.end(), [](const auto& a, const auto& b) {
    return a.second.blocked_until < b.second.blocked_until;
  });
  records_.erase(victim);
}

}  // namespace warden::controlplane
