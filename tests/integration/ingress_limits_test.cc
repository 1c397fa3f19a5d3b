// Limits and upstream failures at the ingress: each has its status and JSON error body.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

class IngressLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<proxy::Sidecar> startWith(void (*tune)(proxy::SidecarConfig&)) {
    auto config = mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(kSeedPolicy));
    tune(config);
    return mesh.start(config);
  }
  void expectError(const std::optional<HttpResponse>& res, int status, const std::string& error,
                   const std::string& layer = "proxy") {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    const auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body["error"], error);
    EXPECT_EQ(body["layer"], layer);
    EXPECT_EQ(body["request_id"], res->header("x-request-id"));
  }
  Mesh mesh;
};

TEST_F(IngressLimitsTest, BodyOverDeclaredLimitIs413BeforeTheAppSeesIt) {
  auto s = startWith([](proxy::SidecarConfig& c) { c.limits.max_body_bytes = 1024; });
  auto c = TestConnection::tls(s->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("POST", "/stream/upload", "", std::string(2048, 'x'))));
  expectError(c->read(), 413, "payload_too_large");
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(IngressLimitsTest, ChunkedBodyOverLimitIs413) {
  auto s = startWith([](proxy::SidecarConfig& c) { c.limits.max_body_bytes = 1024; });
  auto c = TestConnection::tls(s->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send("POST /stream/upload HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "800\r\n" + std::string(2048, 'x') + "\r\n0\r\n\r\n"));
  expectError(c->read(), 413, "payload_too_large");
  EXPECT_TRUE(c->waitClosed());
}

TEST_F(IngressLimitsTest, HeadNotCompletedInTimeClosesAndIsAudited) {
  // The deadline closes the socket, so there is no 408 to send (nginx behaves the same);
  // what matters is that the connection ends on time and the audit says why.
  auto s = startWith([](proxy::SidecarConfig& c) { c.timeouts.header_read_ms = 300; });
  AuditRecorder audit;
  audit.attach(*s);
  auto c = TestConnection::tls(s->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send("GET /budget/read HTTP/1.1\r\nHost: b\r\n"));  // never finished
  EXPECT_TRUE(c->waitClosed(std::chrono::seconds(3)));
  ASSERT_TRUE(audit.waitFor(1));
  const auto e = audit.events().back();
  EXPECT_EQ(e.reason, "request_timeout");
  EXPECT_EQ(e.status, 0);
  EXPECT_EQ(mesh.app.requestCount(), 0u);
}

TEST_F(IngressLimitsTest, AppTooSlowIs504) {
  auto s = startWith([](proxy::SidecarConfig& c) { c.timeouts.upstream_response_ms = 200; });
  auto c = TestConnection::tls(s->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/stream/slow?ms=2000")));
  expectError(c->read(), 504, "upstream_timeout");
}

TEST_F(IngressLimitsTest, AppDownIs503) {
  auto s = startWith([](proxy::SidecarConfig&) {});
  mesh.app.stop();
  auto c = TestConnection::tls(s->ingressEndpoint().port, mesh.report);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  expectError(c->read(), 503, "upstream_unavailable");
}

}  // namespace
}  // namespace warden::testing
