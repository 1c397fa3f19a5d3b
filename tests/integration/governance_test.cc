// Layers 4a and 4b in the sidecar (issue 5), in standalone mode: the target's governance
// document names its maximum risk and required tags and every known agent's state, risk
// and tags. Checked in the canonical order of ARCHITECTURE.md §2 after layer 1 and before
// layer 2; the kill switch bites on already-open connections and on a stream in flight.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string governanceDoc(const std::string& report_state, const std::string& report_risk,
                          const std::string& approval_risk = "low") {
  return R"(version: "gov-)" + report_state + "-" + report_risk + R"("
target:
  max_risk: medium
  required_tags: {team: finance}
agents:
  - spiffe_id: spiffe://example.org/budget-report
    name: budget-report
    state: )" + report_state + R"(
    risk: )" + report_risk + R"(
    tags: {team: Finance}
  - spiffe_id: spiffe://example.org/budget-approval
    name: budget-approval
    risk: )" + approval_risk + R"(
    tags: {team: finance}
)";
}

// The seed policy, with the untagged employee-menus admitted by layers 1 and 2 so that
// only layer 4b can refuse it.
const char* const kPolicy = R"(version: "gov-policy-1"
target: spiffe://example.org/budget-backend
allow:
  - trust_domain: example.org
callers:
  - match: { trust_domain: example.org }
    rules:
      - id: read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
      - id: stream
        methods: [GET]
        path: { prefix: /stream }
        action: allow
)";

class GovernanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gov_path_ = writeFile(mesh.dir.path(), "governance.yaml", governanceDoc("enabled", "low"));
    auto cfg = mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kPolicy));
    cfg.ingress->governance_path = gov_path_;
    backend_ = mesh.start(cfg);
    ASSERT_NE(backend_, nullptr);
    audit_.attach(*backend_);
  }

  void setGovernance(const std::string& text) {
    writeFile(mesh.dir.path(), "governance.yaml", text);
    ASSERT_TRUE(backend_->reloadPolicy().ok());
  }

  static std::string error(const HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("error", "");
  }
  static std::string layer(const HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("layer", "");
  }

  HttpResponse call(const ClientCredential& who, const std::string& method,
                    const std::string& path) {
    auto c = TestConnection::tls(backend_->ingressEndpoint().port, who);
    EXPECT_NE(c, nullptr);
    EXPECT_TRUE(c->send(makeRequest(method, path, "", method == "POST" ? "{}" : "")));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  Mesh mesh;
  std::string gov_path_;
  AuditRecorder audit_;  // declared before the sidecar: it must outlive it
  std::unique_ptr<proxy::Sidecar> backend_;
};

// The seed's governance cases (issue 5, "Tests that must exist").
TEST_F(GovernanceTest, RiskHighDeniesAndLowRestores) {
  EXPECT_EQ(call(mesh.report, "GET", "/budget/read").status, 200);
  setGovernance(governanceDoc("enabled", "high"));
  const auto denied = call(mesh.report, "GET", "/budget/read");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(error(denied), "risk_too_high");
  EXPECT_EQ(layer(denied), "risk");
  setGovernance(governanceDoc("enabled", "low"));
  EXPECT_EQ(call(mesh.report, "GET", "/budget/read").status, 200);
}

TEST_F(GovernanceTest, ApprovalWithHighRiskCannotSubmit) {
  EXPECT_EQ(call(mesh.approval, "POST", "/budget/submit").status, 200);
  setGovernance(governanceDoc("enabled", "low", "high"));
  const auto denied = call(mesh.approval, "POST", "/budget/submit");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(error(denied), "risk_too_high");
}

TEST_F(GovernanceTest, UntaggedCallerGetsTagMismatchAndUnknownCallersAreGoverned) {
  // employee-menus is not in the governance document: its assumed risk (high) is over
  // the target's maximum, so it is refused before tags are even looked at.
  const auto unknown = call(mesh.menus, "GET", "/budget/read");
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(error(unknown), "risk_unknown");
  // Registered, low risk, but without the finance tag: layer 4b.
  setGovernance(governanceDoc("enabled", "low") + R"(  - spiffe_id: spiffe://example.org/employee-menus
    name: employee-menus
    risk: low
)");
  const auto untagged = call(mesh.menus, "GET", "/budget/read");
  EXPECT_EQ(untagged.status, 403);
  EXPECT_EQ(error(untagged), "tag_mismatch");
  EXPECT_EQ(layer(untagged), "tags");
}

TEST_F(GovernanceTest, DisabledBitesOnAnAlreadyOpenConnectionWithinOneSecond) {
  auto c = TestConnection::tls(backend_->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto first = c->read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  // The admin disables the agent; the file watcher (polling) or SIGHUP picks it up.
  const auto changed = Clock::now();
  writeFile(mesh.dir.path(), "governance.yaml", governanceDoc("disabled", "low"));
  std::optional<HttpResponse> res;
  for (int i = 0; i < 40; ++i) {  // bounded: 40 x 50 ms
    ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
    res = c->read();
    ASSERT_TRUE(res) << c->lastError();
    if (res->status != 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LT(Clock::now() - changed, std::chrono::seconds(1));
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(error(*res), "agent_disabled");
  // Quarantine is its own reason.
  setGovernance(governanceDoc("quarantined", "low"));
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto q = c->read();
  ASSERT_TRUE(q);
  EXPECT_EQ(error(*q), "agent_quarantined");
}

TEST_F(GovernanceTest, KillSwitchCutsALongLivedStream) {
  auto c = TestConnection::tls(backend_->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  // 100 events 100 ms apart: 10 s if nobody intervenes.
  ASSERT_TRUE(c->send(makeRequest("GET", "/stream/sse?events=100&interval_ms=100")));
  int events = 0;
  bool disabled = false;
  Clock::time_point disabled_at;
  std::string pending;
  auto res = c->readStreaming(
      [&](std::string_view piece) {
        pending.append(piece);
        for (auto pos = pending.find("\n\n"); pos != std::string::npos;
             pos = pending.find("\n\n")) {
          ++events;
          pending.erase(0, pos + 2);
        }
        if (events >= 3 && !disabled) {
          disabled = true;
          disabled_at = Clock::now();
          setGovernance(governanceDoc("disabled", "low"));
        }
        return true;
      },
      std::chrono::seconds(5));
  // The body never completes: the sidecar closed the connection mid-stream.
  EXPECT_FALSE(res);
  ASSERT_TRUE(disabled);
  // The stream ended long before its 100 events: the sidecar closed it.
  EXPECT_LT(events, 20);
  EXPECT_LT(Clock::now() - disabled_at, std::chrono::seconds(1));
  EXPECT_NE(backend_->metrics().render().find("warden_connections_revoked_total 1"),
            std::string::npos);
}

TEST_F(GovernanceTest, AuditRecordsTheCallersGovernanceFacts) {
  setGovernance(governanceDoc("enabled", "high"));
  (void)call(mesh.report, "GET", "/budget/read");
  ASSERT_TRUE(audit_.waitFor(1));
  const auto e = audit_.events().back();
  EXPECT_EQ(e.reason, "risk_too_high");
  EXPECT_EQ(e.caller_name, "budget-report");
  EXPECT_EQ(e.caller_risk, "high");
  EXPECT_EQ(e.caller_state, "enabled");
  EXPECT_EQ(e.caller_tags, "team=Finance");
  EXPECT_EQ(e.governance_version, "gov-enabled-high");
  const auto line = json::parse(audit::toJsonLine(e));
  EXPECT_EQ(line["governance"]["risk"], "high");
  EXPECT_EQ(line["governance"]["agent"], "budget-report");
}

TEST_F(GovernanceTest, InvalidGovernanceIsRefusedAndTheOldOneStays) {
  writeFile(mesh.dir.path(), "governance.yaml", "target: {max_risk: extreme}\n");
  auto st = backend_->reloadPolicy();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("target.max_risk"), std::string::npos) << st.message();
  EXPECT_EQ(call(mesh.report, "GET", "/budget/read").status, 200);
}

}  // namespace
}  // namespace warden::testing
