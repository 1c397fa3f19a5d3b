// The control plane governing real sidecars (issue 5): policies and governance written
// through the API reach every connected sidecar by long-poll and are enforced there;
// sidecars keep enforcing the last good view when the server is gone (fail static) and
// ship every audit event once it is back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/control_plane_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* const kBackendPolicy = R"(version: "budget"
target: spiffe://example.org/budget-backend
allow:
  - trust_domain: example.org
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: report-stream
        methods: [GET]
        path: { prefix: /stream }
        action: allow
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: approval-submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
  - match: { id: spiffe://example.org/employee-menus }
    rules:
      - id: menus-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
)";

class ControlPlaneMeshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.addAgent({{"name", "budget-backend"}, {"spiffe_id", "spiffe://example.org/budget-backend"}});
    cp.addAgent({{"name", "budget-report"}, {"spiffe_id", "spiffe://example.org/budget-report"},
                 {"risk", "low"}, {"tags", {{"team", "finance"}}}});
    cp.addAgent({{"name", "budget-approval"}, {"spiffe_id", "spiffe://example.org/budget-approval"},
                 {"risk", "low"}, {"tags", {{"team", "finance"}}}});
    cp.addAgent({{"name", "employee-menus"}, {"spiffe_id", "spiffe://example.org/employee-menus"},
                 {"risk", "low"}});
    ASSERT_EQ(cp.putDocument("policies", "budget-backend", kBackendPolicy, "initial").status, 201);
    ASSERT_EQ(cp.putDocument("governance", "budget-backend",
                             "max_risk: medium\nrequired_tags: {team: finance}\n", "initial").status,
              201);
    backend_ = cp.startSidecar(cp.sidecarConfig("budget-backend", true));
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(waitUntil([&] { return backend_->ready(); }, 10s)) << "no view reached the sidecar";
  }

  HttpResponse callBackend(const std::string& who, const std::string& method, const std::string& path) {
    auto c = TestConnection::tls(backend_->ingressEndpoint().port, cp.credential(who));
    EXPECT_NE(c, nullptr);
    if (!c) return {};
    EXPECT_TRUE(c->send(makeRequest(method, path, "", method == "POST" ? "{}" : "")));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }
  static std::string reason(const HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("error", "");
  }
  // Waits until a call's outcome is `status` (bounded): views arrive by long-poll.
  bool eventually(const std::string& who, const std::string& method, const std::string& path,
                  int status) {
    return waitUntil([&] { return callBackend(who, method, path).status == status; }, 3s);
  }

  ControlPlane cp;
  std::unique_ptr<proxy::Sidecar> backend_;
};

TEST_F(ControlPlaneMeshTest, SeedGovernanceCasesThroughRealSidecars) {
  EXPECT_EQ(callBackend("budget-report", "GET", "/budget/read").status, 200);
  // budget-report with risk high -> 403 risk_too_high; reset to low -> 200.
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"high","comment":"SOC"})").status, 200);
  ASSERT_TRUE(eventually("budget-report", "GET", "/budget/read", 403));
  EXPECT_EQ(reason(callBackend("budget-report", "GET", "/budget/read")), "risk_too_high");
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"low"})").status, 200);
  EXPECT_TRUE(eventually("budget-report", "GET", "/budget/read", 200));
  // budget-approval with risk high -> POST /budget/submit 403.
  EXPECT_EQ(callBackend("budget-approval", "POST", "/budget/submit").status, 200);
  ASSERT_EQ(cp.admin("PUT", "/api/v1/agents/budget-approval/risk", R"({"risk":"high"})").status, 200);
  ASSERT_TRUE(eventually("budget-approval", "POST", "/budget/submit", 403));
  EXPECT_EQ(reason(callBackend("budget-approval", "POST", "/budget/submit")), "risk_too_high");
  // An agent with no tag calling the finance target -> 403 tag_mismatch.
  const auto menus = callBackend("employee-menus", "GET", "/budget/read");
  EXPECT_EQ(menus.status, 403);
  EXPECT_EQ(reason(menus), "tag_mismatch");
}

}  // namespace
}  // namespace warden::testing
