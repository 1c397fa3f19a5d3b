// Audit statistics: the query's bounds (audit_stats.h), the store's SQL aggregation
// (Store::auditStats) and the answer's shape, every bucket present.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "controlplane/audit_stats.h"
#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;
using Query = std::map<std::string, std::string>;

constexpr std::int64_t kNow = 1'767'225'600;  // 2026-01-01T00:00:00Z
constexpr const char* kBackend = "spiffe://example.org/agent/backend";
constexpr const char* kReport = "spiffe://example.org/agent/report";
constexpr const char* kMenus = "spiffe://example.org/agent/menus";

std::string errorOf(const Query& q) {
  auto r = parseAuditStatsRange(q, kNow);
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(AuditStatsRangeTest, DefaultsAreTheLastHourInMinutes) {
  auto r = parseAuditStatsRange({}, kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->until, kNow);
  EXPECT_EQ(r->since, kNow - 3600);
  EXPECT_EQ(r->bucket, 60);
  EXPECT_EQ(r->buckets, 60);
  // since alone: until is still now; until alone: since is an hour before it.
  r = parseAuditStatsRange({{"since", std::to_string(kNow - 600)}}, kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->until, kNow);
  EXPECT_EQ(r->buckets, 10);
  r = parseAuditStatsRange({{"until", "7200"}, {"bucket", "600"}}, kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->since, 3600);
  EXPECT_EQ(r->buckets, 6);
}

TEST(AuditStatsRangeTest, BucketsAreCountedWithAPartialLastOne) {
  auto r = parseAuditStatsRange({{"since", "1000"}, {"until", "1100"}, {"bucket", "30"}}, kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->buckets, 4);  // 30 + 30 + 30 + 10
  // Exactly 720 buckets is allowed, one more is not, and the message says what would do.
  EXPECT_TRUE(parseAuditStatsRange({{"since", "0"}, {"until", "3600"}, {"bucket", "5"}}, kNow));
  EXPECT_EQ(errorOf({{"since", "0"}, {"until", "3601"}, {"bucket", "5"}}),
            "bucket: 3601 seconds in buckets of 5 is 721 buckets, at most 720 (use a bucket of "
            "at least 6 seconds)");
  // The default bucket over a given since: two hours of minutes is 120 buckets.
  EXPECT_TRUE(parseAuditStatsRange({{"since", std::to_string(kNow - 7200)}}, kNow));
}

TEST(AuditStatsRangeTest, OutOfBoundsAndMalformedValuesAreRefusedByName) {
  EXPECT_EQ(errorOf({{"since", "100"}, {"until", "100"}}),
            "since: must be before until (since 100, until 100)");
  EXPECT_EQ(errorOf({{"since", "200"}, {"until", "100"}}),
            "since: must be before until (since 200, until 100)");
  EXPECT_EQ(errorOf({{"since", "0"}, {"until", "604801"}, {"bucket", "3600"}}),
            "until - since: at most 604800 seconds (7 days), got 604801");
  EXPECT_TRUE(parseAuditStatsRange({{"since", "0"}, {"until", "604800"}, {"bucket", "3600"}}, kNow));
  EXPECT_EQ(errorOf({{"bucket", "0"}}), "bucket: expected a whole number of seconds >= 1, got \"0\"");
  EXPECT_EQ(errorOf({{"bucket", "1.5"}}), "bucket: expected a whole number of seconds >= 1, got \"1.5\"");
  EXPECT_EQ(errorOf({{"bucket", ""}}), "bucket: expected a whole number of seconds >= 1, got \"\"");
  EXPECT_EQ(errorOf({{"since", "-5"}}), "since: expected Unix seconds, got \"-5\"");
  EXPECT_EQ(errorOf({{"until", "yesterday"}}), "until: expected Unix seconds, got \"yesterday\"");
  // Values that would overflow once scaled to microseconds are refused, not wrapped.
  EXPECT_EQ(errorOf({{"until", "9223372036855"}}), "until: expected Unix seconds, got \"9223372036855\"");
  EXPECT_EQ(errorOf({{"until", "99999999999999999999"}}),
            "until: expected Unix seconds, got \"99999999999999999999\"");
}

// One line as audit::toJsonLine writes it (the fields the store indexes, plus kind and
// direction).
std::string line(std::int64_t unix_s, const std::string& kind, const std::string& direction,
                 bool allow, const std::string& layer, const std::string& reason,
                 const std::string& caller, const std::string& target = kBackend) {
  return json{{"time_unix_us", unix_s * 1'000'000},
              {"event", kind},
              {"direction", direction},
              {"decision", allow ? "allow" : "deny"},
              {"layer", layer},
              {"reason", reason},
              {"caller", caller},
              {"target", target}}
      .dump();
}

class AuditStatsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
    const std::int64_t t = kNow;
    std::vector<AuditLine> lines = {
        {1, line(t + 5, "request", "ingress", true, "rbac", "allowed", kReport)},
        {2, line(t + 10, "request", "ingress", false, "rbac", "no_matching_rule", kReport)},
        {3, line(t + 70, "request", "ingress", true, "rbac", "allowed", kReport)},
        {4, line(t + 75, "request", "ingress", false, "risk", "risk_too_high", kMenus)},
        // A refused handshake with no identity: transport layer, caller "".
        {5, line(t + 130, "handshake", "ingress", false, "transport", "handshake_failed", "")},
        {6, line(t + 131, "handshake", "ingress", false, "transport", "peer_not_allowed", kMenus)},
        // The caller's sidecar audits the same call as egress: not counted twice.
        {7, line(t + 5, "request", "egress", true, "rbac", "allowed", kReport)},
        // Outside the range, and a line that is not JSON at all.
        {8, line(t + 180, "request", "ingress", true, "rbac", "allowed", kReport)},
        {9, line(t - 1, "request", "ingress", true, "rbac", "allowed", kReport)},
        {10, "not json"},
        // A layer name this server does not know is still counted under its own name.
        {11, line(t + 20, "request", "ingress", false, "quota", "over_quota", kReport)},
    };
    ASSERT_TRUE(store_->insertAuditEvents("spiffe://example.org/sidecar", lines).ok());
  }

  AuditStatsRange range() const { return AuditStatsRange{kNow, kNow + 180, 60, 3}; }

  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditStatsStoreTest, SqlAggregatesMatchTheEvents) {
  auto stats = store_->auditStats(storeQueryFor(range()));
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  std::vector<std::tuple<std::int64_t, std::string, std::string, std::uint64_t>> counts;
  for (const auto& c : stats->counts) counts.emplace_back(c.bucket, c.decision, c.layer, c.count);
  EXPECT_EQ(counts, (decltype(counts){{0, "allow", "rbac", 1},
                                      {0, "deny", "quota", 1},
                                      {0, "deny", "rbac", 1},
                                      {1, "allow", "rbac", 1},
                                      {1, "deny", "risk", 1},
                                      {2, "deny", "transport", 2}}));
  std::vector<std::pair<std::string, std::uint64_t>> reasons;
  for (const auto& r : stats->deny_reasons) reasons.emplace_back(r.reason, r.count);
  EXPECT_EQ(reasons, (decltype(reasons){{"handshake_failed", 1}, {"no_matching_rule", 1},
                                        {"over_quota", 1}, {"peer_not_allowed", 1},
                                        {"risk_too_high", 1}}));
  // Busiest pair first; the newest event of a pair gives last_decision and last_reason.
  ASSERT_EQ(stats->edges.size(), 3u);
  EXPECT_EQ(stats->edges[0].caller, kReport);
  EXPECT_EQ(stats->edges[0].allow, 2u);
  EXPECT_EQ(stats->edges[0].deny, 2u);
  EXPECT_EQ(stats->edges[0].last_time_unix_us, (kNow + 70) * 1'000'000);
  EXPECT_EQ(stats->edges[0].last_decision, "allow");
  EXPECT_EQ(stats->edges[0].last_reason, "allowed");
  EXPECT_EQ(stats->edges[1].caller, kMenus);
  EXPECT_EQ(stats->edges[1].deny, 2u);
  EXPECT_EQ(stats->edges[1].last_reason, "peer_not_allowed");
  EXPECT_EQ(stats->edges[2].caller, "");
  EXPECT_EQ(stats->edges[2].last_reason, "handshake_failed");
  EXPECT_FALSE(stats->edges_truncated);

  auto q = storeQueryFor(range());
  q.max_edges = 2;
  auto cut = store_->auditStats(q);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->edges.size(), 2u);
  EXPECT_TRUE(cut->edges_truncated);

  q.to_unix_us = q.from_unix_us;
  EXPECT_EQ(store_->auditStats(q).error().kind, StoreErrorKind::kInvalid);
  q = storeQueryFor(range());
  q.bucket_us = 0;
  EXPECT_EQ(store_->auditStats(q).error().kind, StoreErrorKind::kInvalid);
}

TEST_F(AuditStatsStoreTest, AnswerHasEveryBucketCanonicalLayersAndNames) {
  auto stats = store_->auditStats(storeQueryFor(range()));
  ASSERT_TRUE(stats.ok());
  const json out = auditStatsJson(range(), *stats, {{kReport, "report"}, {kBackend, "backend"}});
  EXPECT_EQ(out["since"], kNow);
  EXPECT_EQ(out["until"], kNow + 180);
  EXPECT_EQ(out["bucket_seconds"], 60);
  EXPECT_EQ(out["layers"], (json{"transport", "risk", "tags", "rbac", "token", "proxy", "quota"}));
  ASSERT_EQ(out["series"].size(), 3u);
  EXPECT_EQ(out["series"][0]["start"], kNow);
  EXPECT_EQ(out["series"][2]["start"], kNow + 120);
  EXPECT_EQ(out["series"][0]["allow"], 1);
  EXPECT_EQ(out["series"][0]["deny"], 2);
  EXPECT_EQ(out["series"][0]["deny_by_layer"],
            (json{{"transport", 0}, {"risk", 0}, {"tags", 0}, {"rbac", 1}, {"token", 0}, {"proxy", 0},
                  {"quota", 1}}));
  EXPECT_EQ(out["series"][2]["allow"], 0);
  EXPECT_EQ(out["series"][2]["deny_by_layer"]["transport"], 2);
  EXPECT_EQ(out["totals"]["allow"], 2);
  EXPECT_EQ(out["totals"]["deny"], 5);
  EXPECT_EQ(out["totals"]["deny_by_layer"]["risk"], 1);
  EXPECT_EQ(out["totals"]["deny_by_reason"]["peer_not_allowed"], 1);
  EXPECT_EQ(out["edges"][0]["caller_name"], "report");
  EXPECT_EQ(out["edges"][0]["target_name"], "backend");
  EXPECT_EQ(out["edges"][1]["caller_name"], "") << "menus is not in the registry given";
  EXPECT_EQ(out["edges"][2]["caller_id"], "");
  EXPECT_EQ(out["edges_truncated"], false);

  // An empty range still has every bucket, with zeros.
  const AuditStatsRange empty{kNow + 3600, kNow + 3600 + 300, 100, 3};
  auto none = store_->auditStats(storeQueryFor(empty));
  ASSERT_TRUE(none.ok());
  const json zero = auditStatsJson(empty, *none, {});
  ASSERT_EQ(zero["series"].size(), 3u);
  EXPECT_EQ(zero["series"][1]["start"], kNow + 3700);
  EXPECT_EQ(zero["series"][1]["deny"], 0);
  EXPECT_EQ(zero["totals"]["deny_by_reason"], json::object());
  EXPECT_EQ(zero["edges"], json::array());
  EXPECT_EQ(zero["layers"].size(), 6u);
}

}  // namespace
}  // namespace warden::controlplane
