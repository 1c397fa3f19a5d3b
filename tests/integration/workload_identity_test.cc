// Sidecars that get their identity from Warden's Workload API (identity-standards §4,
// §10.2 X15): per-workload sockets, readiness before the first SVID, rotation in place
// with no failed request, and re-connection when the endpoint comes back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "issuer/identity_server.h"
#include "support/mesh_harness.h"
#include "support/test_env.h"
#include "support/traffic_harness.h"

namespace warden::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

issuer::RegistrationEntry socketEntry(const std::string& name, const std::string& socket,
                                      seconds ttl = std::chrono::hours(1)) {
  issuer::RegistrationEntry e;
  e.name = name;
  e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + name).value();
  e.socket_path = socket;
  e.x509_ttl = ttl;
  return e;
}


class WorkloadIdentityTest : public ::testing::Test {
 protected:
  std::string socketFor(const std::string& name) { return mesh.dir.path() + "/sockets/" + name + ".sock"; }

  issuer::IdentityServerConfig serverConfig(seconds ttl = std::chrono::hours(1)) {
    issuer::IdentityServerConfig c;
    c.trust_domain = "example.org";
    c.state_dir = mesh.dir.path() + "/server-state";
    c.entries = {socketEntry("budget-backend", socketFor("budget-backend"), ttl),
                 socketEntry("budget-report", socketFor("budget-report"), ttl)};
    return c;
  }

  void startServer(seconds ttl = std::chrono::hours(1)) {
    issuer::IdentityServerTuning tuning;
    tuning.rotation_tick = milliseconds(100);
    auto s = issuer::IdentityServer::start(serverConfig(ttl), tuning);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
  }

  proxy::SidecarConfig withWorkloadApi(proxy::SidecarConfig c, const std::string& name) {
    c.identity = {};
    c.identity.workload_api = "unix://" + socketFor(name);
    c.identity.poll_interval_ms = 100;
    return c;
  }

  std::unique_ptr<proxy::Sidecar> startBackend() {
    return mesh.start(withWorkloadApi(
        mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kSeedPolicy)), "budget-backend"));
  }

  std::unique_ptr<proxy::Sidecar> startReportEgress(std::uint16_t backend_port) {
    proxy::EgressRoute r;
    r.host = "budget-backend";
    r.address = {"127.0.0.1", backend_port};
    r.spiffe_id = kBackendId;
    auto c = withWorkloadApi(mesh.egressConfig(mesh.report, {r}), "budget-report");
    c.admin_enabled = true;
    c.admin_listen = {"127.0.0.1", 0};
    return mesh.start(std::move(c));
  }

  static std::optional<HttpResponse> call(proxy::Sidecar& egress, const std::string& path,
                                          bool close = false) {
    auto c = TestConnection::plain(egress.egressEndpoint().port);
    if (!c) return std::nullopt;
    if (!c->send(makeRequest("GET", path, close ? "Connection: close\r\n" : ""))) return std::nullopt;
    return c->read();
  }

  Mesh mesh;
  std::unique_ptr<issuer::IdentityServer> server;
};

TEST_F(WorkloadIdentityTest, SidecarsGetTheirIdentityFromTheWorkloadApi) {
  startServer();
  auto backend = startBackend();
  ASSERT_NE(backend, nullptr);
  auto egress = startReportEgress(backend->ingressEndpoint().port);
  ASSERT_NE(egress, nullptr);
  ASSERT_TRUE(waitUntil([&] { return backend->ready() && egress->ready(); }, seconds(10)));
  auto res = call(*egress, "/budget/read");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["caller_spiffe_id"], kReportId);
  // The per-workload socket is private to its owner (0600).
  struct stat st {};
  ASSERT_EQ(::stat(socketFor("budget-report").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// /readyz is false until the first SVID; meanwhile egress answers 503 identity_unavailable
// and ingress refuses connections. When the endpoint appears, the client's backoff finds
// it without a restart.
TEST_F(WorkloadIdentityTest, NotReadyUntilTheFirstSvidThenRecovers) {
  auto backend = startBackend();
  ASSERT_NE(backend, nullptr);
  auto egress = startReportEgress(backend->ingressEndpoint().port);
  ASSERT_NE(egress, nullptr);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(backend->ready());
  EXPECT_FALSE(egress->ready());
  auto early = call(*egress, "/budget/read");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 503);
  EXPECT_EQ(nlohmann::json::parse(early->body)["error"], "identity_unavailable");
  auto direct = TestConnection::tls(backend->ingressEndpoint().port, mesh.report);
  if (direct) {
    EXPECT_TRUE(direct->waitClosed()) << "ingress must not serve without an SVID";
  }

  startServer();
  ASSERT_TRUE(waitUntil([&] { return backend->ready() && egress->ready(); }, seconds(15)));
  auto res = call(*egress, "/budget/read");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// The endpoint goes away: the sidecar keeps serving with the SVID it has (it has not
// expired), and picks up a new one when the endpoint returns.
TEST_F(WorkloadIdentityTest, KeepsServingWhenTheEndpointGoesAway) {
  startServer();
  auto backend = startBackend();
  auto egress = startReportEgress(backend->ingressEndpoint().port);
  ASSERT_TRUE(waitUntil([&] { return backend->ready() && egress->ready(); }, seconds(10)));
  server.reset();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_TRUE(backend->ready());
  auto res = call(*egress, "/budget/read", true);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  startServer();  // same state dir: same CA, so trust continues
  auto again = call(*egress, "/budget/read", true);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// Rotation under load (issue 3): SVID TTL of 4 s (re-minted every 2 s), continuous traffic
// egress -> ingress for 30 s over both a keep-alive connection and fresh connections: zero
// failed requests, and the backend's SVID really changed many times.
TEST_F(WorkloadIdentityTest, RotationUnderLoadFailsNoRequest) {
  startServer(seconds(4));
  auto backend = startBackend();
  auto egress = startReportEgress(backend->ingressEndpoint().port);
  ASSERT_TRUE(waitUntil([&] { return backend->ready() && egress->ready(); }, seconds(10)));

  TrafficDriver traffic(egress->egressEndpoint().port, "/budget/read");
  std::set<std::time_t> backend_expiries;
  const auto end = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    auto rt = TestConnection::plain(backend->adminEndpoint().port);
    if (rt && rt->send("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")) {
      if (auto r = rt->read()) {
        backend_expiries.insert(nlohmann::json::parse(r->body)["identity"]["expires_unix"].get<std::time_t>());
      }
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
  traffic.stop();
  EXPECT_EQ(traffic.failed(), 0) << traffic.firstFailure();
  EXPECT_GT(traffic.ok(), 300);
  EXPECT_GE(backend_expiries.size(), 8u) << "the SVID must have rotated about every 2 s";
}

}  // namespace
}  // namespace warden::testing
