#include "tokenservice/external_keys.h"

namespace warden::tokenservice {

ExternalKeyCache::Snapshot ExternalKeyCache::get(std::string_view issuer) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(issuer);
  return it == entries_.end() ? Snapshot{} : it->second.snapshot;
}

bool ExternalKeyCache::claimFetch(std::string_view issuer, std::string_view kid,
                                  Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(issuer);
  if (it == entries_.end()) it = entries_.emplace(std::string(issuer), Entry{}).first;
  Entry& e = it->second;
  if (e.attempted_at && now - *e.attempted_at < timing_.cooldown) return false;
  const bool due = !e.snapshot.keys || now - e.fetched_at >= timing_.max_age ||
                   (!kid.empty() && !e.snapshot.keys->keys.contains(std::string(kid)));
  if (due) e.attempted_at = now;
  return due;
}

void ExternalKeyCache::storeKeys(ExternalKeySet keys, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_[keys.issuer];
  e.snapshot.keys = std::make_shared<const ExternalKeySet>(std::move(keys));
  e.snapshot.last_error.clear();
  e.fetched_at = now;
}

void ExternalKeyCache::storeFailure(std::string_view issuer, std::string error) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(issuer);
  if (it == entries_.end()) it = entries_.emplace(std::string(issuer), Entry{}).first;
  it->second.snapshot.last_error = std::move(error);
}

}  // namespace warden::tokenservice
