// Layer 3 in the sidecar (issue 4): the target's policy names trusted issuers and each
// allow rule the roles it needs; the ingress verifies the caller's Bearer token (RFC 6750,
// RFC 9068, RFC 8725) after layers 1 and 2, binds it to the connection when asked
// (RFC 8705 §3), and forwards verified facts instead of the credential.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/mesh_harness.h"

namespace warden::testing {
namespace {

using nlohmann::json;

const std::string kIssuer = "https://token.example.org";
const std::string kAudience = "api://budget-backend";

std::string policyWithTokens(const std::string& jwks_path, const std::string& binding) {
  return R"(version: "oauth-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
  - id: spiffe://example.org/budget-approval
token:
  issuers:
    - issuer: )" + kIssuer + R"(
      jwks_file: )" + jwks_path + R"(
      audiences: [)" + kAudience + R"(]
      algorithms: [ES256]
  binding: )" + binding + R"(
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
        roles: [Budget.Read]
      - id: report-default-deny
        methods: ["*"]
        path: { prefix: / }
        action: deny
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
        roles: [Budget.Read]
      - id: approval-submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
        roles: [Budget.Submit]
        claims: { department: finance }
)";
}

class IngressTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::shared_ptr<EVP_PKEY>(jose::generateP256Key().release(), EVP_PKEY_free);
    json jwk;
    ASSERT_TRUE(jose::writePublicJwk(key_.get(), jwk).ok());
    kid_ = jose::jwkThumbprint(key_.get()).value();
    jwk["kid"] = kid_;
    jwk["use"] = "sig";
    jwks_path_ = writeFile(mesh.dir.path(), "jwks.json", json{{"keys", {jwk}}}.dump());
  }

  void startBackend(const std::string& binding = "none") {
    backend_ = mesh.start(
        mesh.ingressConfig(mesh.backend_cred, mesh.writePolicy(policyWithTokens(jwks_path_, binding))));
    ASSERT_NE(backend_, nullptr);
    audit_.attach(*backend_);
  }

  std::string mint(const std::string& sub, const std::vector<std::string>& roles,
                   json extra = json::object(), json header = json::object()) const {
    const auto now = std::time(nullptr);
    json claims = {{"iss", kIssuer}, {"sub", sub},         {"aud", kAudience},
                   {"client_id", sub}, {"iat", now},       {"exp", now + 300},
                   {"jti", std::to_string(now) + sub},     {"roles", roles}};
    for (auto& [k, v] : extra.items()) claims[k] = v;
    header["kid"] = kid_;
    if (!header.contains("typ")) header["typ"] = "at+jwt";
    return jose::signCompact(header, claims, jose::Alg::kES256, key_.get()).value();
  }

  HttpResponse call(const ClientCredential& who, const std::string& method, const std::string& path,
                    const std::string& token) {
    auto c = TestConnection::tls(backend_->ingressEndpoint().port, who);
    EXPECT_NE(c, nullptr);
    const std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
    EXPECT_TRUE(c->send(makeRequest(method, path, auth, method == "POST" ? "{}" : "")));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  static std::string error(const HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("error", "");
  }

  Mesh mesh;
  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_, jwks_path_;
  AuditRecorder audit_;  // declared first: it must outlive the sidecar that feeds it
  std::unique_ptr<proxy::Sidecar> backend_;
};

// The seed's OAuth cases (prototype T-1, S2, S4, OA-1).
TEST_F(IngressTokenTest, SeedRolesDecideAfterRbac) {
  startBackend();
  const auto read = call(mesh.report, "GET", "/budget/read", mint(kReportId, {"Budget.Read"}));
  EXPECT_EQ(read.status, 200) << read.body;
  const auto echoed = json::parse(read.body)["headers"];
  // The app learns the verified facts, never the credential (it could replay it).
  EXPECT_FALSE(echoed.contains("authorization"));
  EXPECT_EQ(echoed["x-warden-token-issuer"], kIssuer);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  EXPECT_EQ(echoed["x-warden-token-audience"], kAudience);

  // budget-report with only Budget.Read may not submit: layer 2 denies first.
  const auto submit = call(mesh.report, "POST", "/budget/submit", mint(kReportId, {"Budget.Read"}));
  EXPECT_EQ(submit.status, 403);
  EXPECT_EQ(error(submit), "rule_denied");

  // budget-approval with Budget.Submit passes; with Budget.Read only, layer 3 says no.
  const json finance = {{"department", "finance"}};
  const auto approve = call(mesh.approval, "POST", "/budget/submit",
                            mint(kApprovalId, {"Budget.Read", "Budget.Submit"}, finance));
  EXPECT_EQ(approve.status, 200) << approve.body;
  // The rule also requires department=finance (a per-rule claim requirement).
  const auto other_dept = call(mesh.approval, "POST", "/budget/submit",
                               mint(kApprovalId, {"Budget.Read", "Budget.Submit"},
                                    {{"department", "hr"}}));
  EXPECT_EQ(other_dept.status, 403);
  EXPECT_EQ(error(other_dept), "claim_mismatch");
  const auto short_roles =
      call(mesh.approval, "POST", "/budget/submit", mint(kApprovalId, {"Budget.Read"}, finance));
  EXPECT_EQ(short_roles.status, 403);
  EXPECT_EQ(error(short_roles), "insufficient_roles");
  EXPECT_EQ(json::parse(short_roles.body)["layer"], "token");

  // Audited with the verified token's facts, never the token (ARCHITECTURE.md §4).
  ASSERT_TRUE(audit_.waitFor(5));
  bool saw = false;
  for (const auto& e : audit_.events()) {
    if (e.reason != "insufficient_roles") continue;
    saw = true;
    EXPECT_TRUE(e.token_present);
    ASSERT_NE(e.token, nullptr);
    EXPECT_EQ(e.token->issuer, kIssuer);
    EXPECT_EQ(e.token->subject, kApprovalId);
    EXPECT_EQ(e.token->roles_csv, "Budget.Read");
    EXPECT_EQ(e.token->jti_digest.size(), 64u);
    EXPECT_EQ(e.rule_id, "approval-submit");
    EXPECT_EQ(audit::toJsonLine(e).find(mint(kApprovalId, {"Budget.Read"}).substr(0, 20)),
              std::string::npos);
  }
  EXPECT_TRUE(saw);
}

// RFC 6750 §3: no token -> 401 with a bare Bearer challenge; a bad one -> invalid_token.
TEST_F(IngressTokenTest, MissingAndInvalidTokensGet401WithAChallenge) {
  startBackend();
  const auto missing = call(mesh.report, "GET", "/budget/read", "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error(missing), "token_missing");
  EXPECT_EQ(missing.headers.at("www-authenticate"), "Bearer");

  const auto expired = call(mesh.report, "GET", "/budget/read",
                            mint(kReportId, {"Budget.Read"}, {{"exp", std::time(nullptr) - 600}}));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(error(expired), "token_expired");
  EXPECT_NE(expired.headers.at("www-authenticate").find("error=\"invalid_token\""), std::string::npos);

  const auto wrong_aud = call(mesh.report, "GET", "/budget/read",
                              mint(kReportId, {"Budget.Read"}, {{"aud", "api://other"}}));
  EXPECT_EQ(wrong_aud.status, 401);
  EXPECT_EQ(error(wrong_aud), "wrong_audience");

  // RFC 9068 §2.1 explicit typing: a plain JWT is not an access token here.
  const auto untyped = call(mesh.report, "GET", "/budget/read",
                            mint(kReportId, {"Budget.Read"}, json::object(), {{"typ", "JWT"}}));
  EXPECT_EQ(untyped.status, 401);
  EXPECT_EQ(error(untyped), "wrong_token_type");

  std::string tampered = mint(kReportId, {"Budget.Read"});
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  const auto bad_sig = call(mesh.report, "GET", "/budget/read", tampered);
  EXPECT_EQ(bad_sig.status, 401);

  // Denials at layer 3 are audited with the token facts, never the token.
  ASSERT_TRUE(audit_.waitFor(5));
  bool saw_expired = false;
  for (const auto& e : audit_.events()) {
    if (e.reason == "token_expired") {
      saw_expired = true;
      EXPECT_EQ(e.layer, "token");
      EXPECT_TRUE(e.token_present);
    }
  }
  EXPECT_TRUE(saw_expired);

  // Per-issuer JWKS metrics.
  auto m = TestConnection::plain(backend_->adminEndpoint().port);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
  const auto metrics = m->read();
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("warden_jwks_ready{issuer=\"" + kIssuer + "\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("warden_jwks_keys{issuer=\"" + kIssuer + "\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("warden_decisions_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("warden_token_cache_lookups_total{result=\"miss\"}"), std::string::npos);
}

// Binding to the transport (issue 4): a token replayed from another workload is refused.
TEST_F(IngressTokenTest, SubjectBindingRefusesATokenReplayedByAnotherWorkload) {
  startBackend("subject");
  EXPECT_EQ(call(mesh.report, "GET", "/budget/read", mint(kReportId, {"Budget.Read"})).status, 200);
  // budget-approval presents budget-report's token: right roles, wrong holder.
  const auto replayed = call(mesh.approval, "GET", "/budget/read", mint(kReportId, {"Budget.Read"}));
  EXPECT_EQ(replayed.status, 403);
  EXPECT_EQ(error(replayed), "token_not_bound");
}

// RFC 8705 §3: cnf.x5t#S256 must be the SHA-256 of the certificate on this connection.
TEST_F(IngressTokenTest, CertificateBindingChecksTheThumbprint) {
  startBackend("certificate");
  auto thumbprint = [](const ClientCredential& cred) {
    FILE* f = std::fopen(cred.cert_path.c_str(), "r");
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    unsigned char md[32];
    unsigned int len = 0;
    X509_digest(cert, EVP_sha256(), md, &len);
    X509_free(cert);
    return jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(md), len));
  };
  const json cnf_report = {{"cnf", {{"x5t#S256", thumbprint(mesh.report)}}}};
  const auto bound = call(mesh.report, "GET", "/budget/read", mint(kReportId, {"Budget.Read"}, cnf_report));
  EXPECT_EQ(bound.status, 200) << bound.body;
  if (bound.status != 200) {
    ASSERT_TRUE(audit_.waitFor(1));
    ADD_FAILURE() << audit_.events().back().detail;
  }
  const auto other = call(mesh.approval, "GET", "/budget/read", mint(kApprovalId, {"Budget.Read"}, cnf_report));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(error(other), "token_not_bound");
  const auto unbound = call(mesh.report, "GET", "/budget/read", mint(kReportId, {"Budget.Read"}));
  EXPECT_EQ(unbound.status, 403);
  EXPECT_EQ(error(unbound), "token_not_bound");
}

// Keys before traffic: a key source that never loads keeps the sidecar unready and
// answers 503 jwks_unavailable, not a flood of 401s (mesh-anchors §7).
TEST_F(IngressTokenTest, NoKeysMeansNotReadyAnd503) {
  jwks_path_ = mesh.dir.file("missing-jwks.json");
  startBackend();
  EXPECT_FALSE(backend_->ready());
  const auto r = call(mesh.report, "GET", "/budget/read", mint(kReportId, {"Budget.Read"}));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(error(r), "jwks_unavailable");
}

}  // namespace
}  // namespace warden::testing
