// Layer 1 (transport) and layer 2 (RBAC) at the ingress, over real mTLS on 127.0.0.1.
// Certificate cases follow identity-standards §10.2 (X509-SVID spec §4-§5).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

class IngressIdentityTest : public ::testing::Test {
 protected:
  std::unique_ptr<TestConnection> connect(const ClientCredential& cred) {
    std::string error;
    auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, cred, &error);
    EXPECT_NE(c, nullptr) << error;
    return c;
  }

  // Expects the handshake to be refused (under TLS 1.3 the client learns it on its first
  // read) and the refusal audited with `reason`; the app must see nothing.
  void expectRefused(const std::optional<ClientCredential>& cred, const std::string& reason,
                     const std::string& caller = "") {
    const std::size_t before = mesh.backendAudit().events().size();
    std::string error;
    auto c = TestConnection::tls(mesh.backend().ingressEndpoint().port, cred, &error);
    if (c != nullptr) {
      c->send(makeRequest("GET", "/budget/read"));
      EXPECT_FALSE(c->read().has_value()) << "a refused peer got an HTTP response";
    }
    ASSERT_TRUE(mesh.backendAudit().waitFor(before + 1));
    const auto event = mesh.backendAudit().events().back();
    EXPECT_EQ(event.kind, audit::EventKind::kHandshake);
    EXPECT_FALSE(event.allowed);
    EXPECT_EQ(event.layer, "transport");
    EXPECT_EQ(event.reason, reason) << event.detail;
    if (!caller.empty()) {
      EXPECT_EQ(event.caller_id, caller);
    }
    EXPECT_EQ(mesh.app.requestCount(), 0u);
  }

  Mesh mesh;
};

TEST_F(IngressIdentityTest, AllowedCallerReadsAndAppSeesVerifiedIdentity) {
  auto c = connect(mesh.report);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200);
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["caller_spiffe_id"], kReportId);
  const std::string xfcc = body["client_cert"];
  EXPECT_EQ(xfcc.rfind("By=" + kBackendId + ";Hash=", 0), 0u) << xfcc;
  EXPECT_NE(xfcc.find(";URI=" + kReportId), std::string::npos) << xfcc;
  EXPECT_EQ(body["request_id"].get<std::string>().size(), 16u);

  ASSERT_TRUE(mesh.backendAudit().waitFor(1));
  const auto e = mesh.backendAudit().events().back();
  EXPECT_TRUE(e.allowed);
  EXPECT_EQ(e.rule_id, "report-read");
  EXPECT_EQ(e.caller_id, kReportId);
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.policy_version, "seed-1");
  EXPECT_EQ(e.request_id, body["request_id"]);
}

TEST_F(IngressIdentityTest, SubmitWithoutRuleIsDeniedByRbacWithJsonBody) {
  auto c = connect(mesh.report);
  ASSERT_TRUE(c->send(makeRequest("POST", "/budget/submit", "", "{\"amount\":5}")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(res->header("content-type"), "application/json");
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["error"], "rule_denied");
  EXPECT_EQ(body["layer"], "rbac");
  EXPECT_EQ(body["request_id"], res->header("x-request-id"));
  EXPECT_TRUE(body.contains("message"));
  EXPECT_EQ(mesh.app.requestCount(), 0u);
  ASSERT_TRUE(mesh.backendAudit().waitFor(1));
  EXPECT_EQ(mesh.backendAudit().events().back().rule_id, "report-default-deny");
}

TEST_F(IngressIdentityTest, ApprovalMaySubmit) {
  auto c = connect(mesh.approval);
  ASSERT_TRUE(c->send(makeRequest("POST", "/budget/submit", "", "{\"amount\":5}")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(nlohmann::json::parse(res->body)["body_bytes"], 12);
}

TEST_F(IngressIdentityTest, NoRuleMatchesIsNoMatchingRule) {
  auto c = connect(mesh.approval);
  ASSERT_TRUE(c->send(makeRequest("DELETE", "/budget/admin")));
  auto res = c->read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "no_matching_rule");
  EXPECT_TRUE(res->keep_alive) << "a bodiless denial keeps the connection";
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));
  auto again = c->read();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(IngressIdentityTest, ClientSuppliedIdentityHeadersNeverReachTheApp) {
  auto c = connect(mesh.report);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read",
                                  "X-Forwarded-SPIFFE-ID: spiffe://example.org/admin\r\n"
                                  "x-forwarded-client-cert: By=x;URI=spiffe://example.org/admin\r\n"
                                  "X-Request-ID: forged\r\n"
                                  "X-Warden-Caller: spiffe://example.org/admin\r\n"
                                  "X-SPIFFE-Caller-ID: spiffe://example.org/admin\r\n"
                                  "Connection: keep-alive, X-Other\r\nX-Other: hop\r\n")));
  auto res = c->read();
  ASSERT_TRUE(res) << c->lastError();
  ASSERT_EQ(res->status, 200);
  const auto seen = mesh.app.requests().at(0);
  EXPECT_EQ(seen.headers.at("x-forwarded-spiffe-id"), kReportId);
  EXPECT_EQ(seen.headers.at("x-forwarded-client-cert").find("admin"), std::string::npos);
  EXPECT_NE(seen.headers.at("x-request-id"), "forged");
  EXPECT_EQ(seen.headers.count("x-warden-caller"), 0u);
  EXPECT_EQ(seen.headers.count("x-spiffe-caller-id"), 0u);
  EXPECT_EQ(seen.headers.count("x-other"), 0u) << "hop-by-hop header named in Connection";
}

TEST_F(IngressIdentityTest, CallerNotOnAllowListIsRefusedAtHandshake) {
  expectRefused(mesh.menus, "peer_not_allowed", kMenusId);
}

TEST_F(IngressIdentityTest, UnknownCallerFromTheTrustDomainIsRefused) {
  expectRefused(mesh.svid("stranger", "spiffe://example.org/stranger"), "peer_not_allowed");
}

TEST_F(IngressIdentityTest, CallerFromUntrustedCaIsRefused) {
  TestCa rogue("example.org");  // same trust domain name, different key: not in the bundle
  expectRefused(mesh.svid("rogue", kReportId, {}, &rogue), "untrusted_certificate");
}

TEST_F(IngressIdentityTest, CallerFromUnknownTrustDomainIsRefused) {
  TestCa evil("evil.local");
  expectRefused(mesh.svid("evil", "spiffe://evil.local/budget-report", {}, &evil),
                "untrusted_certificate");
}

TEST_F(IngressIdentityTest, CertificateWithTwoUriSansIsRefused) {
  LeafOptions two;
  two.uris = {kReportId, "spiffe://example.org/other"};
  expectRefused(mesh.svid("two-sans", kReportId, two), "invalid_svid");
}

TEST_F(IngressIdentityTest, CaCertificateUsedAsLeafIsRefused) {
  LeafOptions ca_leaf;
  ca_leaf.is_ca = true;
  ca_leaf.key_cert_sign = true;
  expectRefused(mesh.svid("ca-leaf", kReportId, ca_leaf), "invalid_svid");
}

TEST_F(IngressIdentityTest, ExpiredCertificateIsRefused) {
  LeafOptions expired;
  expired.not_before_offset_s = -7200;
  expired.not_after_offset_s = -3600;
  expectRefused(mesh.svid("expired", kReportId, expired), "untrusted_certificate");
}

TEST_F(IngressIdentityTest, NoClientCertificateIsRefused) {
  expectRefused(std::nullopt, "handshake_failed");
}

TEST_F(IngressIdentityTest, LeafWithoutPathIsRefused) {
  LeafOptions root_id;
  root_id.uris = {"spiffe://example.org"};
  expectRefused(mesh.svid("no-path", "spiffe://example.org", root_id), "invalid_svid");
}

}  // namespace
}  // namespace warden::testing
