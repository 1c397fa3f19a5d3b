// VerifiedTokenCache on its own (LRU, expiry, bounds) and through the verifier (hits,
// expiry at exp, key-set changes, scoping per verifier, concurrency).
#include "token/token_cache.h"
#include "token/token_memo.h"

#include <gtest/gtest.h>

#include <thread>

#include "token/access_token.h"
#include "token_test_util.h"

namespace warden::token {
namespace {

using testing::at;
using testing::claims;
using testing::es256;
using testing::json;
using testing::kNow;
using testing::mint;

CacheKey keyOf(int n, std::uint64_t scope = 1) {
  CacheKey key{};
  key.digest.fill(0);
  key.digest[0] = static_cast<unsigned char>(n);
  key.digest[1] = static_cast<unsigned char>(n >> 8);
  key.digest[31] = static_cast<unsigned char>(n * 7);
  key.scope = scope;
  return key;
}

CachedToken entry(const std::string& subject, std::uint64_t tag = 5) {
  auto token = std::make_shared<VerifiedToken>();
  token->subject = subject;
  return CachedToken{token, tag};
}

TEST(VerifiedTokenCacheTest, FindsWhatWasInsertedUntilItsExpiry) {
  VerifiedTokenCache cache(100, 4);
  cache.insert(keyOf(1), entry("a"), kNow + 10, kNow);
  auto hit = cache.find(keyOf(1), kNow + 9);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->token->subject, "a");
  EXPECT_EQ(hit->tag, 5u);
  EXPECT_FALSE(cache.find(keyOf(2), kNow).has_value());
  EXPECT_FALSE(cache.find(keyOf(1, 2), kNow).has_value());  // another verifier's scope
  // Never served at or after exp, and dropped then.
  EXPECT_FALSE(cache.find(keyOf(1), kNow + 10).has_value());
  EXPECT_FALSE(cache.find(keyOf(1), kNow).has_value());
  const TokenCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.misses, 4u);
  EXPECT_EQ(stats.size, 0u);
}

TEST(VerifiedTokenCacheTest, ExpiredTokensAreNotStored) {
  VerifiedTokenCache cache;
  cache.insert(keyOf(1), entry("a"), kNow, kNow);
  cache.insert(keyOf(2), entry("b"), kNow - 1, kNow);
  EXPECT_EQ(cache.stats().size, 0u);
}

TEST(VerifiedTokenCacheTest, BoundedWithLeastRecentlyUsedEviction) {
  VerifiedTokenCache cache(4, 1);
  EXPECT_EQ(cache.capacity(), 4u);
  for (int i = 0; i < 4; ++i) cache.insert(keyOf(i), entry(std::to_string(i)), kNow + 60, kNow);
  ASSERT_TRUE(cache.find(keyOf(0), kNow).has_value());  // 0 is now the most recent
  cache.insert(keyOf(4), entry("4"), kNow + 60, kNow);  // evicts 1, the least recent
  EXPECT_TRUE(cache.find(keyOf(0), kNow).has_value());
  EXPECT_FALSE(cache.find(keyOf(1), kNow).has_value());
  EXPECT_TRUE(cache.find(keyOf(4), kNow).has_value());
  for (int i = 5; i < 100; ++i) cache.insert(keyOf(i), entry("x"), kNow + 60, kNow);
  const TokenCacheStats stats = cache.stats();
  EXPECT_EQ(stats.size, 4u);
  EXPECT_EQ(stats.evictions, 96u);
}

TEST(VerifiedTokenCacheTest, ShardedCapacityNeverExceedsTheConfiguredTotal) {
  VerifiedTokenCache cache(100, 16);
  EXPECT_EQ(cache.capacity(), 100u);
  for (int i = 0; i < 5000; ++i) cache.insert(keyOf(i), entry("x"), kNow + 60, kNow);
  EXPECT_LE(cache.stats().size, 100u);
  EXPECT_GT(cache.stats().size, 90u);
  cache.clear();
  EXPECT_EQ(cache.stats().size, 0u);
}

TEST(VerifiedTokenCacheTest, ReinsertReplacesTheEntry) {
  VerifiedTokenCache cache(10, 1);
  cache.insert(keyOf(1), entry("a", 1), kNow + 10, kNow);
  cache.insert(keyOf(1), entry("b", 2), kNow + 20, kNow);
  auto hit = cache.find(keyOf(1), kNow + 15);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->token->subject, "b");
  EXPECT_EQ(cache.stats().size, 1u);
}

class CachedVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_shared<FixedKeySetProvider>(testing::keySet({es256("ec-1")}));
    cache_ = std::make_shared<VerifiedTokenCache>(16, 2);
    verifier_ = make(testing::requirements());
  }
  std::unique_ptr<const AccessTokenVerifier> make(const TokenRequirements& req) {
    auto v = AccessTokenVerifier::create(req, {IssuerKeys{testing::issuerConfig(), keys_}}, cache_);
    EXPECT_TRUE(v.ok());
    return v.ok() ? std::move(*v) : nullptr;
  }
  TokenVerdict check(const std::string& token, std::int64_t now = kNow) {
    return verifier_->verify(token, CallerBinding{}, at(now));
  }

  std::shared_ptr<FixedKeySetProvider> keys_;
  std::shared_ptr<VerifiedTokenCache> cache_;
  std::unique_ptr<const AccessTokenVerifier> verifier_;
};

TEST_F(CachedVerifierTest, SecondVerificationIsAHit) {
  const std::string token = mint(es256(), claims());
  const TokenVerdict first = check(token);
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(first.from_cache);
  const TokenVerdict second = check(token);
  ASSERT_TRUE(second.ok);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.token, first.token);
  EXPECT_EQ(cache_->stats().hits, 1u);
}

TEST_F(CachedVerifierTest, ExpiryIsHonouredAndSkewGoesThroughFullVerification) {
  json payload = claims();
  payload["exp"] = kNow + 100;
  const std::string token = mint(es256(), payload);
  ASSERT_TRUE(check(token).ok);
  EXPECT_TRUE(check(token, kNow + 99).from_cache);
  // At exp the cache no longer serves it; full verification still accepts it within the
  // skew (and does not re-cache an expired token).
  const TokenVerdict at_exp = check(token, kNow + 100);
  EXPECT_TRUE(at_exp.ok);
  EXPECT_FALSE(at_exp.from_cache);
  EXPECT_FALSE(check(token, kNow + 101).from_cache);
  const TokenVerdict late = check(token, kNow + 161);
  EXPECT_FALSE(late.ok);
  EXPECT_EQ(late.reason, "token_expired");
}

TEST_F(CachedVerifierTest, FailuresAreNotCached) {
  json payload = claims();
  payload["aud"] = "api://other";
  const std::string token = mint(es256(), payload);
  EXPECT_EQ(check(token).reason, "wrong_audience");
  EXPECT_EQ(check(token).reason, "wrong_audience");
  EXPECT_EQ(cache_->stats().size, 0u);
}

TEST_F(CachedVerifierTest, AKeySetChangeSendsCachedTokensBackToVerification) {
  const std::string token = mint(es256(), claims());
  ASSERT_TRUE(check(token).ok);
  ASSERT_TRUE(check(token).from_cache);
  // The key was withdrawn (say, compromised): the cached verification must not outlive it.
  keys_->set(testing::keySet({es256("ec-2", "p256-b")}));
  const TokenVerdict v = check(token);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "unknown_key");
  // A new set with the same key verifies again, and is cached under the new generation.
  keys_->set(testing::keySet({es256("ec-1")}));
  EXPECT_FALSE(check(token).from_cache);
  EXPECT_TRUE(check(token).from_cache);
}

TEST_F(CachedVerifierTest, EntriesAreScopedToTheVerifier) {
  TokenRequirements reports = testing::requirements();
  reports.audiences = {"api://reports"};
  auto other = make(reports);
  const std::string token = mint(es256(), claims());
  ASSERT_TRUE(check(token).ok);
  ASSERT_TRUE(check(token).from_cache);
  // The same shared cache must not let another target skip its audience check.
  const TokenVerdict v = other->verify(token, CallerBinding{}, at(kNow));
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "wrong_audience");
}

TEST_F(CachedVerifierTest, Hs256TokensAreCachedToo) {
  TokenIssuerConfig config = testing::issuerConfig();
  config.algorithms = {"HS256"};
  config.jwks_url.clear();
  config.hs256_secret = std::string(32, 'q');
  auto v = AccessTokenVerifier::create(testing::requirements(), {IssuerKeys{config, nullptr}},
                                       cache_);
  ASSERT_TRUE(v.ok()) << v.error().message;
  const std::string token =
      testing::hs256({{"alg", "HS256"}, {"typ", "at+jwt"}}, claims(), config.hs256_secret);
  ASSERT_TRUE((*v)->verify(token, {}, at(kNow)).ok);
  EXPECT_TRUE((*v)->verify(token, {}, at(kNow)).from_cache);
}

// ---- the per-connection memo (token_memo.h) ------------------------------------------

TEST_F(CachedVerifierTest, MemoServesTheConnectionsRepeatedTokenWithoutTheCache) {
  TokenMemo memo;
  const std::string token = mint(es256(), claims());
  const TokenVerdict first = verifier_->verify(token, {}, at(kNow), &memo);
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(first.from_cache);
  EXPECT_FALSE(memo.entry.token) << "only a cache hit fills the memo";
  ASSERT_TRUE(verifier_->verify(token, {}, at(kNow), &memo).from_cache);
  EXPECT_EQ(cache_->stats().hits, 1u);
  const TokenVerdict third = verifier_->verify(token, {}, at(kNow), &memo);
  ASSERT_TRUE(third.ok);
  EXPECT_TRUE(third.from_cache);
  EXPECT_EQ(third.token, first.token);
  EXPECT_EQ(cache_->stats().hits + cache_->stats().misses, 2u) << "the memo did not answer";
  // Another token on the same connection is verified on its own, not served by the memo.
  json payload = claims();
  payload["sub"] = "spiffe://example.org/agent/other";
  const TokenVerdict other = verifier_->verify(mint(es256(), payload), {}, at(kNow), &memo);
  ASSERT_TRUE(other.ok);
  EXPECT_EQ(other.token->subject, "spiffe://example.org/agent/other");
}

TEST_F(CachedVerifierTest, MemoMissesWheneverTheCacheWould) {
  json payload = claims();
  payload["exp"] = kNow + 100;
  const std::string token = mint(es256(), payload);
  auto filled = [&](TokenMemo& memo) {
    memo = {};
    EXPECT_TRUE(verifier_->verify(token, {}, at(kNow), &memo).ok);
    EXPECT_TRUE(verifier_->verify(token, {}, at(kNow), &memo).from_cache);
    EXPECT_TRUE(memo.entry.token);
  };
  TokenMemo memo;
  // exp: at exp, full verification (which still accepts it within the skew).
  filled(memo);
  EXPECT_TRUE(verifier_->verify(token, {}, at(kNow + 99), &memo).from_cache);
  EXPECT_FALSE(verifier_->verify(token, {}, at(kNow + 100), &memo).from_cache);
  // A cache clear (revocation, a policy change).
  filled(memo);
  cache_->clear();
  EXPECT_FALSE(verifier_->verify(token, {}, at(kNow), &memo).from_cache);
  // Another verifier (another target's audiences) never takes this verifier's memo.
  filled(memo);
  TokenRequirements reports = testing::requirements();
  reports.audiences = {"api://reports"};
  auto other = make(reports);
  EXPECT_EQ(other->verify(token, {}, at(kNow), &memo).reason, "wrong_audience");
  // The key was withdrawn: the memo must not outlive it either.
  filled(memo);
  keys_->set(testing::keySet({es256("ec-2", "p256-b")}));
  EXPECT_EQ(verifier_->verify(token, {}, at(kNow), &memo).reason, "unknown_key");
}

TEST_F(CachedVerifierTest, MemoKeepsTheBindingCheckPerRequest) {
  TokenRequirements req = testing::requirements();
  req.binding = BindingMode::kSubToSpiffe;
  verifier_ = make(req);
  const std::string budget = "spiffe://example.org/agent/budget";
  json payload = claims();
  payload["sub"] = budget;
  const std::string token = mint(es256(), payload);
  TokenMemo memo;
  ASSERT_TRUE(verifier_->verify(token, CallerBinding{budget, {}}, at(kNow), &memo).ok);
  ASSERT_TRUE(verifier_->verify(token, CallerBinding{budget, {}}, at(kNow), &memo).from_cache);
  const TokenVerdict v =
      verifier_->verify(token, CallerBinding{"spiffe://example.org/agent/reports", {}}, at(kNow), &memo);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "token_not_bound");
}

TEST_F(CachedVerifierTest, ConcurrentVerificationIsConsistent) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 40; ++i) {
    json payload = claims();
    payload["jti"] = "t" + std::to_string(i);
    tokens.push_back(mint(es256(), payload));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const std::string& token = tokens[static_cast<std::size_t>((round * 7 + t) % 40)];
        const TokenVerdict v = check(token);
        if (!v.ok || v.token == nullptr || v.token->jti_digest.empty()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(cache_->stats().size, cache_->capacity());
  // 40 tokens cycle through a 16-entry cache, so whether the threads above ever hit depends
  // on their interleaving; the cache must still serve a token verified just before.
  const auto hits_before = cache_->stats().hits;
  ASSERT_TRUE(check(tokens[0]).ok);
  const TokenVerdict again = check(tokens[0]);
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.from_cache);
  EXPECT_GT(cache_->stats().hits, hits_before);
}

}  // namespace
}  // namespace warden::token
