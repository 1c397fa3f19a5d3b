// Egress: the app speaks plain HTTP to its sidecar on 127.0.0.1; the sidecar originates
// mTLS with the app's SVID, verifies the target's SPIFFE ID, and relays.
#include <gtest/gtest.h>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <thread>
#include <nlohmann/json.hpp>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

class EgressTest : public ::testing::Test {
 protected:
  proxy::EgressRoute routeTo(std::uint16_t port, const std::string& expected_id = kBackendId) {
    proxy::EgressRoute r;
    r.host = "budget-backend";
    r.address = {"127.0.0.1", port};
    r.spiffe_id = expected_id;
    return r;
  }

  std::unique_ptr<proxy::Sidecar> egressFor(const ClientCredential& cred,
                                            std::vector<proxy::EgressRoute> routes) {
    return mesh.start(mesh.egressConfig(cred, std::move(routes)));
  }

  std::unique_ptr<TestConnection> appConnection(proxy::Sidecar& egress) {
    auto c = TestConnection::plain(egress.egressEndpoint().port);
    EXPECT_NE(c, nullptr);
    return c;
  }

  Mesh mesh;
};

TEST_F(EgressTest, AllowedCallFlowsThroughEgressAndIngress) {
  auto egress = egressFor(mesh.report, {routeTo(mesh.backend().ingressEndpoint().port)});
  ASSERT_NE(egress, nullptr);
  auto c = appConnection(*egress);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(nlohmann::json::parse(res->body)["caller_spiffe_id"], kReportId);
}

TEST_F(EgressTest, RbacDenialFromTheTargetIsRelayedUnchanged) {
  auto egress = egressFor(mesh.report, {routeTo(mesh.backend().ingressEndpoint().port)});
  auto c = appConnection(*egress);
  ASSERT_TRUE(c->send(makeRequest("POST", "/budget/submit", "", "{}")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["layer"], "rbac");
  EXPECT_EQ(body["error"], "rule_denied");
}

TEST_F(EgressTest, CallerRefusedAtHandshakeGets502NamingTransport) {
  auto egress = egressFor(mesh.menus, {routeTo(mesh.backend().ingressEndpoint().port)});
  auto c = appConnection(*egress);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << "a refused handshake must become a response, not a hang: "
                   << c->lastError();
  EXPECT_EQ(res->status, 502);
  EXPECT_EQ(res->header("content-type"), "application/json");
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["layer"], "transport");
  EXPECT_EQ(body["error"], "handshake_refused");
  EXPECT_FALSE(body["request_id"].get<std::string>().empty());
  EXPECT_EQ(mesh.app.requestCount(), 0u);
  ASSERT_TRUE(mesh.backendAudit().waitFor(1));
  EXPECT_EQ(mesh.backendAudit().events().back().reason, "peer_not_allowed");
}

TEST_F(EgressTest, TargetPresentingAnotherIdentityIsRefused) {
  // The route expects budget-approval at that address; budget-backend answers.
  auto egress = egressFor(mesh.report,
                          {routeTo(mesh.backend().ingressEndpoint().port, kApprovalId)});
  auto c = appConnection(*egress);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 502);
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["layer"], "transport");
  EXPECT_EQ(body["error"], "upstream_identity_mismatch");
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(EgressTest, UnknownHostIsNoRoute) {
  auto egress = egressFor(mesh.report, {routeTo(mesh.backend().ingressEndpoint().port)});
  auto c = appConnection(*egress);
  std::string req = "GET /budget/read HTTP/1.1\r\nHost: somewhere-else\r\n\r\n";
  ASSERT_TRUE(c->send(req));
  auto res = c->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "no_route");
}

TEST_F(EgressTest, TargetDownIsUpstreamUnavailable) {
  // A port that was just free: bind, note, close.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  auto egress = egressFor(mesh.report, {routeTo(port)});
  auto c = appConnection(*egress);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "upstream_unavailable");
}

TEST_F(EgressTest, KeepAliveRequestsReuseOneMtlsConnection) {
  auto egress = egressFor(mesh.report, {routeTo(mesh.backend().ingressEndpoint().port)});
  for (int i = 0; i < 5; ++i) {
    auto c = appConnection(*egress);  // even separate app connections share the pool
    ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
    auto res = c->read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  ASSERT_TRUE(mesh.backendAudit().waitFor(5));
  const auto events = mesh.backendAudit().events();
  for (const auto& e : events) EXPECT_EQ(e.connection_id, events.front().connection_id);
  EXPECT_NE(egress->metrics().render().find(
                "warden_handshakes_total{direction=\"egress\",result=\"ok\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace warden::testing

namespace warden::testing {
namespace {

// Several workers share the listeners through SO_REUSEPORT; every connection is served
// whichever worker the kernel picks, and each worker keeps its own upstream pool.
TEST(MultiWorkerTest, TwoWorkersServeConcurrentConnections) {
  Mesh mesh;
  auto config = mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kSeedPolicy));
  config.workers = 2;
  auto backend = mesh.start(config);
  ASSERT_NE(backend, nullptr);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto c = TestConnection::tls(backend->ingressEndpoint().port, mesh.report);
        if (!c || !c->send(makeRequest("GET", "/budget/read"))) continue;
        auto res = c->read();
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_EQ(mesh.app.requestCount(), 80u);
}

}  // namespace
}  // namespace warden::testing

namespace warden::testing {
namespace {

// The upstream pool does not probe a connection that went idle moments ago; if the app
// closed it meanwhile, a bodiless request is replayed once on a fresh connection.
TEST(UpstreamPoolTest, RequestOnConnectionTheAppJustClosedIsReplayed) {
  Mesh mesh;
  auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto first = c->read();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  // Restart the app on the same port: the sidecar's pooled connection is now dead.
  const auto port = mesh.app.port();
  mesh.app.stop();
  tools::EchoApp restarted;
  ASSERT_TRUE(restarted.start("127.0.0.1", port));
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto second = c->read();
  ASSERT_TRUE(second) << c->lastError();
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(restarted.requestCount(), 1u);
}

}  // namespace
}  // namespace warden::testing
