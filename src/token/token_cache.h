// A bounded cache of verified access tokens, so that a caller reusing its token (the
// common case: one token per caller for its lifetime) costs a SHA-256 and a lookup instead
// of a signature verification.
//
// Keyed by the SHA-256 of the token bytes plus the scope of the verifier that verified it
// (the same token verified for one target says nothing about another's audiences or
// issuers). Entries expire at the token's `exp`, never later, and without clock skew:
// after `exp` the token goes back through full verification. What is stored is the
// verified token, not a decision: checks that depend on the caller (binding) or the route
// (roles) run on every request. Each entry also carries an opaque tag (the key-set
// generation that verified it) that the verifier compares on a hit.
//
// LRU per shard; the capacity is split across shards (so eviction is per shard: an entry
// may go while another shard has room, the price of not sharing one lock). A shard's mutex
// is held for the map operation only, never across verification.
// Trust posture: nothing enters except what AccessTokenVerifier verified.
// Thread-safety: all members are safe to call concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace warden::token {

struct VerifiedToken;

using TokenDigest = std::array<unsigned char, 32>;

struct CacheKey {
  TokenDigest digest;
  std::uint64_t scope = 0;
  friend bool operator==(const CacheKey&, const CacheKey&) = default;
};

struct CachedToken {
  std::shared_ptr<const VerifiedToken> token;
  std::uint64_t tag = 0;
};

struct TokenCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t expired = 0;    // found but past exp (then removed)
  std::uint64_t evictions = 0;  // removed for room
  std::size_t size = 0;
};

class VerifiedTokenCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 10000;
  static constexpr std::size_t kDefaultShards = 16;

  explicit VerifiedTokenCache(std::size_t capacity = kDefaultCapacity,
                              std::size_t shards = kDefaultShards);

  // The entry if present and `now_s` (seconds since the epoch) is before its expiry.
  std::optional<CachedToken> find(const CacheKey& key, std::int64_t now_s);
  // Adds or replaces; `expires_at_s` is the token's exp. Nothing is stored when it is
  // not in the future.
  void insert(const CacheKey& key, CachedToken entry, std::int64_t expires_at_s,
              std::int64_t now_s);
  // Drops everything (revocation, a policy change).
  void clear();
  // Moves on every clear(): what was copied out of the cache before (TokenMemo) is stale
  // once it differs.
  std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  std::size_t capacity() const { return capacity_; }
  TokenCacheStats stats() const;

 private:
  struct KeyHash {
    std::size_t operator()(const CacheKey& key) const;
  };
  struct Node {
    CacheKey key;
    CachedToken entry;
    std::int64_t expires_at_s = 0;
  };
  struct Shard {
    std::size_t limit = 1;  // immutable after construction
    std::mutex mutex;
    std::list<Node> lru;  // front: most recently used
    std::unordered_map<CacheKey, std::list<Node>::iterator, KeyHash> index;
  };
  Shard& shardFor(const CacheKey& key);

  std::size_t capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, expired_{0}, evictions_{0};
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace warden::token
