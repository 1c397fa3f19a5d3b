#include "tokenservice/guards.h"

#include <algorithm>
#include <cmath>

namespace warden::tokenservice {

ReplayCache::Outcome ReplayCache::insert(const std::string& key, std::time_t expires_at,
                                         std::time_t now) {
  std::lock_guard lock(mutex_);
  if (const auto it = entries_.find(key); it != entries_.end()) {
    if (it->second > now) return Outcome::kReplayed;
    entries_.erase(it);
  }
  if (entries_.size() >= max_entries_) {
    std::erase_if(entries_, [now](const auto& e) { return e.second <= now; });
    if (entries_.size() >= max_entries_) return Outcome::kFull;
  }
  entries_.emplace(key, expires_at);
  return Outcome::kFresh;
}

std::size_t ReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

double FailureLimiter::refilled(const Bucket& b, Clock::time_point now) const {
  const auto elapsed = std::chrono::duration<double, std::milli>(now - b.updated).count();
  const double per_ms = 1.0 / static_cast<double>(std::max<std::int64_t>(refill_every_.count(), 1));
  return std::min(static_cast<double>(burst_), b.tokens + std::max(0.0, elapsed) * per_ms);
}

std::optional<std::chrono::seconds> FailureLimiter::blocked(std::string_view key,
                                                            Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = buckets_.find(key);
  if (it == buckets_.end()) return std::nullopt;
  const double tokens = refilled(it->second, now);
  if (tokens >= 1.0) return std::nullopt;
  const double wait_ms = (1.0 - tokens) * static_cast<double>(refill_every_.count());
  return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(wait_ms / 1000.0)));
}

void FailureLimiter::recordFailure(std::string_view key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      // Full buckets carry no state worth keeping; if none is full, drop the stalest.
      std::erase_if(buckets_, [&](const auto& b) { return refilled(b.second, now) >= burst_; });
      if (buckets_.size() >= max_keys_) {
        auto stalest = std::min_element(buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) {
          return a.second.updated < b.second.updated;
        });
        buckets_.erase(stalest);
      }
    }
    it = buckets_.emplace(std::string(key), Bucket{static_cast<double>(burst_), now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::max(0.0, refilled(b, now) - 1.0);
  b.updated = now;
}

void FailureLimiter::clear() {
  std::lock_guard lock(mutex_);
  buckets_.clear();
}

}  // namespace warden::tokenservice
