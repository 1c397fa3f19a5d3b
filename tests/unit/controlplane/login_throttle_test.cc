#include "controlplane/login_throttle.h"

#include <gtest/gtest.h>

#include "controlplane/api_config.h"

namespace warden::controlplane {
namespace {

using std::chrono::seconds;
using Clock = LoginThrottle::Clock;

LoginThrottleOptions options() {
  LoginThrottleOptions o;
  o.free_failures = 3;
  o.source_factor = 2;
  o.base_delay = seconds(2);
  o.max_delay = seconds(30);
  o.forget_after = seconds(600);
  return o;
}

TEST(LoginThrottleTest, FreeFailuresThenDoublingDelayCapped) {
  LoginThrottle t(options());
  const Clock::time_point t0{};
  Clock::time_point now = t0;
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(t.waitFor("alice", "10.0.0.1:5000", now));
    t.recordFailure("alice", "10.0.0.1:5000", now);
  }
  EXPECT_FALSE(t.waitFor("alice", "10.0.0.1:5000", now)) << "2 of 3 free failures used";
  t.recordFailure("alice", "10.0.0.1:5000", now);  // the third: 2 s
  EXPECT_EQ(t.waitFor("alice", "10.0.0.2:1", now), seconds(2)) << "the user name waits from any address";
  now += seconds(2);
  EXPECT_FALSE(t.waitFor("alice", "10.0.0.2:1", now));
  t.recordFailure("alice", "10.0.0.2:1", now);  // the fourth: 4 s
  EXPECT_EQ(t.waitFor("alice", "10.0.0.3:1", now), seconds(4));
  for (int i = 0; i < 10; ++i) t.recordFailure("alice", "10.0.0.4:1", now);
  EXPECT_EQ(t.waitFor("alice", "10.0.0.5:1", now), seconds(30)) << "capped at max_delay";
}

TEST(LoginThrottleTest, SuccessClearsTheUserNameButNotTheAddress) {
  LoginThrottle t(options());
  Clock::time_point now{};
  // 5 failures from one address over different names: under the address's 6 free ones.
  for (const char* name : {"a", "b", "c", "d", "e"}) t.recordFailure(name, "192.0.2.9:1", now);
  EXPECT_FALSE(t.waitFor("fresh", "192.0.2.9:2", now));
  t.recordFailure("f", "192.0.2.9:3", now);  // the sixth from this address
  EXPECT_EQ(t.waitFor("fresh", "192.0.2.9:4", now), seconds(2)) << "a spraying address waits for every name";
  EXPECT_FALSE(t.waitFor("fresh", "192.0.2.10:4", now)) << "other addresses are not affected";

  for (int i = 0; i < 3; ++i) t.recordFailure("bob", "198.51.100.1:1", now);
  ASSERT_TRUE(t.waitFor("bob", "198.51.100.2:1", now));
  t.recordSuccess("bob", now);
  EXPECT_FALSE(t.waitFor("bob", "198.51.100.2:1", now));
}

TEST(LoginThrottleTest, AQuietKeyStartsOverAndUnknownNamesAreThrottledLikeKnownOnes) {
  LoginThrottle t(options());
  Clock::time_point now{};
  for (int i = 0; i < 3; ++i) t.recordFailure("no-such-user", "203.0.113.1:1", now);
  EXPECT_EQ(t.waitFor("no-such-user", "203.0.113.7:1", now), seconds(2));
  now += seconds(601);
  t.recordFailure("no-such-user", "203.0.113.8:1", now);
  EXPECT_FALSE(t.waitFor("no-such-user", "203.0.113.9:1", now)) << "one failure after the quiet period";
}

TEST(LoginThrottleTest, MemoryIsBoundedAndABlockedKeyOutlivesHarmlessOnes) {
  auto o = options();
  o.max_keys = 8;  // 4 users + 4 addresses
  LoginThrottle t(o);
  Clock::time_point now{};
  for (int i = 0; i < 3; ++i) t.recordFailure("target", "198.51.100.1:1", now);  // 2 keys, blocked
  for (int i = 0; i < 50; ++i) t.recordFailure("spray" + std::to_string(i), "198.51.100." + std::to_string(i + 2) + ":1", now);
  EXPECT_EQ(t.waitFor("target", "192.0.2.1:1", now), seconds(2)) << "the blocked user name was not evicted";
}

TEST(LoginThrottleTest, SourceAddressDropsThePort) {
  EXPECT_EQ(sourceAddress("127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(sourceAddress("[::1]:5555"), "[::1]");
  EXPECT_EQ(sourceAddress("nohost"), "nohost");
}

// `control_plane.login_throttle:` in the server configuration.

Result<std::optional<ControlPlaneConfig>> parseThrottle(const std::string& block) {
  return parseControlPlaneConfig("control_plane:\n  listen: 127.0.0.1:8443\n  tls: { svid: s }\n" + block,
                                 "/etc/warden/server.yaml", "/var/lib/warden");
}

TEST(LoginThrottleConfigTest, DefaultsAndOverrides) {
  auto d = parseThrottle("");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->login_throttle.free_failures, 5u);
  EXPECT_EQ((*d)->login_throttle.max_delay, std::chrono::minutes(15));
  auto c = parseThrottle("  login_throttle: {free_failures: 10, base_delay: 2s, max_delay: 1h}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->login_throttle.free_failures, 10u);
  EXPECT_EQ((*c)->login_throttle.base_delay, std::chrono::seconds(2));
  EXPECT_EQ((*c)->login_throttle.max_delay, std::chrono::hours(1));
}

TEST(LoginThrottleConfigTest, InvalidValuesNameTheField) {
  for (const auto& [yaml, field] : std::vector<std::pair<std::string, std::string>>{
           {"  login_throttle: {free_failures: 0}\n", "control_plane.login_throttle.free_failures"},
           {"  login_throttle: {base_delay: 5}\n", "control_plane.login_throttle.base_delay"},
           {"  login_throttle: {base_delay: 10m, max_delay: 1m}\n", "control_plane.login_throttle.max_delay"},
           {"  login_throttle: {lockout: true}\n", "lockout"},
           {"  login_throttle: 3\n", "control_plane.login_throttle"},
       }) {
    auto c = parseThrottle(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find(field), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace warden::controlplane
