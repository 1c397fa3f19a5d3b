// Sidecars report their health to the control plane (issue 6): a governed `warden proxy`
// process reports over its mTLS identity every status_interval, and GET /api/v1/health
// shows the report with the SVID and the view in force, the server's own parts, and the
// registered agents that have no sidecar. The reporter's identity is its certificate's,
// never the body's; only registered agents' sidecars may report.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "support/control_plane_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* const kBackendPolicy = R"(version: "health"
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
)";

class SidecarHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.addAgent({{"name", "budget-backend"}, {"spiffe_id", "spiffe://example.org/budget-backend"}});
    cp.addAgent({{"name", "budget-report"}, {"spiffe_id", "spiffe://example.org/budget-report"}});
    cp.addAgent({{"name", "employee-menus"}, {"spiffe_id", "spiffe://example.org/employee-menus"}});
    ASSERT_EQ(cp.putDocument("policies", "budget-backend", kBackendPolicy, "initial").status, 201);
  }

  // A sidecar config file for `entry`, as an operator writes it.
  std::string sidecarYaml(const std::string& entry, const std::string& interval) {
    const auto cred = cp.credential(entry);
    return writeFile(cp.dir.path(), entry + "-sidecar.yaml",
                     "identity:\n  cert: " + cred.cert_path + "\n  key: " + cred.key_path +
                         "\n  bundles: {example.org: " + cp.bundlePath() + "}\n"
                         "ingress:\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:" +
                         std::to_string(cp.app.port()) +
                         "\nadmin:\n  listen: 127.0.0.1:0\n"
                         "control_plane:\n  url: " + cp.baseUrl() +
                         "\n  server_id: " + kServerSpiffeId +
                         "\n  state_dir: " + cp.dir.file(entry + "-state") +
                         "\n  poll_wait: 5s\n  status_interval: " + interval + "\n");
  }

  json health(const std::string& who = "viewer") {
    auto res = cp.call(cp.credential(who), "GET", "/api/v1/health");
    EXPECT_EQ(res.status, 200) << res.body;
    return ControlPlane::json(res);
  }
  static json sidecarOf(const json& doc, const std::string& spiffe_id) {
    if (!doc.is_object()) return json();
    for (const auto& s : doc.value("sidecars", json::array())) {
      if (s.value("spiffe_id", "") == spiffe_id) return s;
    }
    return json();
  }
  HttpResponse report(const std::string& who, const std::string& body,
                      const std::string& type = "application/json") {
    return cp.call(cp.credential(who), "POST", "/api/v1/sidecars/status", body,
                   "Content-Type: " + type + "\r\n");
  }

  ControlPlane cp;
};

TEST_F(SidecarHealthTest, AGovernedSidecarProcessReportsAndHealthShowsIt) {
  const std::string backend = "spiffe://example.org/budget-backend";
  ChildProcess proxy({WARDEN_BINARY, "proxy", "--config", sidecarYaml("budget-backend", "1s")},
                     cp.dir.path());
  ASSERT_TRUE(proxy.started());
  json entry;
  ASSERT_TRUE(waitUntil([&] {
    entry = sidecarOf(health(), backend);
    return entry.is_object() && entry.value("config", json::object()).value("generation", 0) > 0;
  }, 20s)) << entry.dump() << proxy.out() << proxy.err();

  // The report matches what the sidecar itself says on /readyz.
  const std::string admin = entry["listeners"].value("admin", "");
  ASSERT_FALSE(admin.empty()) << entry.dump();
  auto a = TestConnection::plain(static_cast<std::uint16_t>(std::stoi(admin.substr(admin.rfind(':') + 1))));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->send(makeRequest("GET", "/readyz")));
  auto readyz = a->read();
  ASSERT_TRUE(readyz) << a->lastError();
  const json rz = json::parse(readyz->body);
  EXPECT_EQ(entry["svid"]["spiffe_id"], backend);
  EXPECT_EQ(entry["svid"]["not_after"], rz["identity"]["expires_unix"]);
  EXPECT_GT(entry["svid"]["not_after"].get<std::int64_t>(), std::time(nullptr));
  EXPECT_EQ(entry["config"]["policy_version"], rz["policy"]["version"]);
  EXPECT_NE(entry["config"]["policy_version"].get<std::string>().find("health"), std::string::npos)
      << entry.dump();
  EXPECT_EQ(entry["config"]["source"], "live");
  EXPECT_EQ(entry["config"]["stale"], false);
  EXPECT_EQ(entry["agent"], "budget-backend");
  EXPECT_EQ(entry["interval_seconds"], 1);
  EXPECT_EQ(entry["stale"], false);
  EXPECT_EQ(entry["ready"], true);
  ASSERT_EQ(entry["bundles"].size(), 1u);
  EXPECT_EQ(entry["bundles"][0]["trust_domain"], "example.org");
  EXPECT_FALSE(entry["version"].get<std::string>().empty());

  // Decisions the data plane made show up in the next report, per layer.
  const std::string ingress = entry["listeners"].value("ingress", "");
  auto c = TestConnection::tls(static_cast<std::uint16_t>(std::stoi(ingress.substr(ingress.rfind(':') + 1))),
                               cp.credential("budget-report"));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200) << res->body;
  ASSERT_TRUE(waitUntil([&] {
    entry = sidecarOf(health(), backend);
    if (!entry.is_object()) return false;
    std::uint64_t allowed = 0;
    const json layers = entry.value("layers", json::object());  // outlives the loop
    for (const auto& [layer, counts] : layers.items()) {
      allowed += counts.value("allow", std::uint64_t{0});
    }
    return allowed >= 1;
  }, 10s)) << entry.dump() << proxy.err();

  // The server's own section, and the agents that never reported.
  json doc = health();
  EXPECT_GT(doc["generated_at"].get<std::int64_t>(), 0);
  const json& server = doc["server"];
  EXPECT_EQ(server["store"]["ok"], true);
  EXPECT_EQ(server["store"]["path"], "warden.db");
  EXPECT_GT(server["store"]["schema_version"].get<int>(), 0);
  EXPECT_GT(server["store"]["size_bytes"].get<std::int64_t>(), 0);
  EXPECT_EQ(server["trust_domain"], "example.org");
  EXPECT_GT(server["ca"]["seconds_left"].get<std::int64_t>(), 0);
  // The CA's lifetime, so a reader can tell a self-rotating short-lived CA from a stuck one.
  EXPECT_LT(server["ca"]["not_before"].get<std::int64_t>(), server["ca"]["not_after"].get<std::int64_t>());
  EXPECT_LE(server["ca"]["not_before"].get<std::int64_t>(), doc["generated_at"].get<std::int64_t>());
  EXPECT_FALSE(server.contains("token_service")) << "this server runs none";
  EXPECT_FALSE(server.contains("identity_providers")) << "none configured";
  EXPECT_EQ(doc["agents_without_sidecar"], (json{"budget-report", "employee-menus"}));
  // A federated agent's sidecar reports to its own trust domain's control plane: it is
  // never "silent" here.
  cp.addAgent(json{{"name", "gcp-reader"},
                   {"spiffe_id", "spiffe://gcp.example/gcp-reader"},
                   {"trust_domain", "federated"},
                   {"comment", "a federated agent"}});
  EXPECT_EQ(health()["agents_without_sidecar"], (json{"budget-report", "employee-menus"}));

  // A sidecar that stops reporting turns stale after three of its intervals.
  proxy.signal(SIGTERM);
  ASSERT_TRUE(proxy.wait(10s).has_value());
  ASSERT_TRUE(waitUntil([&] { return sidecarOf(health(), backend).value("stale", false); }, 10s));
  EXPECT_GE(sidecarOf(health(), backend)["report_age_seconds"].get<std::int64_t>(), 3);
}

TEST_F(SidecarHealthTest, TheReporterIsItsCertificateNotTheBody) {
  json body = {{"version", "0.1.0"}, {"started_at", 1700000000}, {"interval_seconds", 15},
               {"spiffe_id", "spiffe://example.org/employee-menus"},
               {"config", {{"policy_version", "spoofed"}, {"generation", 1}}}};
  auto res = report("budget-report", body.dump());
  ASSERT_EQ(res.status, 204) << res.body;
  const json doc = health("admin");
  EXPECT_TRUE(sidecarOf(doc, "spiffe://example.org/employee-menus").is_null()) << doc.dump();
  const json entry = sidecarOf(doc, "spiffe://example.org/budget-report");
  ASSERT_TRUE(entry.is_object()) << doc.dump();
  EXPECT_EQ(entry["agent"], "budget-report");
  EXPECT_EQ(entry["config"]["policy_version"], "spoofed");  // its own claim, under its own name
  EXPECT_EQ(doc["agents_without_sidecar"], (json{"budget-backend", "employee-menus"}));
}

TEST_F(SidecarHealthTest, OnlyRegisteredAgentsSidecarsMayReportAndBodiesAreBounded) {
  const std::string good = json{{"version", "0.1.0"}, {"started_at", 1}, {"interval_seconds", 5}}.dump();
  // An SVID of this trust domain that is neither on a list nor a registered agent's is not
  // an identity the API knows (401, as on every route); the known ones are refused.
  EXPECT_EQ(report("stranger", good).status, 401);
  for (const char* who : {"viewer", "admin", "developer"}) {
    auto res = report(who, good);
    EXPECT_EQ(res.status, 403) << who << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res).value("error", ""), "forbidden") << who;
    EXPECT_EQ(ControlPlane::json(res).value("layer", ""), "control_plane") << who;
  }
  EXPECT_EQ(cp.call(std::nullopt, "POST", "/api/v1/sidecars/status", good).status, 401);
  EXPECT_TRUE(health()["sidecars"].empty()) << "nothing refused was recorded";

  auto big = report("budget-report", json{{"version", std::string(70 * 1024, 'x')}, {"started_at", 1},
                                          {"interval_seconds", 5}}.dump());
  EXPECT_EQ(big.status, 413) << big.body;
  auto bad = report("budget-report", R"({"version":"0.1.0","started_at":1,"interval_seconds":0})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ControlPlane::json(bad).value("reason", ""), "interval_seconds: expected 1..300");
  EXPECT_EQ(report("budget-report", "[]").status, 400);
  EXPECT_EQ(report("budget-report", good, "text/plain").status, 415);
  EXPECT_EQ(cp.call(cp.credential("budget-report"), "GET", "/api/v1/sidecars/status").status, 405);
  EXPECT_TRUE(health()["sidecars"].empty());
  // A sidecar may report but not read the health document.
  EXPECT_EQ(cp.call(cp.credential("budget-report"), "GET", "/api/v1/health").status, 403);
  EXPECT_EQ(cp.call(std::nullopt, "GET", "/api/v1/health").status, 401);
}

TEST_F(SidecarHealthTest, AnIntervalOutOfBoundsIsAConfigErrorNamingTheField) {
  const auto r = runToCompletion({WARDEN_BINARY, "proxy", "--config", sidecarYaml("budget-backend", "0s")},
                                 cp.dir.path());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("control_plane.status_interval: must be between 1000ms and 300000ms"), std::string::npos)
      << r.err;
  const auto slow = runToCompletion({WARDEN_BINARY, "proxy", "--config", sidecarYaml("budget-backend", "301s")},
                                    cp.dir.path());
  EXPECT_EQ(slow.code, 2);
  EXPECT_NE(slow.err.find("control_plane.status_interval"), std::string::npos) << slow.err;
}

}  // namespace
}  // namespace warden::testing
