#include "ssf/jti_ledger.h"

#include <algorithm>

namespace warden::ssf {
namespace {

// Length-prefixed so that no (issuer, jti) pair can collide with another whatever bytes
// either holds (a separator character could appear inside a JSON string).
std::string ledgerKey(std::string_view issuer, std::string_view jti) {
  std::string key = std::to_string(issuer.size());
  key += ':';
  key.append(issuer);
  key.append(jti);
  return key;
}

}  // namespace

InMemoryJtiLedger::InMemoryJtiLedger(std::chrono::seconds retention, std::size_t capacity)
    : retention_s_(std::max<std::int64_t>(retention.count(), 1)),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

bool InMemoryJtiLedger::remember(std::string_view issuer, std::string_view jti,
                                 std::int64_t now_unix) {
  std::string key = ledgerKey(issuer, jti);
  const std::lock_guard lock(mutex_);
  expire(now_unix);
  if (keys_.count(key) != 0) return false;
  while (order_.size() >= capacity_) {
    keys_.erase(order_.front().key);
    order_.pop_front();
    ++evicted_early_;
  }
  keys_.insert(key);
  order_.push_back(Entry{now_unix + retention_s_, std::move(key)});
  return true;
}

void InMemoryJtiLedger::expire(std::int64_t now_unix) {
  while (!order_.empty() && order_.front().expires_at <= now_unix) {
    keys_.erase(order_.front().key);
    order_.pop_front();
  }
}

std::size_t InMemoryJtiLedger::size() const {
  const std::lock_guard lock(mutex_);
  return order_.size();
}

std::uint64_t InMemoryJtiLedger::evictedEarly() const {
  const std::lock_guard lock(mutex_);
  return evicted_early_;
}

}  // namespace warden::ssf
