// Test calls end to end (docs/control-plane.md#test-calls): an administrator asks the
// control plane to send a real request as a caller; the caller's own sidecar takes it on
// its long-poll, sends it through its egress to the target's sidecar, and the answer
// comes back with the verdict read from it, which agrees with the server's explain.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/control_plane_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* const kBackendPolicy = R"(version: "budget"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
)";

class TestCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.addAgent({{"name", "budget-backend"}, {"spiffe_id", "spiffe://example.org/budget-backend"}});
    cp.addAgent({{"name", "budget-report"}, {"spiffe_id", "spiffe://example.org/budget-report"}});
    cp.addAgent(
        {{"name", "budget-approval"}, {"spiffe_id", "spiffe://example.org/budget-approval"}});
    cp.addAgent({{"name", "employee-menus"}, {"spiffe_id", "spiffe://example.org/employee-menus"}});
    ASSERT_EQ(cp.putDocument("policies", "budget-backend", kBackendPolicy, "initial").status, 201);
    backend_ = cp.startSidecar(cp.sidecarConfig("budget-backend", true));
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(waitUntil([&] { return backend_->ready(); }, 10s)) << "no view reached the backend";

    auto caller = cp.sidecarConfig("budget-report", false);
    proxy::EgressRoute route;
    route.host = "budget-backend";
    route.address = {"127.0.0.1", backend_->ingressEndpoint().port};
    route.spiffe_id = "spiffe://example.org/budget-backend";
    caller.egress = proxy::EgressConfig{{"127.0.0.1", 0}, {route}};
    caller.control_plane->test_calls = true;
    caller.control_plane->poll_wait = 2s;
    report_ = cp.startSidecar(std::move(caller));
    ASSERT_NE(report_, nullptr);
  }

  HttpResponse testCall(const json& body, const std::string& who = "admin") {
    return cp.call(cp.credential(who), "POST", "/api/v1/test-calls", body.dump());
  }
  static json call(const std::string& caller, const std::string& target, const std::string& method,
                   const std::string& path) {
    return json{{"caller", caller}, {"target", target}, {"method", method}, {"path", path}};
  }

  ControlPlane cp;
  std::unique_ptr<proxy::Sidecar> backend_;
  std::unique_ptr<proxy::Sidecar> report_;
};

TEST_F(TestCallTest, TheCallersOwnSidecarSendsItAndTheVerdictMatchesExplain) {
  // The caller's sidecar starts polling right after start; the first call may race it.
  HttpResponse res;
  ASSERT_TRUE(waitUntil(
      [&] {
        res = testCall(call("budget-report", "budget-backend", "GET", "/budget/read"));
        return res.status == 200;
      },
      15s))
      << res.status << " " << res.body;
  json a = ControlPlane::json(res);
  EXPECT_EQ(a["status"], 200);
  EXPECT_EQ(a["decision"], "allow");
  EXPECT_EQ(a["caller"], "budget-report");
  EXPECT_EQ(a["target_spiffe_id"], "spiffe://example.org/budget-backend");
  EXPECT_GE(a["latency_ms"].get<double>(), 0.0);
  // The app behind the target saw the caller's verified identity: it was sent by the
  // caller's sidecar with the caller's SVID, not by the server.
  const json echoed = json::parse(a["body"].get<std::string>(), nullptr, false);
  EXPECT_EQ(echoed.value("caller_spiffe_id", ""), "spiffe://example.org/budget-report")
      << a["body"];

  for (const auto& [method, path, layer, reason] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"POST", "/budget/submit", "rbac", "no_matching_rule"},
           {"GET", "/budget/%2e%2e/read", "rbac", "no_matching_rule"}}) {
    res = testCall(call("budget-report", "budget-backend", method, path));
    ASSERT_EQ(res.status, 200) << res.body;
    a = ControlPlane::json(res);
    EXPECT_EQ(a["status"], 403) << a.dump();
    EXPECT_EQ(a["decision"], "deny") << a.dump();
    EXPECT_EQ(a["layer"], layer) << a.dump();
    EXPECT_EQ(a["reason"], reason) << a.dump();
    // What If says the same for the same request.
    auto explained = ControlPlane::json(cp.admin(
        "POST", "/api/v1/explain", call("budget-report", "budget-backend", method, path).dump()));
    EXPECT_EQ(explained["decision"], "deny") << explained.dump();
    EXPECT_EQ(explained["layer"], layer) << explained.dump();
    EXPECT_EQ(explained["reason"], reason) << explained.dump();
    // The denial was audited by the target's sidecar and shipped: auditors see the call.
    const std::string request_id = a["request_id"].get<std::string>();
    ASSERT_FALSE(request_id.empty());
    EXPECT_TRUE(waitUntil(
        [&] {
          auto events =
              ControlPlane::json(cp.admin("GET", "/api/v1/audit/events?request_id=" + request_id));
          return events.contains("events") && !events["events"].empty();
        },
        10s))
        << "the test call's denial was not in the audit store";
  }
}

TEST_F(TestCallTest, OnlyAdministratorsMaySendThem) {
  for (const char* who : {"viewer", "developer"}) {
    auto res = testCall(call("budget-report", "budget-backend", "GET", "/budget/read"), who);
    EXPECT_EQ(res.status, 403) << who << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res).value("error", ""), "forbidden") << who;
  }
  // A sidecar may not either (it would send calls as another agent).
  auto res =
      testCall(call("budget-report", "budget-backend", "GET", "/budget/read"), "budget-approval");
  EXPECT_EQ(res.status, 403) << res.body;
}

TEST_F(TestCallTest, WithoutARouteTheSidecarSaysSoAndWithoutASidecarTheServerDoes) {
  HttpResponse res;
  // No route from budget-report to employee-menus: the app could not call it either.
  ASSERT_TRUE(waitUntil(
      [&] {
        res = testCall(call("budget-report", "employee-menus", "GET", "/a2a/status"));
        return res.status != 504;
      },
      15s))
      << res.body;
  EXPECT_EQ(res.status, 502) << res.body;
  json e = ControlPlane::json(res);
  EXPECT_EQ(e["error"], "test_call_failed");
  EXPECT_EQ(e["layer"], "control_plane");
  EXPECT_NE(e.value("reason", "").find("no egress route to spiffe://example.org/employee-menus"),
            std::string::npos)
      << res.body;
  // budget-approval has no sidecar taking test calls: refused after the pickup wait.
  const auto started = std::chrono::steady_clock::now();
  res = testCall(call("budget-approval", "budget-backend", "GET", "/budget/read"));
  EXPECT_EQ(res.status, 504) << res.body;
  EXPECT_EQ(ControlPlane::json(res).value("error", ""), "test_call_not_picked_up") << res.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 12s);
}

TEST_F(TestCallTest, BadRequestsNameTheField) {
  const std::vector<std::tuple<json, int, std::string>> cases = {
      {json{{"caller", "budget-report"}, {"target", "budget-backend"}, {"method", "GET"}}, 400,
       "path"},
      {call("budget-report", "budget-backend", "GET", "budget/read"), 400, "path"},
      {call("budget-report", "budget-backend", "GET", "/a b"), 400, "path"},
      {call("budget-report", "budget-backend", "GE T", "/"), 400, "method"},
      {call("budget-report", "budget-backend", "CONNECT", "/"), 400, "method"},
      {call("nobody", "budget-backend", "GET", "/"), 404, "caller"},
      {call("budget-report", "spiffe://example.org/nobody", "GET", "/"), 404, "target"},
      {json{{"caller", "budget-report"},
            {"target", "budget-backend"},
            {"method", "GET"},
            {"path", "/"},
            {"headers", {{"x", "y"}}}},
       400, "headers"},
      {json{{"caller", "budget-report"},
            {"target", "budget-backend"},
            {"method", "GET"},
            {"path", "/"},
            {"content_type", "text/plain"}},
       400, "content_type"},
  };
  for (const auto& [body, status, field] : cases) {
    auto res = testCall(body);
    EXPECT_EQ(res.status, status) << body.dump() << ": " << res.body;
    EXPECT_NE(ControlPlane::json(res).value("reason", "").find(field), std::string::npos)
        << body.dump() << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res).value("layer", ""), "control_plane") << res.body;
  }
}

// The sidecars' side of the protocol, spoken by hand: a call waits for its caller's
// sidecar, and only that sidecar may answer it.
TEST_F(TestCallTest, OnlyTheCallersSidecarTakesAndAnswersItsCalls) {
  HttpResponse admin_res;
  std::thread admin([&] {
    admin_res = testCall(call("budget-approval", "budget-backend", "GET", "/budget/read"));
  });
  // Another sidecar's poll does not see it.
  auto other =
      cp.call(cp.credential("employee-menus"), "GET", "/api/v1/sidecars/test-calls?wait=1");
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(ControlPlane::json(other)["calls"], json::array());
  auto taken =
      cp.call(cp.credential("budget-approval"), "GET", "/api/v1/sidecars/test-calls?wait=4");
  ASSERT_EQ(taken.status, 200) << taken.body;
  const json calls = ControlPlane::json(taken)["calls"];
  ASSERT_EQ(calls.size(), 1u) << taken.body;
  EXPECT_EQ(calls[0]["target"], "spiffe://example.org/budget-backend");
  EXPECT_EQ(calls[0]["path"], "/budget/read");
  const std::string id = calls[0]["id"];
  const std::string answer =
      R"({"status":418,"latency_ms":2.5,"body":"teapot","content_type":"text/plain"})";
  // Not employee-menus's call: unknown to it.
  auto wrong =
      cp.call(cp.credential("employee-menus"), "POST", "/api/v1/sidecars/test-calls/" + id, answer);
  EXPECT_EQ(wrong.status, 404) << wrong.body;
  // A malformed answer is refused and the call stays open.
  auto bad = cp.call(cp.credential("budget-approval"), "POST", "/api/v1/sidecars/test-calls/" + id,
                     R"({"status":99,"latency_ms":1,"body":""})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto good = cp.call(cp.credential("budget-approval"), "POST", "/api/v1/sidecars/test-calls/" + id,
                      answer);
  EXPECT_EQ(good.status, 204) << good.body;
  auto again = cp.call(cp.credential("budget-approval"), "POST",
                       "/api/v1/sidecars/test-calls/" + id, answer);
  EXPECT_EQ(again.status, 404) << "the call is gone once its answer was delivered: " << again.body;
  admin.join();
  ASSERT_EQ(admin_res.status, 200) << admin_res.body;
  const json a = ControlPlane::json(admin_res);
  EXPECT_EQ(a["status"], 418);
  EXPECT_EQ(a["body"], "teapot");
  EXPECT_EQ(a["decision"], "allow") << "an app's own error is not a Warden denial";
}

}  // namespace
}  // namespace warden::testing
