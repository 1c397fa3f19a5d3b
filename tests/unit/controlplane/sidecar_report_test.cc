// Sidecar status reports on the server side: strict parsing with errors that name the
// field (sidecar_report.h), and the in-memory registry of the latest report per SPIFFE ID
// (sidecar_reports.h): one entry per identity, staleness after three intervals, expiry
// after a day, and the identity taken from the caller, never from the body.
#include <gtest/gtest.h>

#include <thread>

#include "controlplane/sidecar_report.h"
#include "controlplane/sidecar_reports.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

json validReport() {
  return json::parse(R"({
    "version": "0.1.0", "started_at": 1700000000, "interval_seconds": 15, "ready": true,
    "svid": {"spiffe_id": "spiffe://example.org/budget-backend", "not_after": 1700003600, "source": "files"},
    "bundles": [{"trust_domain": "example.org", "source": "files", "updated_at": 1700000000}],
    "jwks": [{"issuer": "https://idp.example", "ready": true, "keys": 2, "last_success": 1700000005}],
    "config": {"policy_version": "seed@v3", "governance_version": "g1", "generation": 9,
               "age_seconds": -1, "stale": false, "source": "live"},
    "control_plane": {"connected": true, "last_error": ""},
    "audit_shipping": {"shipped": 1, "backlog": 0, "failures": 0, "last_error": ""},
    "listeners": {"ingress": "127.0.0.1:8443"},
    "layers": {"transport": {"allow": 3, "deny": 1}}
  })");
}

std::string errorOf(const json& doc) {
  auto r = parseSidecarReport(doc.dump());
  return r.ok() ? std::string("(accepted)") : r.error().message;
}

TEST(SidecarReportTest, AcceptsAFullReportAsSent) {
  auto r = parseSidecarReport(validReport().dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->interval, std::chrono::seconds(15));
  EXPECT_EQ(r->started_at, 1700000000);
  EXPECT_EQ(r->document, validReport());
}

TEST(SidecarReportTest, DropsUnknownMembersAndTheBodysSpiffeId) {
  json doc = validReport();
  doc["spiffe_id"] = "spiffe://example.org/someone-else";
  doc["from_the_future"] = {{"x", 1}};
  doc["config"]["also_new"] = true;
  auto r = parseSidecarReport(doc.dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->document.contains("spiffe_id"));
  EXPECT_FALSE(r->document.contains("from_the_future"));
  EXPECT_FALSE(r->document["config"].contains("also_new"));
}

TEST(SidecarReportTest, RequiredMembers) {
  for (const char* key : {"version", "started_at", "interval_seconds"}) {
    json doc = validReport();
    doc.erase(key);
    EXPECT_EQ(errorOf(doc), std::string(key) + ": is required");
  }
  // Only the three: a minimal report is fine.
  EXPECT_EQ(errorOf(json{{"version", "0.1.0"}, {"started_at", 1}, {"interval_seconds", 1}}), "(accepted)");
}

TEST(SidecarReportTest, IntervalBounds) {
  for (int seconds : {1, 300}) {
    json doc = validReport();
    doc["interval_seconds"] = seconds;
    EXPECT_EQ(errorOf(doc), "(accepted)") << seconds;
  }
  for (int seconds : {0, 301}) {
    json doc = validReport();
    doc["interval_seconds"] = seconds;
    EXPECT_EQ(errorOf(doc), "interval_seconds: expected 1..300") << seconds;
  }
  json doc = validReport();
  doc["interval_seconds"] = -5;
  EXPECT_EQ(errorOf(doc), "interval_seconds: expected a non-negative integer");
}

TEST(SidecarReportTest, WrongTypesNameTheField) {
  auto with = [](const json::json_pointer& where, json value) {
    json doc = validReport();
    doc[where] = std::move(value);
    return errorOf(doc);
  };
  EXPECT_EQ(with(json::json_pointer("/version"), 1), "version: expected a string");
  EXPECT_EQ(with(json::json_pointer("/ready"), "yes"), "ready: expected true or false");
  EXPECT_EQ(with(json::json_pointer("/svid"), "x"), "svid: expected an object");
  EXPECT_EQ(with(json::json_pointer("/svid/not_after"), "tomorrow"), "svid.not_after: expected an integer");
  EXPECT_EQ(with(json::json_pointer("/config/generation"), -1),
            "config.generation: expected a non-negative integer");
  EXPECT_EQ(with(json::json_pointer("/bundles"), json::object()), "bundles: expected a list");
  EXPECT_EQ(with(json::json_pointer("/jwks/0/keys"), 1.5), "jwks[0].keys: expected a non-negative integer");
  EXPECT_EQ(with(json::json_pointer("/listeners/admin"), 9901), "listeners.admin: expected a string");
  EXPECT_EQ(with(json::json_pointer("/layers/rbac"), json{{"allow", 1}}), "layers.rbac.deny: is required");
}

TEST(SidecarReportTest, NotAJsonObjectOrTooLarge) {
  EXPECT_FALSE(parseSidecarReport("[1,2]").ok());
  EXPECT_FALSE(parseSidecarReport("{\"version\":").ok());
  EXPECT_FALSE(parseSidecarReport("").ok());
  // Duplicate keys would let a reader pick either value: refused.
  auto dup = parseSidecarReport(R"({"version":"a","version":"b","started_at":1,"interval_seconds":5})");
  EXPECT_FALSE(dup.ok());
  json big = validReport();
  big["padding"] = std::string(kMaxSidecarReportBytes, 'x');
  auto r = parseSidecarReport(big.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("larger than 65536 bytes"), std::string::npos);
}

SidecarReport reportWithInterval(int seconds, const std::string& policy = "p1") {
  json doc = validReport();
  doc["interval_seconds"] = seconds;
  doc["config"]["policy_version"] = policy;
  auto r = parseSidecarReport(doc.dump());
  EXPECT_TRUE(r.ok());
  return *r;
}

TEST(SidecarReportsTest, OneEntryPerSpiffeIdTheLatestWins) {
  SidecarReports reports;
  reports.record("spiffe://example.org/b", "b", reportWithInterval(15, "old"), 1000);
  reports.record("spiffe://example.org/a", "a", reportWithInterval(15), 1001);
  reports.record("spiffe://example.org/b", "b", reportWithInterval(15, "new"), 1002);
  const auto list = reports.list(1003);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].spiffe_id, "spiffe://example.org/a");
  EXPECT_EQ(list[1].spiffe_id, "spiffe://example.org/b");
  EXPECT_EQ(list[1].report.document["config"]["policy_version"], "new");
  EXPECT_EQ(list[1].received_at, 1002);
  EXPECT_EQ(list[1].ageSeconds(1003), 1);
}

TEST(SidecarReportsTest, StaleAfterThreeOfItsOwnIntervals) {
  SidecarReports reports;
  reports.record("spiffe://example.org/fast", "fast", reportWithInterval(5), 1000);
  reports.record("spiffe://example.org/slow", "slow", reportWithInterval(60), 1000);
  auto at = [&](std::int64_t now) {
    std::map<std::string, bool> stale;
    for (const auto& e : reports.list(now)) stale[e.agent] = e.stale(now);
    return stale;
  };
  EXPECT_EQ(at(1015), (std::map<std::string, bool>{{"fast", false}, {"slow", false}}));
  EXPECT_EQ(at(1016), (std::map<std::string, bool>{{"fast", true}, {"slow", false}}));
  EXPECT_EQ(at(1181), (std::map<std::string, bool>{{"fast", true}, {"slow", true}}));
  // A new report makes it fresh again.
  reports.record("spiffe://example.org/fast", "fast", reportWithInterval(5), 1181);
  EXPECT_EQ(at(1182)["fast"], false);
}

TEST(SidecarReportsTest, EntriesOlderThanADayAreDropped) {
  SidecarReports reports;
  reports.record("spiffe://example.org/gone", "gone", reportWithInterval(15), 1000);
  reports.record("spiffe://example.org/here", "here", reportWithInterval(15), 1000 + 3600);
  const std::int64_t day = 24 * 3600;
  EXPECT_EQ(reports.list(1000 + day).size(), 2u);
  const auto later = reports.list(1000 + day + 1);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].spiffe_id, "spiffe://example.org/here");
  // Dropped for good, not hidden: an earlier clock does not bring it back.
  EXPECT_EQ(reports.list(1000 + day).size(), 1u);
}

TEST(SidecarReportsTest, TheIdentityIsTheCallersNotTheBodys) {
  json doc = validReport();
  doc["spiffe_id"] = "spiffe://example.org/victim";
  auto parsed = parseSidecarReport(doc.dump());
  ASSERT_TRUE(parsed.ok());
  SidecarReports reports;
  reports.record("spiffe://example.org/budget-backend", "budget-backend", *parsed, 1000);
  const auto list = reports.list(1000);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].spiffe_id, "spiffe://example.org/budget-backend");
  EXPECT_FALSE(list[0].report.document.contains("spiffe_id"));
}

TEST(SidecarReportsTest, ConcurrentReportsKeepOneEntryEach) {
  SidecarReports reports;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        reports.record("spiffe://example.org/agent-" + std::to_string(i % 10), "a", reportWithInterval(15),
                       1000 + t);
        (void)reports.list(1000);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(reports.list(1010).size(), 10u);
}

}  // namespace
}  // namespace warden::controlplane
