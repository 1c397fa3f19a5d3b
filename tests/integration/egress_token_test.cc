// Egress layer 3 (issue: "the egress sidecar obtains a token for each target's audience
// with its own SVID, caches it until shortly before expiry, refreshes in the background,
// and attaches it; the app never handles a credential").
//
// Token endpoints: tests/interop/fake_token_endpoint.mjs (npm jose checks the client
// assertion or the client certificate and mints RFC 9068 tokens), and Warden's own token
// service. The target is a real ingress sidecar whose policy trusts that endpoint's keys,
// so an attached token is proven by the target accepting it. Everything on 127.0.0.1.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <nlohmann/json.hpp>

#include "issuer/identity_server.h"
#include "jose/jwk.h"
#include "support/mesh_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/traffic_harness.h"
#include "tokenservice/token_service.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kAudience = "api://budget-backend";
const std::string kEndpointId = "spiffe://example.org/token-endpoint";

std::string targetPolicy(const std::string& issuer, const std::string& key_source,
                         const std::string& binding = "none") {
  return R"(version: "egress-token-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
token:
  issuers:
    - issuer: )" + issuer + R"(
      )" + key_source + R"(
      audiences: [)" + kAudience + R"(]
      algorithms: [ES256]
  binding: )" + binding + R"(
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { prefix: /budget }
        action: allow
        roles: [Budget.Read]
      - id: report-mtls
        methods: [GET]
        path: { prefix: /mtls }
        action: allow
        roles: [Budget.Read]
)";
}

// A public JWKS of the key in a PEM file (an SVID's): what a client registers at its
// authorization server for private_key_jwt.
Json jwksOfKeyFile(const std::string& key_path) {
  FILE* f = std::fopen(key_path.c_str(), "r");
  EVP_PKEY* key = f == nullptr ? nullptr : PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  if (f != nullptr) std::fclose(f);
  Json jwk;
  EXPECT_NE(key, nullptr);
  if (key == nullptr) return Json();
  EXPECT_TRUE(jose::writePublicJwk(key, jwk).ok());
  jwk["kid"] = jose::jwkThumbprint(key).value();
  EVP_PKEY_free(key);
  return Json{{"keys", Json::array({jwk})}};
}

Json readyz(proxy::Sidecar& sidecar) {
  auto c = TestConnection::plain(sidecar.adminEndpoint().port);
  if (!c || !c->send("GET /readyz HTTP/1.1\r\nHost: admin\r\n\r\n")) return Json();
  auto res = c->read();
  return res ? Json::parse(res->body, nullptr, false) : Json();
}

// fake_token_endpoint.mjs in its own node process.
class FakeTokenEndpoint {
 public:
  FakeTokenEndpoint(const std::string& node, const TempDir& dir, const std::string& name,
                    const Json& options) {
    const auto path = writeFile(dir.path(), name + ".json", options.dump());
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{node, interopDir() + "/fake_token_endpoint.mjs", path},
        dir.path());
    if (!child_->waitForOutput("READY ", 20s)) return;
    const auto out = child_->out();
    const auto begin = out.find("READY ") + 6;
    const Json ready =
        Json::parse(out.substr(begin, out.find('\n', begin) - begin), nullptr, false);
    if (ready.is_discarded()) return;
    issuer_ = ready["issuer"];
    token_endpoint_ = ready["token_endpoint"];
    control_ = ready["control"];
  }
  ~FakeTokenEndpoint() {
    child_->signal(SIGTERM);
    child_->wait(2s);
  }

  bool running() const { return !issuer_.empty(); }
  const std::string& issuer() const { return issuer_; }
  const std::string& tokenEndpoint() const { return token_endpoint_; }
  std::string jwksUrl() const { return "http://127.0.0.1:" + std::to_string(control_) + "/jwks"; }
  std::string log() const { return child_->out() + child_->err(); }

  Json control(const std::string& method, const std::string& path,
               const Json& body = Json::object()) {
    auto c = TestConnection::plain(control_);
    if (!c) return Json();
    const std::string text = method == "GET" ? "" : body.dump();
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: control\r\n";
    if (method != "GET") {
      req += "Content-Type: application/json\r\nContent-Length: " +
             std::to_string(text.size()) + "\r\n";
    }
    if (!c->send(req + "\r\n" + text)) return Json();
    auto res = c->read();
    return res ? Json::parse(res->body, nullptr, false) : Json();
  }
  Json stats() { return control("GET", "/stats"); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string issuer_, token_endpoint_;
  int control_ = 0;
};

class EgressTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(interopDir() + "/node_modules/jose"))
        << interopDir() << "/node_modules is missing; run scripts/setup.sh";
    // budget-report registers its SVID's public key for private_key_jwt (files mode: the
    // sidecar signs its assertions with that key).
    assertion_jwks_ = writeFile(mesh.dir.path(), "report-jwks.json",
                                jwksOfKeyFile(mesh.report.key_path).dump());
  }

  void startEndpoint(Json options = Json::object()) {
    if (!options.contains("assertion_jwks")) options["assertion_jwks"] = assertion_jwks_;
    options["roles"] = {"Budget.Read"};
    endpoint_ = std::make_unique<FakeTokenEndpoint>(
        node_, mesh.dir, "endpoint-" + std::to_string(++endpoints_), options);
    ASSERT_TRUE(endpoint_->running()) << endpoint_->log();
  }

  void startTarget(const std::string& binding = "none") {
    target_ = mesh.start(mesh.ingressConfig(
        mesh.backend_cred,
        mesh.writePolicy(
            targetPolicy(endpoint_->issuer(), "jwks_url: " + endpoint_->jwksUrl(), binding),
            "target-policy.yaml")));
    ASSERT_NE(target_, nullptr);
    ASSERT_TRUE(waitUntil([&] { return target_->ready(); }, 10s)) << readyz(*target_).dump();
    target_audit_.attach(*target_);
  }

  proxy::EgressTokenConfig tokenConfig() const {
    proxy::EgressTokenConfig t;
    t.token_endpoint = endpoint_->tokenEndpoint();
    t.issuer = endpoint_->issuer();
    t.resource = kAudience;
    return t;
  }

  void startEgress(std::vector<proxy::EgressTokenConfig> tokens) {
    std::vector<proxy::EgressRoute> routes;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      proxy::EgressRoute r;
      r.host = "budget-backend";
      r.path_prefix = i == 0 ? "/budget" : "/mtls";
      r.address = {"127.0.0.1", target_->ingressEndpoint().port};
      r.spiffe_id = kBackendId;
      r.token = tokens[i];
      routes.push_back(std::move(r));
    }
    auto c = mesh.egressConfig(mesh.report, std::move(routes));
    c.admin_enabled = true;
    c.admin_listen = {"127.0.0.1", 0};
    egress_ = mesh.start(std::move(c));
    ASSERT_NE(egress_, nullptr);
    egress_audit_.attach(*egress_);
  }

  HttpResponse get(TestConnection& c, const std::string& path, const std::string& headers = "") {
    EXPECT_TRUE(c.send(makeRequest("GET", path, headers)));
    auto res = c.read();
    EXPECT_TRUE(res) << c.lastError();
    return res ? *res : HttpResponse{};
  }
  HttpResponse get(const std::string& path, const std::string& headers = "") {
    auto c = TestConnection::plain(egress_->egressEndpoint().port);
    EXPECT_NE(c, nullptr);
    return c ? get(*c, path, headers) : HttpResponse{};
  }

  static Json body(const HttpResponse& r) { return Json::parse(r.body, nullptr, false); }

  Mesh mesh;
  std::string node_, assertion_jwks_;
  int endpoints_ = 0;
  std::unique_ptr<FakeTokenEndpoint> endpoint_;
  AuditRecorder target_audit_, egress_audit_;  // outlive the sidecars that feed them
  std::unique_ptr<proxy::Sidecar> target_, egress_;
};

// private_key_jwt in files mode: the sidecar signs the assertion with its SVID's key; the
// endpoint (jose) verifies it; the target's ingress accepts the token. The app's own
// Authorization never reaches the target.
TEST_F(EgressTokenTest, AttachesATokenTheTargetAcceptsAndReplacesTheAppsAuthorization) {
  startEndpoint();
  startTarget();
  startEgress({tokenConfig()});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << readyz(*egress_).dump();

  const auto res = get("/budget/read", "Authorization: Bearer app-made-this-up\r\n"
                                       "authorization: Basic YWRtaW46YWRtaW4=\r\n");
  ASSERT_EQ(res.status, 200) << res.body << endpoint_->log();
  const auto echoed = body(res)["headers"];
  // The target verified a token from the endpoint, for this workload and this audience.
  EXPECT_EQ(echoed["x-warden-token-issuer"], endpoint_->issuer());
  EXPECT_EQ(echoed["x-warden-token-subject"], kReportId);
  EXPECT_EQ(echoed["x-warden-token-audience"], kAudience);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  EXPECT_FALSE(echoed.contains("authorization"));

  // What the endpoint saw: a client_credentials form with an RFC 7523 assertion signed by
  // the SVID key (kid = its RFC 7638 thumbprint) for this SPIFFE ID.
  const auto stats = endpoint_->stats();
  EXPECT_EQ(stats["issued"], 1) << stats.dump();
  EXPECT_EQ(stats["refused"], 0) << stats.dump();
  const auto& form = stats["last_form"];
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["resource"], kAudience);
  EXPECT_EQ(form["client_id"], kReportId);
  EXPECT_EQ(form["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_EQ(stats["auth"][0]["method"], "private_key_jwt");
  EXPECT_EQ(stats["auth"][0]["alg"], "ES256");
  EXPECT_EQ(stats["auth"][0]["kid"], Json::parse(std::ifstream(assertion_jwks_))["keys"][0]["kid"]);

  // Without the sidecar's token the app's credential would have been refused: the target
  // answers 401 to the app-made one.
  auto direct = TestConnection::tls(target_->ingressEndpoint().port, mesh.report);
  ASSERT_NE(direct, nullptr);
  EXPECT_EQ(get(*direct, "/budget/read", "Authorization: Bearer app-made-this-up\r\n").status, 401);

  // /readyz names the route, its endpoint and the token's expiry; never the token.
  const auto ready = readyz(*egress_);
  ASSERT_TRUE(ready.contains("egress_tokens")) << ready.dump();
  EXPECT_EQ(ready["egress_tokens"]["ok"], true);
  const auto& route = ready["egress_tokens"]["routes"][0];
  EXPECT_EQ(route["route"], "budget-backend/budget");
  EXPECT_EQ(route["token_endpoint"], endpoint_->tokenEndpoint());
  EXPECT_EQ(route["client_auth"], "private_key_jwt");
  EXPECT_EQ(route["ok"], true);
  EXPECT_GT(route["expires_unix"].get<std::int64_t>(), std::time(nullptr) + 200);
  EXPECT_FALSE(route.contains("last_error"));
  EXPECT_EQ(ready.dump().find("eyJ"), std::string::npos);

  // Audited as allowed with a token attached, never the token itself.
  ASSERT_TRUE(egress_audit_.waitFor(1));
  const auto e = egress_audit_.events().front();
  EXPECT_TRUE(e.allowed);
  EXPECT_TRUE(e.token_present);
  EXPECT_EQ(audit::toJsonLine(e).find("eyJ"), std::string::npos);
}

// N requests (new connections and keep-alive) -> one token request.
TEST_F(EgressTokenTest, TheTokenIsCachedAcrossRequests) {
  startEndpoint();
  startTarget();
  startEgress({tokenConfig()});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << readyz(*egress_).dump();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get("/budget/read").status, 200);
  auto c = TestConnection::plain(egress_->egressEndpoint().port);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get(*c, "/budget/read").status, 200);
  EXPECT_EQ(endpoint_->stats()["token_requests"], 1) << endpoint_->stats().dump();

  // The same facts on /metrics: one successful fetch, a token held.
  auto m = TestConnection::plain(egress_->adminEndpoint().port);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->send("GET /metrics HTTP/1.1\r\nHost: admin\r\n\r\n"));
  const auto metrics = m->read();
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("warden_egress_token_ok{route=\"budget-backend/budget\"} 1"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("warden_egress_token_fetches_total{route=\"budget-backend/budget\",result=\"ok\"} 1"),
            std::string::npos);
}

// expires_in 3 s: refresh_before is min(60 s, 20%) = 0.6 s, so a new token arrives every
// ~2.4 s, in the background; 10 s of continuous traffic sees no failure at all.
TEST_F(EgressTokenTest, RefreshesBeforeExpiryWithoutAFailedRequest) {
  startEndpoint({{"expires_in", 3}});
  startTarget();
  startEgress({tokenConfig()});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << readyz(*egress_).dump();
  auto c = TestConnection::plain(egress_->egressEndpoint().port);
  ASSERT_NE(c, nullptr);
  int ok = 0, failed = 0;
  std::map<int, int> statuses;
  const auto end = Clock::now() + 10s;
  while (Clock::now() < end) {
    const auto res = get(*c, "/budget/read");
    ++statuses[res.status];
    (res.status == 200 ? ok : failed) += 1;
    if (res.status != 200) {
      ADD_FAILURE() << "status " << res.status << ": " << res.body;
      c = TestConnection::plain(egress_->egressEndpoint().port);
      ASSERT_NE(c, nullptr);
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 100);
  const auto stats = endpoint_->stats();
  // Four or five refreshes in 10 s (plus the first token), each one before the previous
  // token expired (or requests would have failed).
  EXPECT_GE(stats["issued"].get<int>(), 4) << stats.dump();
  EXPECT_LE(stats["issued"].get<int>(), 7) << stats.dump();
  EXPECT_EQ(stats["refused"], 0) << stats.dump();
}

// The endpoint goes down: the held token keeps working until it expires; only then 503
// token_unavailable (layer token), audited, and /readyz false with the last error. When
// the endpoint is back, the retry finds it without a restart.
TEST_F(EgressTokenTest, EndpointDownIs503OnlyOnceTheHeldTokenExpired) {
  startEndpoint({{"expires_in", 3}});
  startTarget();
  startEgress({tokenConfig()});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << readyz(*egress_).dump();
  endpoint_->control("POST", "/down");
  const auto held_until =
      readyz(*egress_)["egress_tokens"]["routes"][0]["expires_unix"].get<std::int64_t>();
  ASSERT_GT(held_until, 0);

  std::optional<HttpResponse> first_503;
  std::time_t first_503_at = 0;
  int ok_before = 0;
  const auto end = Clock::now() + 8s;
  while (Clock::now() < end && !first_503) {
    const auto res = get("/budget/read");
    const auto now = std::time(nullptr);
    if (res.status == 200) {
      ++ok_before;
      EXPECT_LE(now, held_until) << "a 200 after the held token expired";
    } else {
      first_503 = res;
      first_503_at = now;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(first_503) << "the held token never expired";
  EXPECT_GT(ok_before, 5);
  // Not before the token's expiry (the clock's second may lag the steady clock by one).
  EXPECT_GE(first_503_at, held_until - 1);
  EXPECT_EQ(first_503->status, 503) << first_503->body;
  EXPECT_EQ(body(*first_503)["error"], "token_unavailable");
  EXPECT_EQ(body(*first_503)["layer"], "token");
  EXPECT_NE(body(*first_503)["message"].get<std::string>().find("expired"), std::string::npos);

  EXPECT_FALSE(egress_->ready());
  const auto ready = readyz(*egress_);
  EXPECT_EQ(ready["ready"], false);
  EXPECT_EQ(ready["egress_tokens"]["ok"], false);
  const auto last_error = ready["egress_tokens"]["routes"][0]["last_error"].get<std::string>();
  EXPECT_NE(last_error.find("connecting to"), std::string::npos)
      << ready.dump();
  ASSERT_TRUE(waitUntil([&] {
    for (const auto& e : egress_audit_.events()) {
      if (e.reason == "token_unavailable") return true;
    }
    return false;
  }, 5s));
  for (const auto& e : egress_audit_.events()) {
    if (e.reason != "token_unavailable") continue;
    EXPECT_FALSE(e.allowed);
    EXPECT_EQ(e.layer, "token");
    EXPECT_EQ(e.status, 503);
    EXPECT_EQ(e.target_id, kBackendId);
  }

  endpoint_->control("POST", "/up");
  EXPECT_TRUE(waitUntil([&] { return egress_->ready(); }, 30s)) << readyz(*egress_).dump();
  EXPECT_EQ(get("/budget/read").status, 200);
}

// An endpoint that never answers: not ready, and 503 from the first request on (the
// message carries the last error for the local app). An endpoint that refuses the client:
// its OAuth error is shown.
TEST_F(EgressTokenTest, NoTokenYetIs503WithTheReason) {
  startEndpoint({{"assertion_jwks", writeFile(mesh.dir.path(), "other-jwks.json",
                                               jwksOfKeyFile(mesh.approval.key_path).dump())}});
  startTarget();
  startEgress({tokenConfig()});
  ASSERT_TRUE(waitUntil([&] { return endpoint_->stats()["refused"].get<int>() >= 1; }, 10s));
  EXPECT_FALSE(egress_->ready());
  const auto res = get("/budget/read", "Authorization: Bearer app-made-this-up\r\n");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_NE(body(res)["message"].get<std::string>().find("HTTP 401 invalid_client"),
            std::string::npos)
      << res.body;
  // The request never reached the target.
  EXPECT_TRUE(target_audit_.events().empty());
  const auto route = readyz(*egress_)["egress_tokens"]["routes"][0];
  EXPECT_EQ(route["ok"], false);
  EXPECT_GE(route["fetches_failed"].get<int>(), 1);
}

// RFC 8705 tls_client_auth over HTTPS: the endpoint's certificate is an X509-SVID checked
// against server_spiffe_id with the sidecar's bundles; the sidecar presents its own
// X509-SVID, and the token comes back bound to it (cnf.x5t#S256), which the target checks
// against the certificate on the egress connection (binding: certificate).
TEST_F(EgressTokenTest, TlsClientAuthGetsACertificateBoundTokenTheTargetAccepts) {
  const auto server = mesh.svid("token-endpoint", kEndpointId);
  startEndpoint({{"https", {{"cert", server.cert_path}, {"key", server.key_path},
                            {"client_ca", mesh.bundle_path}}}});
  startTarget("certificate");
  auto mtls = tokenConfig();
  mtls.client_auth = proxy::TokenClientAuth::kTlsClientAuth;
  mtls.issuer.clear();
  mtls.server_spiffe_id = kEndpointId;
  // A second route whose endpoint must be another workload: refused at the handshake.
  auto wrong = mtls;
  wrong.server_spiffe_id = "spiffe://example.org/not-the-endpoint";
  startEgress({wrong, mtls});
  // Issued is not yet held: the sidecar takes the answer a moment after the endpoint sent
  // it, so wait for the route's token on /readyz (routes in config order: mtls is [1]).
  ASSERT_TRUE(waitUntil([&] { return endpoint_->stats()["issued"] == 1; }, 10s));
  ASSERT_TRUE(waitUntil([&] { return readyz(*egress_)["egress_tokens"]["routes"][1]["ok"] == true; }, 10s))
      << readyz(*egress_).dump();

  const auto res = get("/mtls/read");
  ASSERT_EQ(res.status, 200) << res.body << endpoint_->log();
  EXPECT_EQ(body(res)["headers"]["x-warden-token-subject"], kReportId);
  const auto stats = endpoint_->stats();
  EXPECT_EQ(stats["auth"][0]["method"], "tls_client_auth") << stats.dump();
  EXPECT_FALSE(stats["last_form"].contains("client_assertion_type"));
  EXPECT_EQ(stats["last_form"]["client_id"], kReportId);

  const auto refused = get("/budget/read");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(body(refused)["message"].get<std::string>().find("upstream_identity_mismatch"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(endpoint_->stats()["issued"], 1) << "the impostor check happens before any request";
}

// private_key_jwt over HTTPS with Web PKI: the endpoint is verified by RFC 6125 against
// ca_file (an IP SAN for 127.0.0.1).
TEST_F(EgressTokenTest, PrivateKeyJwtOverHttpsVerifiedWithCaFile) {
  TestCa web("web.test");
  LeafOptions opts;
  opts.uri_san = false;
  opts.ips = {"127.0.0.1"};
  const auto leaf = web.issue("spiffe://web.test/unused", opts);
  startEndpoint({{"https", {{"cert", writeFile(mesh.dir.path(), "web.pem", leaf.certPem())},
                            {"key", writeFile(mesh.dir.path(), "web.key", leaf.keyPem())}}}});
  startTarget();
  auto t = tokenConfig();
  t.ca_file = writeFile(mesh.dir.path(), "web-ca.pem", web.certPem());
  startEgress({t});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << readyz(*egress_).dump();
  EXPECT_EQ(get("/budget/read").status, 200);
}

// Warden's own token service beside an embedded identity server whose Workload API gives
// the sidecars their SVIDs; the target trusts the service's access-token keys.
class WardenTokenServiceTest : public EgressTokenTest {
 protected:
  std::string socketFor(const std::string& name) const {
    return mesh.dir.path() + "/sockets/" + name + ".sock";
  }

  // `report_ttl`: budget-report's X509-SVID lifetime (the server re-mints at half of it).
  void startService(std::chrono::seconds report_ttl = std::chrono::hours(1)) {
    std::vector<issuer::RegistrationEntry> entries;
    for (const char* name : {"token-service", "budget-report", "budget-backend"}) {
      issuer::RegistrationEntry e;
      e.name = name;
      e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + std::string(name)).value();
      e.socket_path = socketFor(name);
      if (e.name == "budget-report") e.x509_ttl = report_ttl;
      entries.push_back(e);
    }
    issuer::IdentityServerConfig identity;
    identity.trust_domain = "example.org";
    identity.state_dir = mesh.dir.path() + "/server-state";
    identity.entries = entries;
    issuer::IdentityServerTuning tuning;
    tuning.rotation_tick = 100ms;
    auto server = issuer::IdentityServer::start(identity, tuning);
    ASSERT_TRUE(server.ok()) << server.error().message;
    identity_server_ = std::move(*server);

    tokenservice::TokenServiceConfig ts;
    ts.tls_svid_entry = "token-service";
    ts.policy.audiences = {{kAudience, std::nullopt, std::nullopt}};
    tokenservice::AgentConfig report;
    report.name = "budget-report";
    report.spiffe_id = kReportId;
    report.roles[kAudience] = {"Budget.Read"};
    ts.policy.agents = {report};
    auto service = tokenservice::TokenService::start(ts, identity_server_->issuer(), entries,
                                                     identity.state_dir);
    ASSERT_TRUE(service.ok()) << service.error().message;
    service_ = std::move(*service);
    sts_ = service_->issuerIdentifier();
  }

  void startTargetTrustingService(const std::string& binding = "none") {
    Json keys = Json::array();
    for (const auto& k : service_->signingKeys().publishedKeys()) {
      Json jwk;
      ASSERT_TRUE(jose::writePublicJwk(k.key.get(), jwk).ok());
      jwk["kid"] = k.kid;
      keys.push_back(jwk);
    }
    const auto jwks = writeFile(mesh.dir.path(), "sts-jwks.json", Json{{"keys", keys}}.dump());
    auto config = mesh.ingressConfig(
        mesh.backend_cred,
        mesh.writePolicy(targetPolicy(sts_, "jwks_file: " + jwks, binding), "sts-policy.yaml"));
    config.identity = {};
    config.identity.workload_api = "unix://" + socketFor("budget-backend");
    config.identity.poll_interval_ms = 100;
    target_ = mesh.start(std::move(config));
    ASSERT_NE(target_, nullptr);
  }

  // /budget: private_key_jwt with a JWT-SVID (audience = the service's issuer) as the
  // assertion; /mtls: tls_client_auth. The service is verified as token-service's SVID.
  void startEgressWithServiceRoutes() {
    proxy::EgressTokenConfig jwt;
    jwt.token_endpoint = sts_ + "/token";
    jwt.issuer = sts_;
    jwt.resource = kAudience;
    jwt.server_spiffe_id = "spiffe://example.org/token-service";
    auto mtls = jwt;
    mtls.client_auth = proxy::TokenClientAuth::kTlsClientAuth;
    mtls.issuer.clear();
    mtls.resource.clear();
    mtls.scope = kAudience + "/.default";
    std::vector<proxy::EgressRoute> routes;
    for (const auto& [prefix, token] : {std::pair{"/budget", jwt}, std::pair{"/mtls", mtls}}) {
      proxy::EgressRoute r;
      r.host = "budget-backend";
      r.path_prefix = prefix;
      r.address = {"127.0.0.1", target_->ingressEndpoint().port};
      r.spiffe_id = kBackendId;
      r.token = token;
      routes.push_back(r);
    }
    auto c = mesh.egressConfig(mesh.report, std::move(routes));
    c.identity = {};
    c.identity.workload_api = "unix://" + socketFor("budget-report");
    c.identity.poll_interval_ms = 100;
    c.admin_enabled = true;
    c.admin_listen = {"127.0.0.1", 0};
    egress_ = mesh.start(std::move(c));
    ASSERT_NE(egress_, nullptr);
    ASSERT_TRUE(waitUntil([&] { return target_->ready() && egress_->ready(); }, 15s))
        << readyz(*egress_).dump();
  }

  void TearDown() override {
    egress_.reset();
    target_.reset();
  }

  std::unique_ptr<issuer::IdentityServer> identity_server_;
  std::unique_ptr<tokenservice::TokenService> service_;
  std::string sts_;
};

TEST_F(WardenTokenServiceTest, BothClientAuthenticationsGetTokensTheTargetAccepts) {
  startService();
  startTargetTrustingService();
  startEgressWithServiceRoutes();
  for (const char* path : {"/budget/read", "/mtls/read"}) {
    const auto res = get(path, "Authorization: Bearer app-made-this-up\r\n");
    ASSERT_EQ(res.status, 200) << path << ": " << res.body;
    const auto echoed = body(res)["headers"];
    EXPECT_EQ(echoed["x-warden-token-issuer"], sts_);
    EXPECT_EQ(echoed["x-warden-token-subject"], kReportId);
    EXPECT_EQ(echoed["x-warden-token-client-id"], kReportId);
    EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  }
  EXPECT_EQ(service_->stats().issued, 2u);
  EXPECT_EQ(service_->stats().refused, 0u);
}

// A sidecar whose SVID comes from files signs its private_key_jwt assertion with its own
// X509-SVID key. Warden's token service trusts assertions that are JWT-SVIDs (RFC 7523 with
// the trust domain's JWT authorities) and X509-SVIDs only on the TLS connection: it
// refuses the self-signed assertion and says what to use instead; no token is issued.
TEST_F(WardenTokenServiceTest, FilesModeAssertionIsRefusedWithTheWayOut) {
  startService();
  startTargetTrustingService();
  proxy::EgressTokenConfig jwt;
  jwt.token_endpoint = sts_ + "/token";
  jwt.issuer = sts_;
  jwt.resource = kAudience;
  jwt.server_spiffe_id = "spiffe://example.org/token-service";
  proxy::EgressRoute r;
  r.host = "budget-backend";
  r.address = {"127.0.0.1", target_->ingressEndpoint().port};
  r.spiffe_id = kBackendId;
  r.token = jwt;
  // budget-report's SVID and bundle from the Workload API, written to files as a platform
  // that delivers SVIDs as files would (spire-agent api fetch x509 -write).
  workload::WorkloadClient client(
      workload::parseEndpointAddress("unix://" + socketFor("budget-report")).value());
  auto fetched = client.fetchX509Context();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  std::string bundle_pem;
  for (const auto& ca : fetched->bundles.at("example.org")) {
    workload::X509Svid holder;
    holder.chain = {ca};
    bundle_pem += holder.chainPem();
  }
  auto c = mesh.egressConfig(mesh.report, {r});
  c.identity = {};
  c.identity.cert_path =
      writeFile(mesh.dir.path(), "files-report.pem", fetched->defaultSvid().chainPem());
  c.identity.key_path =
      writeFile(mesh.dir.path(), "files-report.key", fetched->defaultSvid().keyPem());
  c.identity.bundle_paths["example.org"] =
      writeFile(mesh.dir.path(), "files-bundle.pem", bundle_pem);
  c.admin_enabled = true;
  c.admin_listen = {"127.0.0.1", 0};
  egress_ = mesh.start(std::move(c));
  ASSERT_NE(egress_, nullptr);
  std::string error;
  ASSERT_TRUE(waitUntil([&] {
    const auto route = readyz(*egress_)["egress_tokens"]["routes"][0];
    error = route.value("last_error", "");
    return route.value("fetches_failed", 0) >= 1;
  }, 10s)) << readyz(*egress_).dump();
  EXPECT_NE(error.find("invalid_client"), std::string::npos) << error;
  EXPECT_NE(error.find("tls_client_auth"), std::string::npos) << error;
  EXPECT_EQ(service_->stats().issued, 0u);
}

// RFC 8705 §3: a token from tls_client_auth is bound to the certificate it was requested
// with, and the target (binding: certificate) checks cnf.x5t#S256 against the certificate
// on each connection. budget-report's SVID lives 4 s and is re-minted every 2 s while
// calls flow over a keep-alive connection and over fresh ones: a pooled connection made
// with the old certificate must never carry the new token, nor a new connection the old
// one (403 token_not_bound).
TEST_F(WardenTokenServiceTest, CertificateBoundTokenSurvivesSvidRotationUnderTraffic) {
  startService(std::chrono::seconds(4));
  startTargetTrustingService("certificate");
  startEgressWithServiceRoutes();

  const auto issued_before = service_->stats().issued;
  TrafficDriver traffic(egress_->egressEndpoint().port, "/mtls/read");
  std::this_thread::sleep_for(10s);
  traffic.stop();
  EXPECT_EQ(traffic.failed(), 0) << traffic.failed() << " of " << (traffic.ok() + traffic.failed())
                                 << " calls failed; first: " << traffic.firstFailure();
  EXPECT_GT(traffic.ok(), 100);
  // One new bound token per new certificate: the SVID really rotated, several times.
  EXPECT_GE(service_->stats().issued - issued_before, 3u);
}

}  // namespace
}  // namespace warden::testing
