// `warden server` with a control_plane section, as a real process (issue 5): the store is
// seeded once, the bootstrap admin password is printed once and stored hashed, the API
// answers over HTTPS with the server's SVID, and the token service takes its agents from
// the registry, so disabling an agent refuses it a token (layer 4a at issuance).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/http_client_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kInterop = std::string(WARDEN_SOURCE_DIR) + "/tests/interop";

Json lastJsonLine(const std::string& out) {
  const auto end = out.find_last_of('}');
  if (end == std::string::npos) return Json();
  const auto begin = out.rfind('\n', end);
  return Json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1), nullptr, false);
}

class ControlPlaneServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeFile(dir.path(), "seed.yaml", R"(agents:
  - name: budget-report
    spiffe_id: spiffe://example.org/budget-report
    risk: low
    tags: {team: finance}
    roles: {api://budget-backend: [Budget.Read]}
  - name: budget-backend
    spiffe_id: spiffe://example.org/budget-backend
policies:
  budget-backend: backend-policy.yaml
governance:
  budget-backend: {max_risk: medium, required_tags: {team: finance}}
)");
    writeFile(dir.path(), "backend-policy.yaml", R"(version: "seed"
target: spiffe://example.org/budget-backend
allow: [{id: spiffe://example.org/budget-report}]
callers:
  - match: {id: spiffe://example.org/budget-report}
    rules: [{id: read, methods: [GET], path: {exact: /budget/read}, action: allow}]
)");
    config_ = writeFile(dir.path(), "server.yaml", R"(trust_domain: example.org
state_dir: state
entries:
  - {name: token-service, spiffe_id: spiffe://example.org/token-service, socket: token-service.sock}
  - {name: warden-server, spiffe_id: spiffe://example.org/warden/server, socket: warden-server.sock}
  - {name: budget-report, spiffe_id: spiffe://example.org/budget-report, socket: budget-report.sock}
token_service:
  listen: 127.0.0.1:0
  tls: {svid: token-service}
  audiences: [api://budget-backend]
control_plane:
  listen: 127.0.0.1:)" + std::to_string(freePort()) + R"(
  tls: {svid: warden-server}
  seed: seed.yaml
)");
  }

  // Starts the server; returns the API port.
  std::uint16_t start() {
    server_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{WARDEN_BINARY, "server", "--config", config_}, dir.path());
    EXPECT_TRUE(server_->waitForOutput("control plane API", 20s)) << server_->out() << server_->err();
    const std::string log = server_->out() + server_->err();
    std::smatch m;
    EXPECT_TRUE(std::regex_search(log, m, std::regex("control plane API https://127\\.0\\.0\\.1:([0-9]+)")));
    std::smatch t;
    if (std::regex_search(log, t, std::regex("token service: issuer (https://127\\.0\\.0\\.1:[0-9]+)"))) {
      token_issuer_ = t[1];
    }
    return m.empty() ? 0 : static_cast<std::uint16_t>(std::stoi(m[1]));
  }
  void stop() {
    server_->signal(SIGTERM);
    EXPECT_EQ(server_->wait(10s), 0);
  }

  HttpResponse call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = "") {
    auto c = TestConnection::tls(port, std::nullopt);
    EXPECT_NE(c, nullptr);
    if (!c) return {};
    std::string headers;
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    if (!token.empty()) headers += "Authorization: Bearer " + token + "\r\n";
    EXPECT_TRUE(c->send(makeRequest(method, target, headers, body)));
    auto res = c->read(false, 10s);
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  std::string login(std::uint16_t port, const std::string& password) {
    auto res = call(port, "POST", "/api/v1/login", Json{{"username", "admin"}, {"password", password}}.dump());
    return res.status == 200 ? Json::parse(res.body).value("access_token", "") : std::string();
  }

  // A client_credentials grant for budget-report with its JWT-SVID key (as oauth_client.mjs
  // does in token_service_test); returns the HTTP status of the token endpoint.
  int grant() {
    const std::string node = findOnPath("node");
    const std::string state = dir.file("state");
    std::string kid, ca_file;
    for (const auto& entry : std::filesystem::directory_iterator(state + "/jwt")) {
      if (entry.path().extension() == ".key") kid = entry.path().stem();
    }
    for (const auto& entry : std::filesystem::directory_iterator(state + "/x509")) {
      if (entry.path().filename() == "active.pem") ca_file = entry.path();
    }
    Json opts = {{"issuer", token_issuer_}, {"ca", ca_file}, {"server_id", "spiffe://example.org/token-service"},
                 {"client_id", "spiffe://example.org/budget-report"}, {"auth", "private_key_jwt"},
                 {"key_file", state + "/jwt/" + kid + ".key"}, {"kid", kid},
                 {"params", {{"scope", "api://budget-backend/.default"}}}};
    auto r = runToCompletion({node, kInterop + "/oauth_client.mjs", "client-credentials",
                              writeFile(dir.path(), "grant.json", opts.dump())},
                             dir.path(), 60s);
    return lastJsonLine(r.out).value("status", 0);
  }

  TempDir dir;
  std::string config_;
  std::string token_issuer_;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(ControlPlaneServerTest, BootstrapAdminSeedAndTokenTimeGovernance) {
  ASSERT_FALSE(findOnPath("node").empty()) << "node is not on PATH; run scripts/setup.sh";
  auto check = runToCompletion({WARDEN_BINARY, "server", "--config", config_, "--check"}, dir.path());
  EXPECT_EQ(check.code, 0) << check.out << check.err;

  const auto port = start();
  ASSERT_NE(port, 0);
  std::smatch m;
  const std::string out = server_->out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("bootstrap admin: user admin password ([A-Za-z0-9_-]+)")))
      << out;
  const std::string password = m[1];
  EXPECT_TRUE(login(port, "wrong").empty());
  const std::string token = login(port, password);
  ASSERT_FALSE(token.empty());

  // The seed is in the store: agents, the backend's policy and governance.
  auto agents = call(port, "GET", "/api/v1/agents", "", token);
  ASSERT_EQ(agents.status, 200) << agents.body;
  EXPECT_EQ(Json::parse(agents.body)["agents"].size(), 2u);
  EXPECT_EQ(call(port, "GET", "/api/v1/policies/budget-backend", "", token).status, 200);
  EXPECT_EQ(call(port, "GET", "/api/v1/agents", "").status, 401);

  // The health document describes the token service this server runs (issue 6), and
  // leaves out what it does not run (no federation, no external identity providers).
  auto health = call(port, "GET", "/api/v1/health", "", token);
  ASSERT_EQ(health.status, 200) << health.body;
  const Json server = Json::parse(health.body)["server"];
  EXPECT_EQ(server["token_service"]["issuer"], token_issuer_);
  ASSERT_FALSE(server["token_service"]["keys"].empty()) << server.dump();
  int active = 0;
  for (const auto& k : server["token_service"]["keys"]) active += k["state"] == "active" ? 1 : 0;
  EXPECT_EQ(active, 1) << server.dump();
  EXPECT_FALSE(server.contains("bundles"));
  EXPECT_FALSE(server.contains("identity_providers"));
  EXPECT_EQ(server["store"]["ok"], true);
  EXPECT_EQ(Json::parse(health.body)["agents_without_sidecar"], (Json{"budget-backend", "budget-report"}));

  // Token-time governance from the registry.
  EXPECT_EQ(grant(), 200);
  ASSERT_EQ(call(port, "PUT", "/api/v1/agents/budget-report/state", R"({"state":"disabled"})", token).status, 200);
  EXPECT_EQ(grant(), 403) << "a disabled agent gets no token (access_denied)";
  ASSERT_EQ(call(port, "PUT", "/api/v1/agents/budget-report/state", R"({"state":"enabled"})", token).status, 200);
  ASSERT_EQ(call(port, "PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"high"})", token).status, 200);
  EXPECT_EQ(grant(), 403) << "too risky for the service's maximum (medium)";
  stop();

  // A restart neither re-seeds nor prints a password again; the stored hash still works,
  // and the changes made through the API are still there.
  const auto again = start();
  ASSERT_NE(again, 0);
  EXPECT_EQ(server_->out().find("bootstrap admin"), std::string::npos);
  const std::string token2 = login(again, password);
  ASSERT_FALSE(token2.empty());
  auto report = call(again, "GET", "/api/v1/agents/budget-report", "", token2);
  EXPECT_EQ(Json::parse(report.body).value("risk", ""), "high");
  // The login keys persist too: the first token is still good.
  EXPECT_EQ(call(again, "GET", "/api/v1/whoami", "", token).status, 200);
  stop();
}

}  // namespace
}  // namespace warden::testing
