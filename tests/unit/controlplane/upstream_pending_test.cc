// The sign-ins under way at external providers (upstream_pending.h): random states,
// single use, expiry and the bound on memory.
#include <gtest/gtest.h>

#include <set>

#include "controlplane/upstream_pending.h"

namespace warden::controlplane {
namespace {

PendingUpstream entry(const std::string& provider, const std::string& nonce = "n") {
  PendingUpstream e;
  e.provider = provider;
  e.nonce = nonce;
  e.code_verifier = std::string(43, 'v');
  e.request.redirect_uri = "https://warden.example/callback";
  e.request.state = "portal-state";
  return e;
}

TEST(UpstreamPendingTest, StateIsRandom256BitsAndTakenOnce) {
  PendingUpstreamStore store(100, std::chrono::seconds(600));
  std::set<std::string> states;
  for (int i = 0; i < 50; ++i) {
    auto s = store.add(entry("idp"), 1000);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->size(), 43u) << "32 random bytes, base64url";
    states.insert(*s);
  }
  EXPECT_EQ(states.size(), 50u);
  const std::string state = *states.begin();
  auto first = store.take(state, 1001);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->provider, "idp");
  EXPECT_EQ(first->request.state, "portal-state");
  EXPECT_EQ(first->expires_at, 1600);
  // RFC 6749 §10.12 / single use: a replayed state finds nothing.
  EXPECT_FALSE(store.take(state, 1002).has_value());
  EXPECT_FALSE(store.take("not-a-state", 1002).has_value());
  EXPECT_FALSE(store.take("", 1002).has_value());
  EXPECT_EQ(store.size(), 49u);
}

TEST(UpstreamPendingTest, ExpiredStatesAreRefusedAndPurged) {
  PendingUpstreamStore store(100, std::chrono::seconds(600));
  const auto old_state = store.add(entry("idp"), 1000);
  const auto other = store.add(entry("idp"), 1000);
  ASSERT_TRUE(old_state && other);
  EXPECT_FALSE(store.take(*old_state, 1600).has_value()) << "expires_at is exclusive";
  EXPECT_EQ(store.size(), 0u) << "the take purged the other expired entry too";
  const auto fresh = store.add(entry("idp"), 2000);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(store.take(*fresh, 2599).has_value());
}

TEST(UpstreamPendingTest, FullStoreRefusesNewEntriesUntilSomeExpire) {
  PendingUpstreamStore store(3, std::chrono::seconds(60));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store.add(entry("idp"), 100).has_value());
  EXPECT_FALSE(store.add(entry("idp"), 101).has_value());
  EXPECT_TRUE(store.add(entry("idp"), 160).has_value()) << "the old ones expired and were purged";
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace warden::controlplane
