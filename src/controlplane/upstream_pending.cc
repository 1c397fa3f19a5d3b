#include "controlplane/upstream_pending.h"

#include <openssl/rand.h>

#include <vector>

#include "jose/base64url.h"

namespace warden::controlplane {

std::string randomToken(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1)
    return {};
  return jose::base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
}

PendingUpstreamStore::PendingUpstreamStore(std::size_t max_entries, std::chrono::seconds ttl)
    : max_entries_(max_entries), ttl_(ttl) {}

void PendingUpstreamStore::purgeExpired(std::time_t now) {
  std::erase_if(entries_, [now](const auto& e) { return e.second.expires_at <= now; });
}

std::optional<std::string> PendingUpstreamStore::add(PendingUpstream entry, std::time_t now) {
  std::string state = randomToken();
  if (state.empty())
    return std::nullopt;
  entry.expires_at = now + static_cast<std::time_t>(ttl_.count());
  std::lock_guard lock(mutex_);
  purgeExpired(now);
  if (entries_.size() >= max_entries_)
    return std::nullopt;
  entries_.emplace(state, std::move(entry));
  return state;
}

std::optional<PendingUpstream> PendingUpstreamStore::take(std::string_view state, std::time_t now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(state);
  if (it == entries_.end())
    return std::nullopt;
  PendingUpstream out = std::move(it->second);
  entries_.erase(it);
  purgeExpired(now);
  if (out.expires_at <= now)
    return std::nullopt;
  return out;
}

std::size_t PendingUpstreamStore::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace warden::controlplane
