#include "token/token_cache.h"

#include <algorithm>
#include <cstring>

namespace warden::token {

std::size_t VerifiedTokenCache::KeyHash::operator()(const CacheKey& key) const {
  // The digest is already uniform; its first word is as good a hash as any.
  std::uint64_t word = 0;
  std::memcpy(&word, key.digest.data(), sizeof(word));
  return static_cast<std::size_t>(word ^ (key.scope * 0x9E3779B97F4A7C15ULL));
}

VerifiedTokenCache::VerifiedTokenCache(std::size_t capacity, std::size_t shards)
    : capacity_(std::max<std::size_t>(capacity, 1)) {
  const std::size_t count = std::clamp<std::size_t>(shards, 1, capacity_);
  // The remainder goes one entry each to the first shards, so the limits add up to
  // exactly the configured capacity.
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->limit = capacity_ / count + (i < capacity_ % count ? 1 : 0);
    shards_.push_back(std::move(shard));
  }
}

VerifiedTokenCache::Shard& VerifiedTokenCache::shardFor(const CacheKey& key) {
  // A different digest byte than the one the in-shard hash starts with.
  return *shards_[key.digest[31] % shards_.size()];
}

std::optional<CachedToken> VerifiedTokenCache::find(const CacheKey& key, std::int64_t now_s) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (now_s >= it->second->expires_at_s) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
    expired_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->entry;
}

void VerifiedTokenCache::insert(const CacheKey& key, CachedToken entry, std::int64_t expires_at_s,
                                std::int64_t now_s) {
  if (expires_at_s <= now_s) return;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  if (const auto it = shard.index.find(key); it != shard.index.end()) {
    it->second->entry = std::move(entry);
    it->second->expires_at_s = expires_at_s;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  while (shard.lru.size() >= shard.limit) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Node{key, std::move(entry), expires_at_s});
  shard.index.emplace(key, shard.lru.begin());
}

void VerifiedTokenCache::clear() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    shard->index.clear();
    shard->lru.clear();
  }
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

TokenCacheStats VerifiedTokenCache::stats() const {
  TokenCacheStats out;
  out.hits = hits_.load(std::memory_order_relaxed);
  out.misses = misses_.load(std::memory_order_relaxed);
  out.expired = expired_.load(std::memory_order_relaxed);
  out.evictions = evictions_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    out.size += shard->lru.size();
  }
  return out;
}

}  // namespace warden::token
