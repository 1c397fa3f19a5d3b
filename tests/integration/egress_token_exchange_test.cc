// Egress layer 3 by RFC 8693 token exchange: the sidecar of an outside caller (a GitHub
// Actions runner, a pod with a projected service-account token) holds no credential of
// its own at the token endpoint; the platform writes an OIDC token of an external issuer
// to a file, and the sidecar trades it at Warden's token service, which admits it under a
// federated credential (docs/sidecar.md "Egress tokens", docs/token-service.md).
//
// Everything is real and on 127.0.0.1: the embedded SPIFFE issuer (Workload API for both
// sidecars and the service's X509-SVID), Warden's token service, a target ingress sidecar
// whose policy trusts the service's keys, and tests/interop/fake_oidc_issuer.mjs as the
// external issuer (discovery and JWKS over HTTPS, tokens minted on request).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "issuer/identity_server.h"
#include "jose/jwk.h"
#include "support/mesh_harness.h"
#include "support/oidc_issuer_harness.h"
#include "support/test_env.h"
#include "tokenservice/token_service.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kAudience = "api://budget-backend";
const std::string kFicAudience = "api://AzureADTokenExchange";
const std::string kProdSubject = "repo:octo/app:environment:prod";
const std::string kStagingSubject = "repo:octo/app:environment:staging";
const std::string kReleaseBotId = "spiffe://example.org/release-bot";
const std::string kTokenServiceId = "spiffe://example.org/token-service";

std::string targetPolicy(const std::string& issuer, const std::string& jwks_file) {
  return R"(version: "egress-token-exchange-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
token:
  issuers:
    - issuer: )" +
         issuer + R"(
      jwks_file: )" +
         jwks_file + R"(
      audiences: [)" +
         kAudience + R"(]
      algorithms: [ES256]
  binding: none
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: runner-read
        methods: [GET]
        path: { prefix: /budget }
        action: allow
        roles: [Budget.Read]
)";
}

// What the platform does: a new file renamed over the old one (Kubernetes swaps a
// symlink), so that a reader never sees half a token.
void rotate(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << content;
  std::filesystem::rename(tmp, path);
}

class EgressTokenExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Every log line of the sidecars, debug included, to check that no token leaks.
    log_sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::default_logger()->sinks().push_back(log_sink_);
    saved_level_ = spdlog::default_logger()->level();
    spdlog::set_level(spdlog::level::debug);

    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(interopDir() + "/node_modules/jose"))
        << interopDir() << "/node_modules is missing; run scripts/setup.sh";

    // The external issuer's HTTPS certificate, from a test Web PKI.
    LeafOptions web;
    web.uri_san = false;
    web.ips = {"127.0.0.1"};
    const auto leaf = web_ca_.issue("spiffe://web.test/unused", web);
    web_ca_file_ = writeFile(mesh.dir.path(), "web-ca.pem", web_ca_.certPem());
    github_ = std::make_unique<FakeOidcIssuer>(
        node_, mesh.dir, "github", writeFile(mesh.dir.path(), "web.pem", leaf.certPem()),
        writeFile(mesh.dir.path(), "web.key", leaf.keyPem()));
    ASSERT_FALSE(github_->issuer().empty()) << github_->log();

    sockets_ = mesh.dir.path() + "/sockets";
    for (const char* name : {"token-service", "budget-report", "budget-backend"}) {
      issuer::RegistrationEntry e;
      e.name = name;
      e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + std::string(name)).value();
      e.socket_path = sockets_ + "/" + name + ".sock";
      entries_.push_back(e);
    }
    issuer::IdentityServerConfig identity;
    identity.trust_domain = "example.org";
    identity.state_dir = mesh.dir.path() + "/server-state";
    identity.entries = entries_;
    auto server = issuer::IdentityServer::start(identity, {});
    ASSERT_TRUE(server.ok()) << server.error().message;
    identity_ = std::move(*server);

    subject_file_ = mesh.dir.path() + "/gha-oidc-token";
  }

  void TearDown() override {
    egress_.reset();
    target_.reset();
    service_.reset();
    identity_.reset();
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_sink_), sinks.end());
    spdlog::set_level(saved_level_);
  }

  // The runner's job authenticates as budget-approval (environment prod) or as release-bot
  // (environment staging); both may read the budget.
  void startService(std::chrono::seconds token_ttl = std::chrono::minutes(5)) {
    tokenservice::TokenServiceConfig ts;
    ts.tls_svid_entry = "token-service";
    ts.policy.token_ttl = token_ttl;
    ts.policy.audiences = {{kAudience, std::nullopt, std::nullopt}};
    ts.policy.external_issuers = {{github_->issuer(), web_ca_file_, {jose::Alg::kRS256}}};
    tokenservice::AgentConfig approval;
    approval.name = "budget-approval";
    approval.spiffe_id = kApprovalId;
    approval.roles[kAudience] = {"Budget.Read"};
    approval.federated_credentials = {
        {"gha-prod", github_->issuer(), kProdSubject, "", kFicAudience}};
    tokenservice::AgentConfig bot;
    bot.name = "release-bot";
    bot.spiffe_id = kReleaseBotId;
    bot.roles[kAudience] = {"Budget.Read"};
    bot.federated_credentials = {
        {"gha-staging", github_->issuer(), kStagingSubject, "", kFicAudience}};
    ts.policy.agents = {approval, bot};
    auto service = tokenservice::TokenService::start(ts, identity_->issuer(), entries_,
                                                     mesh.dir.path() + "/server-state");
    ASSERT_TRUE(service.ok()) << service.error().message;
    service_ = std::move(*service);
  }

  void startTarget() {
    Json keys = Json::array();
    for (const auto& k : service_->signingKeys().publishedKeys()) {
      Json jwk;
      ASSERT_TRUE(jose::writePublicJwk(k.key.get(), jwk).ok());
      jwk["kid"] = k.kid;
      keys.push_back(jwk);
    }
    const auto jwks = writeFile(mesh.dir.path(), "sts-jwks.json", Json{{"keys", keys}}.dump());
    auto c = mesh.ingressConfig(
        mesh.backend_cred,
        mesh.writePolicy(targetPolicy(service_->issuerIdentifier(), jwks), "target-policy.yaml"));
    c.identity = {};
    c.identity.workload_api = "unix://" + sockets_ + "/budget-backend.sock";
    target_ = mesh.start(std::move(c));
    ASSERT_NE(target_, nullptr);
    target_audit_.attach(*target_);
  }

  proxy::EgressTokenConfig exchangeConfig() const {
    proxy::EgressTokenConfig t;
    t.token_endpoint = service_->issuerIdentifier() + "/token";
    t.server_spiffe_id = kTokenServiceId;
    t.resource = kAudience;
    t.subject_token_file = subject_file_;
    return t;
  }

  void startEgress(const proxy::EgressTokenConfig& token) {
    proxy::EgressRoute r;
    r.host = "budget-backend";
    r.path_prefix = "/budget";
    r.address = {"127.0.0.1", target_->ingressEndpoint().port};
    r.spiffe_id = kBackendId;
    r.token = token;
    auto c = mesh.egressConfig(mesh.report, {r});
    // The runner's sidecar: its mTLS identity from the Workload API, no credential at the
    // token endpoint.
    c.identity = {};
    c.identity.workload_api = "unix://" + sockets_ + "/budget-report.sock";
    c.admin_enabled = true;
    c.admin_listen = {"127.0.0.1", 0};
    egress_ = mesh.start(std::move(c));
    ASSERT_NE(egress_, nullptr);
    egress_audit_.attach(*egress_);
  }

  std::string mint(const std::string& sub) {
    const auto token = github_->mint({{"claims", {{"sub", sub}}}});
    EXPECT_FALSE(token.empty()) << github_->log();
    minted_.push_back(token);
    return token;
  }

  HttpResponse admin(const std::string& path) {
    auto c = TestConnection::plain(egress_->adminEndpoint().port);
    if (!c || !c->send("GET " + path + " HTTP/1.1\r\nHost: admin\r\n\r\n"))
      return {};
    auto res = c->read();
    return res ? *res : HttpResponse{};
  }
  Json readyz() { return Json::parse(admin("/readyz").body, nullptr, false); }
  // The route's /readyz entry; an empty object while there is none.
  Json route() {
    Json r = readyz()["egress_tokens"]["routes"][0];
    return r.is_object() ? r : Json::object();
  }

  HttpResponse get(const std::string& path, const std::string& headers = "") {
    auto c = TestConnection::plain(egress_->egressEndpoint().port);
    EXPECT_NE(c, nullptr);
    if (!c || !c->send(makeRequest("GET", path, headers)))
      return {};
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }
  static Json body(const HttpResponse& r) { return Json::parse(r.body, nullptr, false); }

  // No subject token minted by the test, nor its signature alone, in `text`.
  void expectNoSubjectToken(const std::string& where, const std::string& text) {
    for (const auto& token : minted_) {
      EXPECT_EQ(text.find(token), std::string::npos) << where << " holds a subject token";
      EXPECT_EQ(text.find(token.substr(token.rfind('.') + 1)), std::string::npos)
          << where << " holds a subject token's signature";
    }
  }
  void expectNoSubjectTokenAnywhere() {
    ASSERT_FALSE(minted_.empty());
    expectNoSubjectToken("/readyz", admin("/readyz").body);
    expectNoSubjectToken("/config_dump", admin("/config_dump").body);
    expectNoSubjectToken("/metrics", admin("/metrics").body);
    expectNoSubjectToken("the log", log_.str());
    for (const auto& e : egress_audit_.events()) {
      expectNoSubjectToken("the audit log", audit::toJsonLine(e));
    }
  }

  Mesh mesh;
  std::ostringstream log_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> log_sink_;
  spdlog::level::level_enum saved_level_ = spdlog::level::info;
  std::string node_, web_ca_file_, sockets_, subject_file_;
  TestCa web_ca_{"web.test"};
  std::unique_ptr<FakeOidcIssuer> github_;
  std::vector<issuer::RegistrationEntry> entries_;
  std::unique_ptr<issuer::IdentityServer> identity_;
  std::unique_ptr<tokenservice::TokenService> service_;
  std::vector<std::string> minted_;
  AuditRecorder target_audit_, egress_audit_;  // outlive the sidecars that feed them
  std::unique_ptr<proxy::Sidecar> target_, egress_;
};

// RFC 8693 §2.1: the file's GitHub token (with the trailing newline platforms write) is
// exchanged for an access token of the agent its federated credential names; the target's
// layer 3 accepts it. The admin views say token_exchange and name the file, never its
// content.
TEST_F(EgressTokenExchangeTest, ExchangesTheFileTokenForOneTheTargetAccepts) {
  startService();
  startTarget();
  rotate(subject_file_, mint(kProdSubject) + "\n");
  startEgress(exchangeConfig());
  ASSERT_TRUE(waitUntil([&] { return target_->ready() && egress_->ready(); }, 15s))
      << readyz().dump();

  const auto res = get("/budget/read", "Authorization: Bearer app-made-this-up\r\n");
  ASSERT_EQ(res.status, 200) << res.body;
  const auto echoed = body(res)["headers"];
  EXPECT_EQ(echoed["x-warden-token-issuer"], service_->issuerIdentifier());
  EXPECT_EQ(echoed["x-warden-token-subject"], kApprovalId) << "the federated credential's agent";
  EXPECT_EQ(echoed["x-warden-token-audience"], kAudience);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  EXPECT_FALSE(echoed.contains("authorization"));
  EXPECT_EQ(service_->stats().issued, 1u);
  EXPECT_EQ(service_->stats().refused, 0u);

  const auto r = route();
  EXPECT_EQ(r["grant"], "token_exchange") << r.dump();
  EXPECT_EQ(r["client_auth"], "none");
  EXPECT_EQ(r["subject_token_file"], subject_file_);
  EXPECT_EQ(r["ok"], true);
  const auto dump = Json::parse(admin("/config_dump").body, nullptr, false);
  const auto& token = dump["egress"]["routes"][0]["token"];
  EXPECT_EQ(token["grant"], "token_exchange") << dump.dump();
  EXPECT_EQ(token["client_auth"], "none");
  EXPECT_EQ(token["subject_token_file"], subject_file_);
  EXPECT_EQ(token["subject_token_type"], "urn:ietf:params:oauth:token-type:jwt");
  EXPECT_FALSE(token.contains("client_id")) << "none is sent, so none is shown";
  expectNoSubjectTokenAnywhere();
}

// The platform rotates the file: the next fetch (here every second: 10 s tokens refreshed
// 9 s early) sends the new token, and the target sees the agent that one maps to.
TEST_F(EgressTokenExchangeTest, ARotatedFileIsUsedAtTheNextFetch) {
  startService(10s);
  startTarget();
  rotate(subject_file_, mint(kProdSubject));
  auto config = exchangeConfig();
  config.refresh_before = 9s;
  startEgress(config);
  ASSERT_TRUE(waitUntil([&] { return target_->ready() && egress_->ready(); }, 15s))
      << readyz().dump();
  ASSERT_EQ(body(get("/budget/read"))["headers"]["x-warden-token-subject"], kApprovalId);
  // (A failure before the Workload API delivered the SVID the endpoint check needs is fine.)
  const auto failed_before = route()["fetches_failed"].get<int>();

  rotate(subject_file_, mint(kStagingSubject) + "\n");
  EXPECT_TRUE(waitUntil(
      [&] {
        return body(get("/budget/read"))["headers"]["x-warden-token-subject"] == kReleaseBotId;
      },
      8s))
      << route().dump();
  EXPECT_EQ(route()["fetches_failed"], failed_before);
  expectNoSubjectTokenAnywhere();
}

// A token no federated credential admits: the service refuses the exchange, /readyz shows
// its error, and the app gets 503 token_unavailable; nothing reaches the target.
TEST_F(EgressTokenExchangeTest, ATokenNoFederatedCredentialAdmitsIs503) {
  startService();
  startTarget();
  rotate(subject_file_, mint("repo:octo/other:environment:prod"));
  startEgress(exchangeConfig());
  ASSERT_TRUE(waitUntil(
      [&] {
        return route().value("last_error", "").find("HTTP 400 invalid_request") !=
               std::string::npos;
      },
      15s))
      << readyz().dump();

  EXPECT_FALSE(egress_->ready());
  const auto ready = readyz();
  EXPECT_EQ(ready["egress_tokens"]["ok"], false);
  const auto last_error = ready["egress_tokens"]["routes"][0]["last_error"].get<std::string>();
  EXPECT_NE(last_error.find("HTTP 400 invalid_request"), std::string::npos) << ready.dump();

  const auto res = get("/budget/read");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_EQ(body(res)["layer"], "token");
  EXPECT_NE(body(res)["message"].get<std::string>().find("invalid_request"), std::string::npos)
      << res.body;
  EXPECT_TRUE(target_audit_.events().empty());
  EXPECT_EQ(service_->stats().issued, 0u);
  expectNoSubjectTokenAnywhere();
}

// A file the platform has not written yet, then one with garbage: each attempt re-reads
// it and says what is wrong with it without quoting it. Once retries are seconds apart, a
// good token written to the file is picked up within about a second (the file is watched
// after a failure), not after the backoff.
TEST_F(EgressTokenExchangeTest, TheFileIsReReadAndWatchedAfterAFailure) {
  startService();
  startTarget();
  startEgress(exchangeConfig());
  const std::string missing = "subject_token_file \"" + subject_file_ + "\": cannot open";
  ASSERT_TRUE(waitUntil([&] { return route().value("last_error", "").find(missing) == 0; }, 15s))
      << route().dump();
  EXPECT_NE(body(get("/budget/read"))["message"].get<std::string>().find("cannot open"),
            std::string::npos);

  const std::string garbage = "not a token: secret-looking-stuff";
  rotate(subject_file_, garbage);
  ASSERT_TRUE(waitUntil(
      [&] {
        return route()["last_error"].get<std::string>().find("outside the JWT alphabet") !=
               std::string::npos;
      },
      10s))
      << route().dump();
  EXPECT_EQ(readyz().dump().find("secret-looking-stuff"), std::string::npos);
  EXPECT_EQ(log_.str().find("secret-looking-stuff"), std::string::npos);

  // Five failures in: the next retry is 4-8 s away (0.5 s doubling, jittered over the upper
  // half).
  ASSERT_TRUE(waitUntil([&] { return route()["fetches_failed"].get<int>() >= 5; }, 20s));
  const auto written = Clock::now();
  rotate(subject_file_, mint(kProdSubject));
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 10s)) << route().dump();
  EXPECT_LT(Clock::now() - written, 3s) << "the new file waited for the backoff";
  EXPECT_EQ(get("/budget/read").status, 200);
  expectNoSubjectTokenAnywhere();
}

}  // namespace
}  // namespace warden::testing
