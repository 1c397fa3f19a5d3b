// The sidecar's local admin listener: health, readiness, metrics and config dump; read-only.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

class AdminTest : public ::testing::Test {
 protected:
  HttpResponse get(const std::string& path, const std::string& method = "GET") {
    auto c = TestConnection::plain(mesh.backend().adminEndpoint().port);
    EXPECT_NE(c, nullptr);
    EXPECT_TRUE(c->send(method + " " + path + " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n"));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }
  Mesh mesh;
};

TEST_F(AdminTest, HealthAndReadiness) {
  EXPECT_EQ(get("/healthz").status, 200);
  const auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 200);
  const auto j = nlohmann::json::parse(ready.body);
  EXPECT_TRUE(j["ready"].get<bool>());
  EXPECT_EQ(j["identity"]["spiffe_id"], kBackendId);
  EXPECT_TRUE(j["identity"]["ok"].get<bool>());
  EXPECT_EQ(j["policy"]["version"], "seed-1");
}

TEST_F(AdminTest, MetricsCountDecisionsByLayerAndReason) {
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  ASSERT_TRUE(c->read());
  ASSERT_TRUE(c->send(makeRequest("DELETE", "/budget/admin")));
  ASSERT_TRUE(c->read());
  // Decisions are counted once the exchange has finished (they carry its duration), which
  // may be just after the client read its response: wait for the counters, bounded.
  const std::vector<std::string> expected = {
      "warden_decisions_total{decision=\"allow\",direction=\"ingress\",layer=\"rbac\","
      "reason=\"allowed\"} 1",
      "warden_decisions_total{decision=\"deny\",direction=\"ingress\",layer=\"rbac\","
      "reason=\"rule_denied\"} 1",
      "warden_handshakes_total{direction=\"ingress\",result=\"ok\"} 1",
      "warden_policy_info{version=\"seed-1\"} 1",
      "warden_decision_latency_microseconds_count 2",
      "warden_audit_events_dropped_total 0",
      "warden_audit_events_written_total 2"};
  std::string body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto missing = [&] {
    for (const auto& line : expected) {
      if (body.find(line) == std::string::npos) return line;
    }
    return std::string();
  };
  do {
    const auto m = get("/metrics");
    EXPECT_EQ(m.status, 200);
    body = m.body;
    if (missing().empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(missing(), "") << body;
}

TEST_F(AdminTest, ConfigDumpShowsEffectiveConfigAndNoSecrets) {
  const auto dump = get("/config_dump");
  EXPECT_EQ(dump.status, 200);
  EXPECT_EQ(dump.body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(dump.body.find("BEGIN"), std::string::npos);
  const auto j = nlohmann::json::parse(dump.body);
  EXPECT_EQ(j["identity"]["spiffe_id"], kBackendId);
  EXPECT_EQ(j["policy"]["version"], "seed-1");
  EXPECT_EQ(j["policy"]["allow"][0]["id"], kReportId);
  EXPECT_EQ(j["policy"]["callers"][0]["rules"][0]["id"], "report-read");
}

TEST_F(AdminTest, AdminIsReadOnlyAndUnknownPathsAre404) {
  EXPECT_EQ(get("/config_dump", "POST").status, 405);
  EXPECT_EQ(get("/readyz", "PUT").status, 405);
  EXPECT_EQ(get("/quitquitquit").status, 404);
}

}  // namespace
}  // namespace warden::testing
