// Audit events shipped by sidecars: idempotent insert, indexing of the sidecar's JSON
// (docs/audit.md), filtered queries with a cursor, counting and retention.
#include <gtest/gtest.h>

#include "controlplane/audit_index.h"
#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

constexpr const char* kSidecarA = "spiffe://example.org/sidecar/a";
constexpr const char* kSidecarB = "spiffe://example.org/sidecar/b";
constexpr const char* kReport = "spiffe://example.org/agent/report";
constexpr const char* kMenus = "spiffe://example.org/agent/menus";
constexpr const char* kBackend = "spiffe://example.org/agent/backend";

// Shaped like audit::toJsonLine's output (field names and order of docs/audit.md).
std::string eventLine(int second, bool allow, const std::string& caller, const std::string& path,
                      const std::string& reason = "", const std::string& request_id = "") {
  char time[40];
  std::snprintf(time, sizeof time, "2026-01-01T00:00:%02d.000250Z", second);
  const std::string r = reason.empty() ? (allow ? "allowed" : "no_matching_rule") : reason;
  return std::string("{\"time\":\"") + time +
         "\",\"event\":\"request\",\"direction\":\"ingress\"," + "\"decision\":\"" +
         (allow ? "allow" : "deny") + "\",\"layer\":\"" + (allow ? "proxy" : "rbac") +
         "\",\"reason\":\"" + r + "\",\"status\":" + (allow ? "200" : "403") +
         ",\"request_id\":\"" + (request_id.empty() ? "req" + std::to_string(second) : request_id) +
         "\",\"caller\":\"" + caller + "\",\"target\":\"" + kBackend +
         "\",\"method\":\"GET\",\"path\":\"" + path +
         "\",\"rule_id\":\"r1\",\"policy_version\":\"7\",\"source\":\"127.0.0.1:5000\"," +
         "\"connection_id\":1,\"decision_latency_us\":3,\"upstream_status\":200," +
         "\"bytes_in\":0,\"bytes_out\":10,\"duration_us\":90}";
}

constexpr std::int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z in µs

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
  }

  std::vector<std::uint64_t> ids(const AuditQuery& q) {
    auto page = store_->queryAuditEvents(q);
    EXPECT_TRUE(page.ok()) << (page.ok() ? "" : page.error().message);
    std::vector<std::uint64_t> out;
    if (page.ok()) {
      for (const auto& row : page->rows) out.push_back(row.id);
    }
    return out;
  }

  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditStoreTest, InsertIsIdempotentPerSourceAndSeqAndSurvivesReopen) {
  auto first = store_->insertAuditEvents(
      kSidecarA, {{1, eventLine(1, true, kReport, "/a")}, {2, eventLine(2, true, kReport, "/b")}});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 2u);
  // A re-sent batch overlapping the first one, and a duplicate inside the batch.
  auto again = store_->insertAuditEvents(kSidecarA, {{2, eventLine(2, true, kReport, "/b")},
                                                     {3, eventLine(3, true, kReport, "/c")},
                                                     {3, eventLine(3, true, kReport, "/c")}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1u);
  // The same seq from another sidecar is another event.
  EXPECT_EQ(*store_->insertAuditEvents(kSidecarB, {{1, eventLine(1, false, kMenus, "/a")}}), 1u);
  EXPECT_EQ(*store_->countAuditEvents({}), 4u);

  store_.reset();
  store_ = testing::openStore(dir_.db(), clock_);
  ASSERT_TRUE(store_);
  EXPECT_EQ(*store_->countAuditEvents({}), 4u);
  EXPECT_EQ(*store_->insertAuditEvents(kSidecarA, {{1, eventLine(1, true, kReport, "/a")}}), 0u);
  auto page = store_->queryAuditEvents({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 4u);
  EXPECT_EQ(page->rows[0].source, kSidecarA);
  EXPECT_EQ(page->rows[0].json_line, eventLine(1, true, kReport, "/a"));  // stored verbatim
  EXPECT_FALSE(page->next_after_id);
}

TEST_F(AuditStoreTest, InvalidBatchesWriteNothing) {
  EXPECT_EQ(store_->insertAuditEvents("", {{1, "{}"}}).error().kind, StoreErrorKind::kInvalid);
  auto too_big_seq =
      store_->insertAuditEvents(kSidecarA, {{1, "{}"}, {std::uint64_t{1} << 63, "{}"}});
  EXPECT_EQ(too_big_seq.error().kind, StoreErrorKind::kInvalid);
  EXPECT_EQ(store_->insertAuditEvents(kSidecarA, {{1, ""}}).error().kind, StoreErrorKind::kInvalid);
  EXPECT_EQ(*store_->countAuditEvents({}), 0u);
  EXPECT_EQ(*store_->insertAuditEvents(kSidecarA, {}), 0u);
}

TEST_F(AuditStoreTest, EveryFilterSelectsItsRows) {
  ASSERT_TRUE(store_
                  ->insertAuditEvents(
                      kSidecarA,
                      {
                          {1, eventLine(1, true, kReport, "/reports/2025")},               // id 1
                          {2, eventLine(2, false, kMenus, "/reports/2026")},               // id 2
                          {3, eventLine(3, true, kMenus, "/menus/today")},                 // id 3
                          {4, eventLine(4, false, kReport, "/Reports/x", "rule_denied")},  // 4
                          {5, eventLine(5, true, kReport, "/a%b_c", "", "abc123")},        // id 5
                      })
                  .ok());
  AuditQuery q;
  q.caller = kMenus;
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{2, 3}));
  q = {};
  q.target = kBackend;
  EXPECT_EQ(ids(q).size(), 5u);
  q.target = kReport;
  EXPECT_TRUE(ids(q).empty());
  q = {};
  q.decision = "deny";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{2, 4}));
  q = {};
  q.layer = "proxy";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{1, 3, 5}));
  q = {};
  q.reason = "rule_denied";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{4}));
  q = {};
  q.request_id = "abc123";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{5}));
  q = {};
  q.path_contains = "/reports/";  // case-sensitive: not /Reports/x
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{1, 2}));
  q.path_contains = "%b_";  // LIKE metacharacters are plain characters here
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{5}));
  q.path_contains = "_";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{5}));
  q = {};
  q.from_unix_us = kT0 + 2'000'250;  // the time field's microseconds are honoured
  q.to_unix_us = kT0 + 4'000'250;    // exclusive
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{2, 3}));
  q = {};
  q.caller = kReport;
  q.decision = "allow";
  q.path_contains = "/reports";
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(*store_->countAuditEvents(q), 1u);
  q = {};
  q.decision = "allow";
  EXPECT_EQ(*store_->countAuditEvents(q), 3u);
}

TEST_F(AuditStoreTest, CursorPagesThroughEverythingOnce) {
  std::vector<AuditLine> lines;
  for (int i = 1; i <= 25; ++i) {
    lines.push_back({static_cast<std::uint64_t>(i), eventLine(i, i % 2 == 0, kReport, "/p")});
  }
  ASSERT_TRUE(store_->insertAuditEvents(kSidecarA, lines).ok());

  AuditQuery q;
  q.limit = 10;
  std::vector<std::uint64_t> seen;
  int pages = 0;
  for (;;) {
    auto page = store_->queryAuditEvents(q);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const auto& row : page->rows) seen.push_back(row.id);
    if (!page->next_after_id) break;
    EXPECT_EQ(*page->next_after_id, page->rows.back().id);
    q.after_id = *page->next_after_id;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);

  // Exactly a page's worth left: no further cursor.
  q = {};
  q.limit = 5;
  q.after_id = 20;
  auto last = store_->queryAuditEvents(q);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->rows.size(), 5u);
  EXPECT_FALSE(last->next_after_id);

  // Filters combine with the cursor; count ignores it.
  q = {};
  q.decision = "allow";
  q.limit = 5;
  auto allow1 = store_->queryAuditEvents(q);
  ASSERT_TRUE(allow1.ok());
  ASSERT_EQ(allow1->rows.size(), 5u);
  EXPECT_EQ(allow1->rows.back().id, 10u);
  q.after_id = *allow1->next_after_id;
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{12, 14, 16, 18, 20}));
  EXPECT_EQ(*store_->countAuditEvents(q), 12u);

  q = {};
  q.limit = 5000;  // capped at 1000
  EXPECT_EQ(ids(q).size(), 25u);
}

TEST_F(AuditStoreTest, PruneRemovesOlderEventsAndIdsAreNotReused) {
  std::vector<AuditLine> lines;
  for (int i = 1; i <= 10; ++i) {
    lines.push_back({static_cast<std::uint64_t>(i), eventLine(i, true, kReport, "/p")});
  }
  ASSERT_TRUE(store_->insertAuditEvents(kSidecarA, lines).ok());
  auto pruned = store_->pruneAuditEvents(kT0 + 6'000'000);  // events at seconds 1..5
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 5u);
  EXPECT_EQ(*store_->countAuditEvents({}), 5u);
  ASSERT_TRUE(store_->pruneAuditEvents(kT0 + 60'000'000).ok());  // everything
  ASSERT_TRUE(
      store_->insertAuditEvents(kSidecarA, {{11, eventLine(11, true, kReport, "/p")}}).ok());
  EXPECT_EQ(ids({}), (std::vector<std::uint64_t>{11}));  // a cursor at 10 stays valid
}

TEST_F(AuditStoreTest, UnparseableLinesAreKeptWithTheReceiveTime) {
  ASSERT_TRUE(store_->insertAuditEvents(kSidecarA, {{1, "not json"}, {2, "[1,2]"}}).ok());
  AuditQuery q;
  q.from_unix_us = clock_.now_us->load();
  q.to_unix_us = clock_.now_us->load() + 1;
  EXPECT_EQ(ids(q), (std::vector<std::uint64_t>{1, 2}));
}

TEST(AuditIndex, ReadsTheSidecarFields) {
  const AuditIndex ix = indexAuditLine(eventLine(7, false, kMenus, "/x", "", "rid"), 0);
  EXPECT_TRUE(ix.parsed);
  EXPECT_EQ(ix.time_unix_us, kT0 + 7'000'250);
  EXPECT_EQ(ix.decision, "deny");
  EXPECT_EQ(ix.layer, "rbac");
  EXPECT_EQ(ix.reason, "no_matching_rule");
  EXPECT_EQ(ix.caller, kMenus);
  EXPECT_EQ(ix.target, kBackend);
  EXPECT_EQ(ix.method, "GET");
  EXPECT_EQ(ix.path, "/x");
  EXPECT_EQ(ix.request_id, "rid");
  EXPECT_EQ(ix.status, 403);
}

TEST(AuditIndex, AcceptsStructNamesAndIgnoresWrongTypes) {
  const AuditIndex alt = indexAuditLine(
      R"({"time_unix_us":123,"caller_id":"c","target_id":"t","status":"200","path":7})", 99);
  EXPECT_EQ(alt.time_unix_us, 123);
  EXPECT_EQ(alt.caller, "c");
  EXPECT_EQ(alt.target, "t");
  EXPECT_EQ(alt.status, 0);
  EXPECT_EQ(alt.path, "");
  const AuditIndex bad = indexAuditLine("{\"time\":\"yesterday\"}", 99);
  EXPECT_TRUE(bad.parsed);
  EXPECT_EQ(bad.time_unix_us, 99);
  EXPECT_FALSE(indexAuditLine("nope", 5).parsed);
}

TEST(AuditIndex, Rfc3339Times) {
  EXPECT_EQ(parseRfc3339Micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339Micros("2026-11-24T13:59:25.010178Z"), 1795528765010178);
  EXPECT_EQ(parseRfc3339Micros("2026-11-24T14:59:25.010178+01:00"), 1795528765010178);
  EXPECT_EQ(parseRfc3339Micros("2026-11-24T13:59:25.5Z"), 1795528765500000);
  EXPECT_EQ(parseRfc3339Micros("2026-11-24T13:59:25.123456789Z"), 1795528765123456);
  for (const char* bad :
       {"", "2026-11-24", "2026-11-24T13:59:25", "2026-13-24T13:59:25Z", "2026-11-24T13:59:25.Z",
        "2026-11-24T13:59:25Zjunk", "2026-11-24 13:59:25Z"}) {
    EXPECT_FALSE(parseRfc3339Micros(bad)) << bad;
  }
}

}  // namespace
}  // namespace warden::controlplane
