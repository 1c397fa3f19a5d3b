// The pure parts of JwksSource's schedule: Cache-Control max-age, clamping, and the refetch
// rate limit. The source itself is exercised against a real server in
// tests/integration/token_jwks_test.cc.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "token/jwks_source.h"

namespace warden::token {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(CacheControlTest, MaxAge) {
  EXPECT_EQ(cacheControlMaxAge("max-age=60"), seconds(60));
  EXPECT_EQ(cacheControlMaxAge("public, max-age=3600, must-revalidate"), seconds(3600));
  EXPECT_EQ(cacheControlMaxAge("Max-Age=5"), seconds(5));
  EXPECT_EQ(cacheControlMaxAge(" max-age=\"30\" "), seconds(30));
  EXPECT_EQ(cacheControlMaxAge("max-age=600, max-age=60"), seconds(60));
  EXPECT_EQ(cacheControlMaxAge("no-store"), seconds(0));
  EXPECT_EQ(cacheControlMaxAge("no-cache, max-age=600"), seconds(0));
  EXPECT_EQ(cacheControlMaxAge(""), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("public"), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("s-maxage=10"), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("max-age=abc"), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("max-age=-5"), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("max-age="), std::nullopt);
  EXPECT_EQ(cacheControlMaxAge("max-age=99999999999999999999999"), std::nullopt);
}

TEST(CacheControlTest, RefreshIsClampedToTheBounds) {
  const JwksTiming t;  // 30 s .. 24 h, default 5 min
  EXPECT_EQ(refreshAfter(t, std::nullopt), std::chrono::minutes(5));
  EXPECT_EQ(refreshAfter(t, seconds(0)), seconds(30));
  EXPECT_EQ(refreshAfter(t, seconds(1)), seconds(30));
  EXPECT_EQ(refreshAfter(t, seconds(120)), seconds(120));
  EXPECT_EQ(refreshAfter(t, hours(24 * 10)), hours(24));
  EXPECT_EQ(refreshAfter(t, seconds(999'999'999'999'999LL)), hours(24));
  JwksTiming narrow;
  narrow.default_refresh = hours(48);  // a default outside the bounds is clamped too
  EXPECT_EQ(refreshAfter(narrow, std::nullopt), hours(24));
}

TEST(RefetchLimiterTest, AtMostOncePerInterval) {
  RefetchLimiter limiter(seconds(10));
  const auto t0 = std::chrono::steady_clock::time_point(hours(1000));
  EXPECT_TRUE(limiter.tryAcquire(t0));
  EXPECT_FALSE(limiter.tryAcquire(t0));
  EXPECT_FALSE(limiter.tryAcquire(t0 + seconds(9)));
  EXPECT_TRUE(limiter.tryAcquire(t0 + seconds(10)));
  EXPECT_FALSE(limiter.tryAcquire(t0 + seconds(19)));
  EXPECT_TRUE(limiter.tryAcquire(t0 + seconds(60)));
}

TEST(RefetchLimiterTest, ExactlyOneWinnerUnderContention) {
  RefetchLimiter limiter(seconds(10));
  const auto now = std::chrono::steady_clock::now();
  std::atomic<int> granted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 1000; ++i) {
        if (limiter.tryAcquire(now + milliseconds(i))) granted.fetch_add(1);
      }
    });
  }
  go.store(true);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 1);
}

}  // namespace
}  // namespace warden::token
