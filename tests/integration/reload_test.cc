// Policy and credential changes while traffic flows (ARCHITECTURE.md §5): a new policy
// is compiled off the data plane and swapped atomically; each request uses the snapshot
// in force when it arrived; an invalid file is refused and the old policy stays;
// rotated certificates are picked up with no failed request.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

const char* const kReadDenied = R"(version: "seed-2"
allow:
  - id: spiffe://example.org/budget-report
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-everything-denied
        methods: ["*"]
        path: { prefix: / }
        action: deny
)";

const char* const kReportRemoved = R"(version: "seed-3"
allow:
  - id: spiffe://example.org/budget-approval
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
)";

// Replaces a file atomically, as config management tools and Kubernetes do.
void replaceFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  writeFile(std::filesystem::path(tmp).parent_path(), std::filesystem::path(tmp).filename(), text);
  std::filesystem::rename(tmp, path);
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class ReloadTest : public ::testing::Test {
 protected:
  std::string policyPath() { return mesh.dir.file("policy.yaml"); }
  int get(TestConnection& c, const std::string& path = "/budget/read") {
    if (!c.send(makeRequest("GET", path))) return -1;
    auto res = c.read();
    return res ? res->status : -1;
  }
  Mesh mesh;
};

TEST_F(ReloadTest, SecondRequestOnKeepAliveConnectionObeysNewPolicy) {
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(get(*c), 200);
  replaceFile(policyPath(), kReadDenied);
  ASSERT_TRUE(mesh.backend().reloadPolicy().ok());
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  ASSERT_TRUE(mesh.backendAudit().waitFor(2));
  const auto events = mesh.backendAudit().events();
  EXPECT_EQ(events[0].policy_version, "seed-1");
  EXPECT_EQ(events[1].policy_version, "seed-2");
  EXPECT_EQ(events[1].rule_id, "report-everything-denied");
  EXPECT_EQ(events[0].connection_id, events[1].connection_id);
}

TEST_F(ReloadTest, FileChangeIsPickedUpWithoutSignal) {
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(get(*c), 200);
  replaceFile(policyPath(), kReadDenied);  // the watcher polls every 100 ms in tests
  EXPECT_TRUE(eventually([&] { return get(*c) == 403; }));
}

TEST_F(ReloadTest, InvalidPolicyIsRefusedAndOldPolicyStays) {
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  replaceFile(policyPath(), "version: \"broken\"\nallow:\n  - id: not-a-spiffe-id\n");
  const auto st = mesh.backend().reloadPolicy();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("allow[0]"), std::string::npos) << st.message();
  EXPECT_EQ(get(*c), 200);
  // Readiness stays (the old policy is valid) but reports the rejected reload.
  EXPECT_TRUE(mesh.backend().ready());
  auto admin = TestConnection::plain(mesh.backend().adminEndpoint().port);
  ASSERT_TRUE(admin->send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = admin->read();
  ASSERT_TRUE(res);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["policy"]["version"], "seed-1");
  EXPECT_NE(j["policy"]["last_reload_error"].get<std::string>().find("allow[0]"),
            std::string::npos);
}

TEST_F(ReloadTest, CallerRemovedFromAllowListLosesOpenConnectionAndNewHandshakes) {
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(get(*c), 200);
  replaceFile(policyPath(), kReportRemoved);
  ASSERT_TRUE(mesh.backend().reloadPolicy().ok());
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["layer"], "transport");
  EXPECT_EQ(body["error"], "peer_not_allowed");
  EXPECT_TRUE(c->waitClosed());
  auto again = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  if (again) {
    again->send(makeRequest("GET", "/budget/read"));
    EXPECT_FALSE(again->read().has_value());
  }
}

TEST_F(ReloadTest, CertificatesRotatedMidLoadFailNoRequest) {
  proxy::EgressRoute route;
  route.host = "budget-backend";
  route.address = {"127.0.0.1", mesh.backend().ingressEndpoint().port};
  route.spiffe_id = kBackendId;
  auto egress = mesh.start(mesh.egressConfig(mesh.report, {route}));
  ASSERT_NE(egress, nullptr);
  const auto egress_port = egress->egressEndpoint().port;

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      // Half the clients reconnect every request so new handshakes happen throughout.
      std::unique_ptr<TestConnection> c;
      while (!stop.load()) {
        if (!c || t % 2 == 0) c = TestConnection::plain(egress_port);
        if (!c || !c->send(makeRequest("GET", "/budget/read"))) {
          ++failed;
          c.reset();
          continue;
        }
        auto res = c->read();
        if (res && res->status == 200) {
          ++ok;
        } else {
          ++failed;
          c.reset();
        }
      }
    });
  }
  // Rotate both sides' SVIDs several times, non-atomically (cert, then key): a reload
  // that sees a mismatched pair must be refused and the old credential kept.
  const auto start_serial = mesh.backendAudit().events().size();
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const Credential backend = mesh.ca.issue(kBackendId);
    const Credential report = mesh.ca.issue(kReportId);
    writeFile(mesh.dir.path(), "budget-backend.pem", backend.certPem());
    writeFile(mesh.dir.path(), "budget-report.pem", report.certPem());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    writeFile(mesh.dir.path(), "budget-backend.key", backend.keyPem());
    writeFile(mesh.dir.path(), "budget-report.key", report.keyPem());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 50);
  EXPECT_EQ(failed.load(), 0);
  (void)start_serial;
  // Both sides really moved to a new certificate: reloads were counted.
  EXPECT_NE(mesh.backend().metrics().render().find(
                "warden_reloads_total{result=\"ok\",what=\"identity\"}"),
            std::string::npos);
  EXPECT_NE(egress->metrics().render().find(
                "warden_reloads_total{result=\"ok\",what=\"identity\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace warden::testing
