// The sidecar's status report (proxy/status_report.h) and its `control_plane.status_interval`
// setting: the report carries the /readyz facts under the names the control plane checks,
// and the interval is validated with an error naming the field.
#include <gtest/gtest.h>

#include "common/version.h"
#include "proxy/sidecar_config.h"
#include "proxy/status_report.h"

namespace warden::proxy {
namespace {

using nlohmann::json;

std::string configWith(const std::string& extra) {
  return "identity:\n  cert: svid.pem\n  key: svid.key\n  bundles: { example.org: bundle.pem }\n"
         "ingress:\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:9\n"
         "control_plane:\n  url: https://127.0.0.1:8443\n  server_id: spiffe://example.org/warden/server\n"
         "  state_dir: state\n" +
         extra;
}

std::string intervalError(const std::string& value) {
  auto c = parseSidecarConfig(configWith("  status_interval: " + value + "\n"), "/etc/warden/sidecar.yaml");
  return c.ok() ? std::string("(accepted)") : c.error().message;
}

TEST(StatusIntervalConfigTest, DefaultsToFifteenSeconds) {
  auto c = parseSidecarConfig(configWith(""), "/etc/warden/sidecar.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->control_plane->status_interval, std::chrono::seconds(15));
}

TEST(StatusIntervalConfigTest, AcceptsTheBounds) {
  for (const auto& [text, seconds] : {std::pair<std::string, int>{"1s", 1}, {"300s", 300}, {"2m", 120}}) {
    auto c = parseSidecarConfig(configWith("  status_interval: " + text + "\n"), "/etc/warden/sidecar.yaml");
    ASSERT_TRUE(c.ok()) << text << ": " << c.error().message;
    EXPECT_EQ(c->control_plane->status_interval, std::chrono::seconds(seconds)) << text;
  }
}

TEST(StatusIntervalConfigTest, OutOfBoundsNamesFileLineAndField) {
  EXPECT_EQ(intervalError("0s"),
            "/etc/warden/sidecar.yaml:12:20: control_plane.status_interval: must be between 1000ms and 300000ms");
  EXPECT_NE(intervalError("301s").find("control_plane.status_interval: must be between 1000ms and 300000ms"),
            std::string::npos);
  EXPECT_NE(intervalError("1500ms").find("control_plane.status_interval: must be whole seconds"),
            std::string::npos);
  EXPECT_NE(intervalError("soon").find("control_plane.status_interval: expected a duration"),
            std::string::npos);
}

json readyz() {
  return json::parse(R"json({
    "ready": true,
    "identity": {"ok": true, "source": "files", "spiffe_id": "spiffe://example.org/budget-backend",
                 "expires_unix": 1700003600, "trust_domains": ["example.org", "partner.example"],
                 "loaded_unix": 1700000000},
    "policy": {"ok": true, "version": "seed-1 (v3)", "loaded_unix": 1700000001.5},
    "governance": {"version": "g7", "agents": 2, "age_seconds": 40, "max_staleness_seconds": 30},
    "token": {"ok": true, "issuers": [
      {"issuer": "https://idp.example", "ready": true, "keys": 2, "source": "https://idp.example/jwks",
       "last_success_unix": 1700000005},
      {"issuer": "https://down.example", "ready": false, "keys": 0, "source": "x",
       "last_success_unix": 0, "last_error": "connection refused"}]},
    "control_plane": {"ok": true, "connected": true, "generation": 9, "confirmed_unix": 1700000010,
                      "age_seconds": 40, "views_applied": 1, "views_rejected": 0, "last_error": "",
                      "source": "live"},
    "audit_shipping": {"shipped": 5, "backlog": 0, "failures": 0, "last_error": ""}
  })json");
}

TEST(StatusReportTest, CarriesTheReadyzFactsUnderTheReportNames) {
  StatusReportFacts facts;
  facts.started_at = 1699999990;
  facts.interval = std::chrono::seconds(5);
  facts.listeners = {{"ingress", "127.0.0.1:8443"}, {"admin", "127.0.0.1:9901"}};
  facts.decisions["transport"] = {7, 1};
  facts.decisions["rbac"] = {6, 2};
  const json r = buildStatusReport(readyz(), facts);
  EXPECT_EQ(r["version"], std::string(wardenVersion()));
  EXPECT_EQ(r["started_at"], 1699999990);
  EXPECT_EQ(r["interval_seconds"], 5);
  EXPECT_EQ(r["ready"], true);
  EXPECT_EQ(r["svid"], (json{{"spiffe_id", "spiffe://example.org/budget-backend"},
                             {"not_after", 1700003600},
                             {"source", "files"}}));
  ASSERT_EQ(r["bundles"].size(), 2u);
  EXPECT_EQ(r["bundles"][1],
            (json{{"trust_domain", "partner.example"}, {"source", "files"}, {"updated_at", 1700000000}}));
  ASSERT_EQ(r["jwks"].size(), 2u);
  EXPECT_EQ(r["jwks"][0], (json{{"issuer", "https://idp.example"}, {"ready", true}, {"keys", 2},
                                   {"last_success", 1700000005}}));
  EXPECT_EQ(r["jwks"][1]["last_error"], "connection refused");
  // Governance 40 s old against a 30 s max_staleness: stale, by the data plane's rule.
  EXPECT_EQ(r["config"], (json{{"policy_version", "seed-1 (v3)"}, {"governance_version", "g7"},
                               {"generation", 9}, {"age_seconds", 40}, {"stale", true},
                               {"source", "live"}}));
  EXPECT_EQ(r["control_plane"], (json{{"connected", true}, {"last_error", ""}}));
  EXPECT_EQ(r["audit_shipping"]["shipped"], 5);
  EXPECT_EQ(r["listeners"]["ingress"], "127.0.0.1:8443");
  EXPECT_EQ(r["layers"], (json{{"rbac", {{"allow", 6}, {"deny", 2}}},
                                  {"transport", {{"allow", 7}, {"deny", 1}}}}));
}

TEST(StatusReportTest, WithoutGovernanceOrViewNothingIsStaleOrInvented) {
  json doc = readyz();
  doc.erase("governance");
  doc.erase("token");
  doc.erase("audit_shipping");
  doc["control_plane"]["source"] = "disk";
  const json r = buildStatusReport(doc, StatusReportFacts{});
  EXPECT_EQ(r["config"]["stale"], false);
  EXPECT_EQ(r["config"]["governance_version"], "");
  EXPECT_EQ(r["config"]["age_seconds"], 40) << "the view's age when there is no governance section";
  EXPECT_EQ(r["config"]["source"], "disk");
  EXPECT_TRUE(r["jwks"].empty());
  EXPECT_FALSE(r.contains("audit_shipping"));
  EXPECT_TRUE(r["layers"].empty());
}

}  // namespace
}  // namespace warden::proxy
