// InMemoryJtiLedger: replay detection per (iss, jti), expiry after the retention, and the
// bound (oldest dropped first, counted).
#include "ssf/jti_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace warden::ssf {
namespace {

using std::chrono::seconds;

TEST(JtiLedgerTest, SecondSightingIsAReplay) {
  InMemoryJtiLedger ledger(seconds(3600), 100);
  EXPECT_TRUE(ledger.remember("https://tx", "j-1", 1000));
  EXPECT_FALSE(ledger.remember("https://tx", "j-1", 1001));
  EXPECT_TRUE(ledger.remember("https://tx", "j-2", 1001));
  EXPECT_EQ(ledger.size(), 2u);
}

TEST(JtiLedgerTest, JtiIsScopedToItsIssuer) {
  // RFC 8417 §2.2: jti is unique per issuer, not globally.
  InMemoryJtiLedger ledger(seconds(3600), 100);
  EXPECT_TRUE(ledger.remember("https://tx-a", "j-1", 1000));
  EXPECT_TRUE(ledger.remember("https://tx-b", "j-1", 1000));
  // Length-prefixed keys: ("ab", "c") and ("a", "bc") are different pairs.
  EXPECT_TRUE(ledger.remember("ab", "c", 1000));
  EXPECT_TRUE(ledger.remember("a", "bc", 1000));
}

TEST(JtiLedgerTest, EntriesExpireAfterTheRetention) {
  InMemoryJtiLedger ledger(seconds(60), 100);
  EXPECT_TRUE(ledger.remember("https://tx", "j-1", 1000));
  EXPECT_FALSE(ledger.remember("https://tx", "j-1", 1059));
  EXPECT_TRUE(ledger.remember("https://tx", "j-1", 1060));  // expired, then recorded again
  EXPECT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger.evictedEarly(), 0u);
}

TEST(JtiLedgerTest, WhenFullTheOldestIsDroppedAndCounted) {
  InMemoryJtiLedger ledger(seconds(3600), 3);
  for (const char* jti : {"a", "b", "c", "d"}) EXPECT_TRUE(ledger.remember("iss", jti, 1000));
  EXPECT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger.evictedEarly(), 1u);
  EXPECT_TRUE(ledger.remember("iss", "a", 1001));  // "a" was dropped: accepted again
  EXPECT_FALSE(ledger.remember("iss", "d", 1001));
}

TEST(JtiLedgerTest, ConcurrentSightingsOfOneJtiAcceptExactlyOne) {
  InMemoryJtiLedger ledger(seconds(3600), 1000);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        if (ledger.remember("iss", "jti-" + std::to_string(j), 1000)) accepted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 50);
}

}  // namespace
}  // namespace warden::ssf
