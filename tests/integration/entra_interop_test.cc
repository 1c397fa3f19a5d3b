// Microsoft Entra, offline (the open item "Entra untested" of the OAuth2/JWT issue): Warden's
// sidecars against Entra's standard endpoints and token shapes, played by
// tests/interop/entra_standin.mjs (npm jose), which behaves as identity-standards §8.1 and
// §8.2 describe. Everything on 127.0.0.1; every certificate made here.
//
//   app ──> egress sidecar ──FIC form──> Entra stand-in (tenant <tid>, HTTPS, test Web PKI)
//              │   ^ JWT-SVID (iss, sub = SPIFFE ID, aud = api://AzureADTokenExchange)
//              │   └── Workload API: grpc-js fake of a SPIRE agent (workload_fake_server.mjs)
//              │        whose JWT-SVID issuer publishes discovery + JWKS (fake_oidc_issuer.mjs
//              │        in the role of SPIRE's OIDC discovery provider)
//              └──mTLS + Bearer <Entra v2 token>──> target sidecar ──> echo app
//                                 layer 3: the tenant's v2 discovery, typ "", aud = app GUID
//
// §8.1 maps a SPIFFE workload to an Entra FIC as: issuer = the OIDC discovery provider's
// URL (SPIRE's jwt_issuer), subject = the SPIFFE ID, audience = api://AzureADTokenExchange.
// The sidecar's Workload API mode sends its JWT-SVID for `assertion_audience` as the
// client assertion unchanged, so it works with any Workload API whose JWT-SVIDs carry that
// `iss` and are RSA-signed: a SPIRE agent (played by the fakes), or Warden's own embedded
// issuer with `jwt_issuer` and `jwt_key_type: rsa-2048`, whose bundle endpoint then serves
// the OIDC discovery document and JWKS (the EmbeddedIssuer* tests). Its default (ES256, no
// `iss`) is still refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "issuer/identity_server.h"
#include "jose/base64url.h"
#include "support/mesh_harness.h"
#include "support/oidc_issuer_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/workload_fake_harness.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// The tenant and its app registrations (GUIDs as Entra shows them; made up).
const std::string kTenant = "5b0c1a7e-3f2d-4c8a-9e61-2d4b7f80c3a1";
// budget-report's app registration (the client) and its service principal's object id.
const std::string kReportAppId = "0b8f6e5c-1d2e-4a7b-9c3d-5e6f7a8b9c0d";
const std::string kReportObjectId = "9d3c5a1e-7b2f-4e8d-a6c4-1f0e2d3b4a59";
// A client app registration holding no app roles.
const std::string kUnassignedAppId = "e8f6d4c2-b0a9-4876-8543-21fedcba9876";
// Resources: budget-backend asks for v2 tokens (requestedAccessTokenVersion 2); ledger for
// v1 (the default); payroll is some other API.
const std::string kBackendAppId = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const std::string kBackendUri = "api://budget-backend";
const std::string kLedgerAppId = "3c1d9e7f-5a2b-4c6d-8e0f-a1b2c3d4e5f6";
const std::string kLedgerUri = "api://ledger";
const std::string kPayrollAppId = "c4e2a8b6-0d1f-4a3e-9b5c-7d6e8f0a1b2c";
const std::string kPayrollUri = "api://payroll";
const std::string kLedgerId = "spiffe://example.org/ledger";
// §8.1: the FIC audience Entra recommends and the sidecar asks its JWT-SVID for.
const std::string kFicAudience = "api://AzureADTokenExchange";

std::string sha256Hex(const std::string& data) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

Json jwtPart(const std::string& jwt, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i)
    begin = jwt.find('.', begin) + 1;
  const auto end = jwt.find('.', begin);
  const auto decoded = jose::base64UrlDecode(jwt.substr(begin, end - begin));
  return decoded ? Json::parse(*decoded, nullptr, false) : Json();
}

Json readyz(proxy::Sidecar& sidecar) {
  auto c = TestConnection::plain(sidecar.adminEndpoint().port);
  if (!c || !c->send("GET /readyz HTTP/1.1\r\nHost: admin\r\n\r\n"))
    return Json();
  auto res = c->read();
  return res ? Json::parse(res->body, nullptr, false) : Json();
}

// `text` with every ${name} replaced by its value (YAML templates stay readable).
std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "${" + name + "}";
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  }
  return text;
}

Json body(const HttpResponse& r) {
  return Json::parse(r.body, nullptr, false);
}

// entra_standin.mjs in its own node process: READY line on stdout, SIGTERM on scope exit.
class EntraStandin {
 public:
  EntraStandin(const std::string& node, const TempDir& dir, const Json& options) {
    const auto path = writeFile(dir.path(), "entra-standin.json", options.dump());
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{node, interopDir() + "/entra_standin.mjs", path}, dir.path());
    // It makes an RSA signing certificate with openssl first: allow for a loaded machine.
    if (!child_->waitForOutput("READY ", 30s))
      return;
    const auto out = child_->out();
    const auto begin = out.find("READY ") + 6;
    ready_ = Json::parse(out.substr(begin, out.find('\n', begin) - begin), nullptr, false);
    if (ready_.is_discarded())
      ready_ = Json();
  }
  ~EntraStandin() {
    child_->signal(SIGTERM);
    if (!child_->wait(2s))
      child_->signal(SIGKILL);
  }
  EntraStandin(const EntraStandin&) = delete;
  EntraStandin& operator=(const EntraStandin&) = delete;

  bool running() const { return ready_.is_object(); }
  std::string get(const char* key) const { return ready_.value(key, ""); }
  std::string issuerV2() const { return get("issuer_v2"); }
  std::string issuerV1() const { return get("issuer_v1"); }
  std::string tokenEndpoint() const { return get("token_endpoint"); }
  std::string log() const { return child_->out() + child_->err(); }

  Json control(const std::string& method, const std::string& path,
               const Json& request = Json::object()) const {
    auto c = TestConnection::plain(static_cast<std::uint16_t>(ready_.value("control", 0)));
    if (!c)
      return Json();
    const std::string text = method == "GET" ? "" : request.dump();
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: control\r\n";
    if (method != "GET") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
             "\r\n";
    }
    if (!c->send(req + "\r\n" + text))
      return Json();
    auto res = c->read();
    return res ? Json::parse(res->body, nullptr, false) : Json();
  }
  Json stats() const { return control("GET", "/stats"); }
  // A token built as the token endpoint builds it, for `client_app_id` and `scope`.
  std::string issue(const std::string& client_app_id, const std::string& scope,
                    const std::string& key = "published") const {
    return control("POST", "/issue",
                   {{"client_app_id", client_app_id}, {"scope", scope}, {"key", key}})
        .value("access_token", "");
  }
  void setFics(const std::string& app_id, const Json& fics) const {
    control("POST", "/fics", {{"app_id", app_id}, {"federated_identity_credentials", fics}});
  }
  // Whether the stand-in has refused a request with AADSTS<code>.
  bool refusedWith(int code) const {
    const Json s = stats();
    for (const auto& e : s.value("errors", Json::array())) {
      if (e.value("code", 0) == code)
        return true;
    }
    return false;
  }

 private:
  std::unique_ptr<ChildProcess> child_;
  Json ready_;
};

class EntraInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(interopDir() + "/node_modules/jose"))
        << interopDir() << "/node_modules is missing; run scripts/setup.sh";
    // One local Web PKI for the HTTPS servers (the tenant, the OIDC discovery provider):
    // an IP SAN for 127.0.0.1, checked per RFC 6125 by the sidecars and by node.
    LeafOptions web;
    web.uri_san = false;
    web.ips = {"127.0.0.1"};
    const auto leaf = web_ca_.issue("spiffe://web.test/unused", web);
    web_cert_ = writeFile(mesh.dir.path(), "web.pem", leaf.certPem());
    web_key_ = writeFile(mesh.dir.path(), "web.key", leaf.keyPem());
    web_ca_file_ = writeFile(mesh.dir.path(), "web-ca.pem", web_ca_.certPem());
  }

  void TearDown() override {
    egress_.reset();
    target_.reset();
  }

  // The issuer of budget-report's JWT-SVIDs, in the role of SPIRE's OIDC discovery
  // provider: discovery at <issuer>/.well-known/openid-configuration and an RS256 JWKS.
  void startJwtSvidIssuer() {
    jwt_svid_issuer_ =
        std::make_unique<FakeOidcIssuer>(node_, mesh.dir, "jwt-svid-issuer", web_cert_, web_key_);
    ASSERT_FALSE(jwt_svid_issuer_->issuer().empty()) << jwt_svid_issuer_->log();
  }

  // The FIC of budget-report's app registration that admits its JWT-SVIDs (§8.1).
  Json reportFic(const std::string& subject = kReportId,
                 const std::string& audience = kFicAudience) const {
    return Json::array({{{"name", "warden-budget-report"},
                         {"issuer", jwt_svid_issuer_->issuer()},
                         {"subject", subject},
                         {"audiences", Json::array({audience})}}});
  }

  void startTenant(const Json& report_fics) {
    const Json apps = Json::array({
        {{"app_id", kReportAppId},
         {"object_id", kReportObjectId},
         {"display_name", "budget-report"},
         {"federated_identity_credentials", report_fics},
         {"app_role_assignments",
          {{kBackendUri, {"Budget.Read"}},
           {kLedgerUri, {"Ledger.Read"}},
           {kPayrollUri, {"Payroll.Read"}}}}},
        {{"app_id", kUnassignedAppId},
         {"object_id", "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"},
         {"display_name", "unassigned-client"}},
        {{"app_id", kBackendAppId},
         {"object_id", "7a6b5c4d-3e2f-4102-9384-a5b6c7d8e9f0"},
         {"identifier_uri", kBackendUri},
         {"requested_access_token_version", 2}},
        {{"app_id", kLedgerAppId},
         {"object_id", "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"},
         {"identifier_uri", kLedgerUri},
         {"requested_access_token_version", nullptr}},
        {{"app_id", kPayrollAppId},
         {"object_id", "8c9d0e1f-2a3b-4c5d-9e6f-7a8b9c0d1e2f"},
         {"identifier_uri", kPayrollUri},
         {"requested_access_token_version", 2}},
    });
    tenant_ = std::make_unique<EntraStandin>(node_, mesh.dir,
                                             Json{{"cert", web_cert_},
                                                  {"key", web_key_},
                                                  {"external_ca", web_ca_file_},
                                                  {"work_dir", mesh.dir.file("entra")},
                                                  {"tenant", kTenant},
                                                  {"applications", apps}});
    ASSERT_TRUE(tenant_->running()) << tenant_->log();
  }

  // Warden's embedded identity server as budget-report's Workload API (its own socket),
  // with jwt_issuer = https://127.0.0.1:<port of its bundle endpoint>, JWT keys of `type`,
  // and the bundle endpoint on the test Web PKI certificate (which the tenant trusts as
  // external_ca). Returns the jwt_issuer, empty on failure.
  std::string startEmbeddedIssuer(issuer::JwtKeyType type) {
    embedded_socket_ = mesh.dir.file("sockets/budget-report.sock");
    embedded_backend_socket_ = mesh.dir.file("sockets/budget-backend.sock");
    issuer::RegistrationEntry entry;
    entry.name = "budget-report";
    entry.spiffe_id = identity::SpiffeId::parse(kReportId).value();
    entry.socket_path = embedded_socket_;
    // The target too, so both ends of the mTLS hop chain to the embedded issuer's CA.
    issuer::RegistrationEntry backend;
    backend.name = "budget-backend";
    backend.spiffe_id = identity::SpiffeId::parse(kBackendId).value();
    backend.socket_path = embedded_backend_socket_;
    issuer::IdentityServerConfig identity;
    identity.trust_domain = "example.org";
    identity.state_dir = mesh.dir.file("server-state");
    identity.entries = {entry, backend};
    identity.jwt_key_type = type;
    issuer::BundleEndpointConfig endpoint;
    endpoint.listen_host = "127.0.0.1";
    endpoint.listen_port = freePort();
    endpoint.cert_path = web_cert_;
    endpoint.key_path = web_key_;
    identity.bundle_endpoint = endpoint;
    identity.jwt_issuer = "https://127.0.0.1:" + std::to_string(endpoint.listen_port);
    auto server = issuer::IdentityServer::start(identity);
    EXPECT_TRUE(server.ok()) << server.error().message;
    if (!server.ok())
      return {};
    identity_server_ = std::move(*server);
    return identity.jwt_issuer;
  }

  static Json ficFor(const std::string& issuer, const std::string& subject) {
    return Json::array({{{"name", "warden-embedded-issuer"},
                         {"issuer", issuer},
                         {"subject", subject},
                         {"audiences", Json::array({kFicAudience})}}});
  }

  // A Workload API like a SPIRE agent's with jwt_issuer set: budget-report's X509-SVID
  // (from the mesh CA) and a JWT-SVID {iss, sub, aud: api://AzureADTokenExchange, iat, exp}
  // signed RS256 by the discovery provider's key (`forged`: by a key it does not publish,
  // under the same kid). The same JWT-SVID answers every FetchJWTSVID; the fake logs which
  // audience the sidecar asked for.
  void startAgent(bool forged = false) {
    const auto now = std::time(nullptr);
    jwt_svid_ = jwt_svid_issuer_->mint(
        {{"claims", {{"sub", kReportId}, {"aud", kFicAudience}, {"iat", now}, {"exp", now + 3600}}},
         {"omit",
          {"jti", "nbf", "ref", "repository", "repository_owner", "environment", "event_name",
           "runner_environment"}},
         {"rogue", forged}});
    ASSERT_FALSE(jwt_svid_.empty()) << jwt_svid_issuer_->log();
    Credential svid = mesh.ca.issue(kReportId);
    const Json x509 = {{"spiffe_id", kReportId},
                       {"x509_svid", base64(certDer(svid.cert.get()))},
                       {"x509_svid_key", base64(pkcs8Der(svid.key.get()))},
                       {"bundle", base64(certDer(mesh.ca.cert()))}};
    agent_ = std::make_unique<FakeWorkloadServer>(
        mesh.dir, node_,
        Json{{"x509", {{"responses", Json::array({{{"svids", Json::array({x509})}}})}}},
             {"jwt_svid",
              {{"svids", Json::array({{{"spiffe_id", kReportId}, {"svid", jwt_svid_}}})}}}},
        "spire-agent");
    ASSERT_TRUE(agent_->ready()) << agent_->log();
  }

  // A target whose layer 3 trusts the tenant through its discovery document: v2 (issuer
  // <base>/<tid>/v2.0, audience = the resource's app id) or v1 (issuer
  // https://sts.windows.net/<tid>/, audience = the App ID URI). Entra's typ is "JWT", so
  // `typ: ""`; Entra signs RS256 only, so that is pinned.
  // With `workload_socket`, the target's identity comes from that Workload API instead of
  // the mesh CA's files. `binding` is appended to the token section; `callers` are the
  // SPIFFE IDs that layers 1 and 2 admit to the rule.
  std::unique_ptr<proxy::Sidecar> startTarget(bool v1, AuditRecorder& audit,
                                              const std::string& workload_socket = "",
                                              const std::string& binding = "",
                                              const std::vector<std::string>& callers = {
                                                  kReportId}) {
    std::string allow, rules;
    for (const auto& id : callers) {
      allow += "  - id: " + id + "\n";
      rules += fill(R"(  - match: { id: ${id} }
    rules:
      - id: ${name}-read
        methods: [GET]
        path: { prefix: /budget }
        action: allow
        roles: [${role}]
)",
                    {{"id", id},
                     {"name", id.substr(id.rfind('/') + 1)},
                     {"role", v1 ? "Ledger.Read" : "Budget.Read"}});
    }
    const std::string policy =
        fill(R"(version: "entra-${version}"
target: ${target}
allow:
${allow}token:
  issuers:
    - issuer: ${issuer}
      discovery_url: ${discovery}
      ca_file: ${ca_file}
      audiences: [${audience}]
      algorithms: [RS256]
      typ: ""
${binding}callers:
${rules})",
             {{"version", v1 ? "v1" : "v2"},
              {"allow", allow},
              {"binding", binding},
              {"rules", rules},
              {"target", v1 ? kLedgerId : kBackendId},
              {"issuer", v1 ? tenant_->issuerV1() : tenant_->issuerV2()},
              {"discovery", tenant_->get(v1 ? "discovery_v1" : "discovery_v2")},
              {"ca_file", web_ca_file_},
              {"audience", v1 ? kLedgerUri : kBackendAppId}});
    const auto cred = v1 ? mesh.svid("ledger", kLedgerId) : mesh.backend_cred;
    auto config =
        mesh.ingressConfig(cred, mesh.writePolicy(policy, v1 ? "ledger.yaml" : "backend.yaml"));
    if (!workload_socket.empty()) {
      config.identity.workload_api = "unix://" + workload_socket;
      config.identity.cert_path.clear();
      config.identity.key_path.clear();
      config.identity.bundle_paths.clear();
    }
    auto target = mesh.start(std::move(config));
    if (target == nullptr)
      return nullptr;
    audit.attach(*target);
    // Ready once the tenant's keys were fetched through its discovery document.
    EXPECT_TRUE(waitUntil([&] { return target->ready(); }, 15s)) << readyz(*target).dump();
    return target;
  }

  // The egress sidecar from YAML, as docs/sidecar.md shows it ("Microsoft Entra"): its
  // identity from the Workload API at `socket`, one route per (host, target, resource).
  struct Route {
    std::string host;
    std::uint16_t port;
    std::string spiffe_id;
    std::string resource;
  };
  void startEgress(const std::string& socket, const std::vector<Route>& routes) {
    std::string yaml = fill(R"(identity:
  workload_api: unix://${socket}
  poll_interval_ms: 100
admin: { listen: 127.0.0.1:0 }
egress:
  listen: 127.0.0.1:0
  routes:
)",
                            {{"socket", socket}});
    for (const auto& r : routes) {
      yaml += fill(R"(    - host: ${host}
      address: 127.0.0.1:${port}
      spiffe_id: ${spiffe_id}
      token:
        token_endpoint: ${token_endpoint}
        issuer: ${issuer}
        client_auth: private_key_jwt
        assertion_audience: api://AzureADTokenExchange
        client_id: ${client_id}
        scope: ${resource}/.default
        ca_file: ${ca_file}
)",
                   {{"host", r.host},
                    {"port", std::to_string(r.port)},
                    {"spiffe_id", r.spiffe_id},
                    {"token_endpoint", tenant_->tokenEndpoint()},
                    {"issuer", tenant_->issuerV2()},
                    {"client_id", kReportAppId},
                    {"resource", r.resource},
                    {"ca_file", web_ca_file_}});
    }
    auto config = proxy::parseSidecarConfig(yaml, mesh.dir.file("egress.yaml"));
    ASSERT_TRUE(config.ok()) << config.error().message << "\n" << yaml;
    egress_ = mesh.start(std::move(*config));
    ASSERT_NE(egress_, nullptr);
    egress_audit_.attach(*egress_);
  }

  HttpResponse get(const std::string& host, const std::string& path,
                   const std::string& headers = "") {
    auto c = TestConnection::plain(egress_->egressEndpoint().port);
    EXPECT_NE(c, nullptr);
    if (!c)
      return {};
    EXPECT_TRUE(c->send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers + "\r\n"));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  // budget-report calling the target's ingress directly (mTLS) with a token of its choice.
  HttpResponse callWith(proxy::Sidecar& target, const std::string& token) {
    return callAs(mesh.report, target, token);
  }
  // The same from another workload's SVID.
  HttpResponse callAs(const ClientCredential& caller, proxy::Sidecar& target,
                      const std::string& token) {
    auto c = TestConnection::tls(target.ingressEndpoint().port, caller);
    EXPECT_NE(c, nullptr);
    if (!c)
      return {};
    EXPECT_TRUE(
        c->send(makeRequest("GET", "/budget/read", "Authorization: Bearer " + token + "\r\n")));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  Mesh mesh;
  std::string node_;
  TestCa web_ca_{"web.test"};
  std::string web_cert_, web_key_, web_ca_file_;
  std::unique_ptr<FakeOidcIssuer> jwt_svid_issuer_;
  std::unique_ptr<EntraStandin> tenant_;
  std::unique_ptr<FakeWorkloadServer> agent_;
  std::string jwt_svid_;
  std::string embedded_socket_, embedded_backend_socket_;
  std::unique_ptr<issuer::IdentityServer> identity_server_;  // outlives the sidecars
  AuditRecorder target_audit_, egress_audit_;                // outlive the sidecars that feed them
  std::unique_ptr<proxy::Sidecar> target_, egress_;
};

// Egress (§8.1) and the target's acceptance (§8.2): the egress sidecar trades
// its JWT-SVID at the tenant's v2 token endpoint with exactly the FIC form; the tenant
// verifies it against the FIC (issuer discovered, subject = the SPIFFE ID, audience
// api://AzureADTokenExchange) and issues a v2 token; the target verifies that token through
// the tenant's v2 discovery document and hands the app its facts.
TEST_F(EntraInteropTest, EgressTradesItsJwtSvidForAV2TokenTheTargetAccepts) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  startAgent();
  target_ = startTarget(false, target_audit_);
  ASSERT_NE(target_, nullptr);
  startEgress(agent_->socket(),
              {{"budget-backend", target_->ingressEndpoint().port, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 15s))
      << readyz(*egress_).dump() << tenant_->log();

  const auto res =
      get("budget-backend", "/budget/read", "Authorization: Bearer app-made-this-up\r\n");
  ASSERT_EQ(res.status, 200) << res.body;
  // The app behind the target learns who called, per Entra: the v2 issuer, the client's
  // service principal (sub = oid), the client app (azp), the resource's app id, the roles.
  const auto echoed = body(res)["headers"];
  EXPECT_EQ(echoed["x-warden-token-issuer"], tenant_->issuerV2());
  EXPECT_EQ(echoed["x-warden-token-subject"], kReportObjectId);
  EXPECT_EQ(echoed["x-warden-token-client-id"], kReportAppId);
  EXPECT_EQ(echoed["x-warden-token-audience"], kBackendAppId);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  EXPECT_FALSE(echoed.contains("authorization"));

  // What the tenant received: the FIC form and nothing else (§8.1), with the JWT-SVID the
  // Workload API gave for audience api://AzureADTokenExchange as the client assertion.
  const auto stats = tenant_->stats();
  EXPECT_EQ(stats["issued"], 1) << stats.dump();
  EXPECT_EQ(stats["refused"], 0) << stats.dump();
  EXPECT_EQ(
      stats["last_form"],
      (Json{{"grant_type", "client_credentials"},
            {"client_id", kReportAppId},
            {"scope", kBackendUri + "/.default"},
            {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
            {"client_assertion", "(present)"}}));
  ASSERT_EQ(stats["assertions"].size(), 1u);
  EXPECT_EQ(stats["assertions"][0]["iss"], jwt_svid_issuer_->issuer());
  EXPECT_EQ(stats["assertions"][0]["sub"], kReportId);
  EXPECT_EQ(stats["assertions"][0]["aud"], kFicAudience);
  EXPECT_EQ(stats["assertions"][0]["alg"], "RS256");
  EXPECT_EQ(
      agent_->logLines("JWTSVID "),
      std::vector<std::string>{"JWTSVID audience=" + kFicAudience + " spiffe_id=" + kReportId});

  // The token Entra v2 issues (§8.2), and its answer (expires_in a number, as v2 sends it).
  const auto& issued = stats["last_issued"];
  EXPECT_EQ(issued["header"]["typ"], "JWT");
  EXPECT_EQ(issued["header"]["alg"], "RS256");
  EXPECT_EQ(issued["header"]["kid"], issued["header"]["x5t"]);
  const auto& claims = issued["claims"];
  EXPECT_EQ(claims["ver"], "2.0");
  EXPECT_EQ(claims["iss"], tenant_->issuerV2());
  EXPECT_EQ(claims["aud"], kBackendAppId);
  EXPECT_EQ(claims["azp"], kReportAppId);
  EXPECT_EQ(claims["azpacr"], "2");
  EXPECT_EQ(claims["tid"], kTenant);
  EXPECT_EQ(claims["oid"], kReportObjectId);
  EXPECT_EQ(claims["roles"], Json::array({"Budget.Read"}));
  EXPECT_FALSE(claims.contains("appid"));
  EXPECT_EQ(issued["response"]["expires_in"], 3599);
  EXPECT_EQ(issued["response"]["ext_expires_in"], 3599);
  const auto route = readyz(*egress_)["egress_tokens"]["routes"][0];
  EXPECT_EQ(route["expires_unix"], claims["exp"]) << route.dump();

  // Audited at the target with the token's facts: jti digest = SHA-256 of Entra's uti.
  ASSERT_TRUE(target_audit_.waitFor(1));
  const auto e = target_audit_.events().front();
  EXPECT_TRUE(e.allowed);
  ASSERT_NE(e.token, nullptr);
  EXPECT_EQ(e.token->client_id, kReportAppId);
  EXPECT_EQ(e.token->jti_digest, sha256Hex(claims["uti"].get<std::string>()));

  // Audited at egress as carrying a token the sidecar attached.
  ASSERT_TRUE(egress_audit_.waitFor(1));
  EXPECT_TRUE(egress_audit_.events().front().token_present);

  // Held and reused: more calls, no more token requests.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(get("budget-backend", "/budget/read").status, 200);
  EXPECT_EQ(tenant_->stats()["token_requests"], 1);
}

// The target's refusals (§8.2, and §7.4-§7.6 on the resource side). Each
// defective token comes from the same tenant and differs from the accepted one in one way.
TEST_F(EntraInteropTest, TargetRefusesOtherAudiencesMissingRolesAndUnknownKeys) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  target_ = startTarget(false, target_audit_);
  ASSERT_NE(target_, nullptr);
  const std::string scope = kBackendUri + "/.default";

  const auto good = callWith(*target_, tenant_->issue(kReportAppId, scope));
  EXPECT_EQ(good.status, 200) << good.body;

  // A token for another resource (aud = payroll's app id).
  const auto other = callWith(*target_, tenant_->issue(kReportAppId, kPayrollUri + "/.default"));
  EXPECT_EQ(other.status, 401) << other.body;
  EXPECT_EQ(body(other)["error"], "wrong_audience");
  EXPECT_NE(other.header("www-authenticate").find("error=\"invalid_token\""), std::string::npos);

  // A client app without the role: Entra leaves `roles` out.
  const auto no_role = callWith(*target_, tenant_->issue(kUnassignedAppId, scope));
  EXPECT_EQ(no_role.status, 403) << no_role.body;
  EXPECT_EQ(body(no_role)["error"], "insufficient_roles");
  EXPECT_EQ(body(no_role)["layer"], "token");

  // Signed by a key the tenant does not publish: under another kid, and under its kid.
  const auto unknown = callWith(*target_, tenant_->issue(kReportAppId, scope, "unpublished"));
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(body(unknown)["error"], "unknown_key");
  const auto forged = callWith(*target_, tenant_->issue(kReportAppId, scope, "same-kid-other-key"));
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_EQ(body(forged)["error"], "bad_signature");

  // A v1 token (iss https://sts.windows.net/<tid>/) is another issuer's here.
  const auto v1 = callWith(*target_, tenant_->issue(kReportAppId, kLedgerUri + "/.default"));
  EXPECT_EQ(v1.status, 401) << v1.body;
  EXPECT_EQ(body(v1)["error"], "wrong_issuer");

  // None of them reached the app.
  ASSERT_TRUE(target_audit_.waitFor(6));
  int allowed = 0;
  for (const auto& e : target_audit_.events())
    allowed += e.allowed ? 1 : 0;
  EXPECT_EQ(allowed, 1);
}

// §8.2: a resource that keeps the default requestedAccessTokenVersion gets v1 tokens from
// the same v2 endpoint (iss https://sts.windows.net/<tid>/, aud = the App ID URI, appid);
// a target configured for the v1 issuer (the tenant's v1 discovery document, which names
// that issuer) accepts them, and refuses the v2 token of another resource.
TEST_F(EntraInteropTest, V1TokensOfAV1ResourceAreAcceptedByATargetOfTheV1Issuer) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  startAgent();
  target_ = startTarget(true, target_audit_);
  ASSERT_NE(target_, nullptr);
  startEgress(agent_->socket(),
              {{"ledger", target_->ingressEndpoint().port, kLedgerId, kLedgerUri}});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 15s))
      << readyz(*egress_).dump() << tenant_->log();

  const auto res = get("ledger", "/budget/read");
  ASSERT_EQ(res.status, 200) << res.body;
  const auto echoed = body(res)["headers"];
  EXPECT_EQ(echoed["x-warden-token-issuer"], "https://sts.windows.net/" + kTenant + "/");
  EXPECT_EQ(echoed["x-warden-token-client-id"], kReportAppId);
  EXPECT_EQ(echoed["x-warden-token-audience"], kLedgerUri);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Ledger.Read");

  const auto claims = tenant_->stats()["last_issued"]["claims"];
  EXPECT_EQ(claims["ver"], "1.0");
  EXPECT_EQ(claims["appid"], kReportAppId);
  EXPECT_EQ(claims["appidacr"], "2");
  EXPECT_FALSE(claims.contains("azp"));

  const auto v2 = callWith(*target_, tenant_->issue(kReportAppId, kBackendUri + "/.default"));
  EXPECT_EQ(v2.status, 401) << v2.body;
  EXPECT_EQ(body(v2)["error"], "wrong_issuer");
}

// A FIC mismatch (§8.1: matching is exact and case-sensitive): a FIC whose subject or audience
// does not match the JWT-SVID makes the tenant refuse (401 invalid_client, AADSTS700213 /
// AADSTS700212); the egress answers 503 token_unavailable with Entra's reason and sends
// nothing to the target; once the FIC is fixed, the next retry gets a token.
TEST_F(EntraInteropTest, FicMismatchIs503TokenUnavailableUntilTheFicIsFixed) {
  startJwtSvidIssuer();
  startTenant(reportFic("spiffe://example.org/budget-reports"));
  startAgent();
  target_ = startTarget(false, target_audit_);
  ASSERT_NE(target_, nullptr);
  startEgress(agent_->socket(),
              {{"budget-backend", target_->ingressEndpoint().port, kBackendId, kBackendUri}});

  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(700213); }, 15s)) << tenant_->log();
  EXPECT_FALSE(egress_->ready());
  const auto res = get("budget-backend", "/budget/read");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_EQ(body(res)["layer"], "token");
  const std::string message = body(res).value("message", "");
  EXPECT_NE(message.find("HTTP 401 invalid_client"), std::string::npos) << message;
  EXPECT_NE(message.find("AADSTS700213"), std::string::npos) << message;
  const auto route = readyz(*egress_)["egress_tokens"]["routes"][0];
  EXPECT_EQ(route["ok"], false);
  EXPECT_NE(route.value("last_error", "").find("AADSTS700213"), std::string::npos) << route.dump();

  // The right subject, but the audience in another letter case.
  tenant_->setFics(kReportAppId, reportFic(kReportId, "api://azureadtokenexchange"));
  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(700212); }, 40s)) << tenant_->log();
  const auto res2 = get("budget-backend", "/budget/read");
  EXPECT_EQ(res2.status, 503) << res2.body;
  EXPECT_NE(body(res2).value("message", "").find("AADSTS700212"), std::string::npos) << res2.body;
  EXPECT_TRUE(target_audit_.events().empty()) << "a request without a token reached the target";
  EXPECT_EQ(tenant_->stats()["issued"], 0);

  // Fixed: the retry (backoff doubling from 0.5 s) gets a token without a restart.
  tenant_->setFics(kReportAppId, reportFic());
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 40s)) << readyz(*egress_).dump();
  const auto res3 = get("budget-backend", "/budget/read");
  EXPECT_EQ(res3.status, 200) << res3.body;
  EXPECT_EQ(body(res3)["headers"]["x-warden-token-audience"], kBackendAppId);
}

// §8.1: Entra verifies the external token's signature with the keys it finds through the
// issuer's discovery document. A JWT-SVID that names the right issuer, subject and
// audience but is not signed by that issuer's key gets no token (AADSTS50013).
TEST_F(EntraInteropTest, JwtSvidNotSignedByTheFicIssuersKeyGetsNoToken) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  startAgent(/*forged=*/true);
  startEgress(agent_->socket(), {{"budget-backend", 1, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(50013); }, 15s)) << tenant_->log();
  const auto res = get("budget-backend", "/budget/read");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_NE(body(res).value("message", "").find("AADSTS50013"), std::string::npos) << res.body;
  EXPECT_EQ(tenant_->stats()["issued"], 0);
}

// Warden's embedded issuer as the FIC issuer (§8.1; SPIRE's jwt_issuer, jwt_key_type and
// OIDC discovery provider): with `jwt_issuer` and `jwt_key_type: rsa-2048` its JWT-SVIDs are
// RS256 with iss = jwt_issuer, and its bundle endpoint serves <jwt_issuer>/.well-known/
// openid-configuration and the jwks_uri. The tenant, holding a FIC {issuer: jwt_issuer,
// subject: the SPIFFE ID, audience: api://AzureADTokenExchange}, fetches both from Warden
// over HTTPS (the test Web PKI), verifies the egress sidecar's assertion and issues a v2
// token that the target accepts.
TEST_F(EntraInteropTest, EmbeddedIssuerWithJwtIssuerIsAnEntraFederatedCredentialIssuer) {
  const std::string issuer_url = startEmbeddedIssuer(issuer::JwtKeyType::kRsa2048);
  ASSERT_FALSE(issuer_url.empty());
  startTenant(ficFor(issuer_url, kReportId));
  target_ = startTarget(false, target_audit_, embedded_backend_socket_);
  ASSERT_NE(target_, nullptr);
  startEgress(embedded_socket_,
              {{"budget-backend", target_->ingressEndpoint().port, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 20s))
      << readyz(*egress_).dump() << tenant_->log();

  const auto res = get("budget-backend", "/budget/read");
  ASSERT_EQ(res.status, 200) << res.body;
  const auto echoed = body(res)["headers"];
  EXPECT_EQ(echoed["x-warden-token-issuer"], tenant_->issuerV2());
  EXPECT_EQ(echoed["x-warden-token-subject"], kReportObjectId);
  EXPECT_EQ(echoed["x-warden-token-client-id"], kReportAppId);
  EXPECT_EQ(echoed["x-warden-token-audience"], kBackendAppId);
  EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");

  // The assertion Entra verified: Warden's JWT-SVID, RS256, iss = jwt_issuer, kid = the
  // embedded issuer's active JWT key.
  const auto stats = tenant_->stats();
  EXPECT_EQ(stats["issued"], 1) << stats.dump();
  EXPECT_EQ(stats["refused"], 0) << stats.dump();
  ASSERT_EQ(stats["assertions"].size(), 1u) << stats.dump();
  const auto& assertion = stats["assertions"][0];
  EXPECT_EQ(assertion["iss"], issuer_url);
  EXPECT_EQ(assertion["sub"], kReportId);
  EXPECT_EQ(assertion["aud"], Json::array({kFicAudience}));  // JWT-SVIDs: aud is an array
  EXPECT_EQ(assertion["alg"], "RS256");
  EXPECT_EQ(assertion["kid"], identity_server_->issuer().jwtAuthority().activeKid());
  ASSERT_TRUE(target_audit_.waitFor(1));
  EXPECT_TRUE(target_audit_.events().front().allowed);

  // The same from the Workload API directly: the JWT-SVID for api://AzureADTokenExchange.
  workload::WorkloadClient client(
      workload::parseEndpointAddress("unix://" + embedded_socket_).value());
  auto svids = client.fetchJwtSvids({kFicAudience}, kReportId);
  ASSERT_TRUE(svids.ok()) << svids.error().message;
  const auto& jwt = svids->front().token;
  EXPECT_EQ(jwtPart(jwt, 0)["alg"], "RS256");
  EXPECT_EQ(jwtPart(jwt, 1)["iss"], issuer_url);
  // Its JWT bundle carries the RSA key too (SPIFFE consumers verify the same token).
  auto bundles = client.fetchJwtBundles();
  ASSERT_TRUE(bundles.ok()) << bundles.error().message;
  const auto& keys = bundles->at("example.org").jwt_authorities;
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].kid, assertion["kid"]);
  EXPECT_EQ(EVP_PKEY_get_base_id(keys[0].key.get()), EVP_PKEY_RSA);
}

// The FIC's issuer and subject are compared exactly (§8.1): the embedded issuer's
// assertion under a FIC that names another issuer (AADSTS700211) or another subject
// (AADSTS700213) gets no token; the egress answers 503 and sends nothing to the target.
TEST_F(EntraInteropTest, EmbeddedIssuerAssertionIsRefusedUnderAnotherIssuerOrSubject) {
  const std::string issuer_url = startEmbeddedIssuer(issuer::JwtKeyType::kRsa2048);
  ASSERT_FALSE(issuer_url.empty());
  startTenant(ficFor(issuer_url + "/other", kReportId));
  target_ = startTarget(false, target_audit_, embedded_backend_socket_);
  ASSERT_NE(target_, nullptr);
  startEgress(embedded_socket_,
              {{"budget-backend", target_->ingressEndpoint().port, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(700211); }, 15s)) << tenant_->log();
  const auto res = get("budget-backend", "/budget/read");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_NE(body(res).value("message", "").find("AADSTS700211"), std::string::npos) << res.body;

  tenant_->setFics(kReportAppId, ficFor(issuer_url, "spiffe://example.org/budget-backend"));
  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(700213); }, 40s)) << tenant_->log();
  const auto res2 = get("budget-backend", "/budget/read");
  EXPECT_EQ(res2.status, 503) << res2.body;
  EXPECT_NE(body(res2).value("message", "").find("AADSTS700213"), std::string::npos) << res2.body;
  EXPECT_EQ(tenant_->stats()["issued"], 0);
  EXPECT_TRUE(target_audit_.events().empty()) << "a request without a token reached the target";
}

// The default (no jwt_issuer, ec-p256) is unchanged and is still no FIC issuer: its
// JWT-SVIDs are ES256 (Entra takes RSA-signed external tokens only: AADSTS5002738) and
// carry no `iss`.
TEST_F(EntraInteropTest, EmbeddedIssuerDefaultEs256JwtSvidsAreNotEntraAssertions) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  const std::string socket = mesh.dir.file("sockets/budget-report.sock");
  issuer::RegistrationEntry entry;
  entry.name = "budget-report";
  entry.spiffe_id = identity::SpiffeId::parse(kReportId).value();
  entry.socket_path = socket;
  issuer::IdentityServerConfig identity;
  identity.trust_domain = "example.org";
  identity.state_dir = mesh.dir.file("server-state");
  identity.entries = {entry};
  auto server = issuer::IdentityServer::start(identity);
  ASSERT_TRUE(server.ok()) << server.error().message;
  identity_server_ = std::move(*server);

  // Nothing listens at the route's address: the token is refused before any call.
  startEgress(socket, {{"budget-backend", 1, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return tenant_->refusedWith(5002738); }, 15s)) << tenant_->log();
  const auto res = get("budget-backend", "/budget/read");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(body(res)["error"], "token_unavailable");
  EXPECT_NE(body(res).value("message", "").find("AADSTS5002738"), std::string::npos) << res.body;
  const auto assertion = tenant_->stats()["assertions"][0];
  EXPECT_EQ(assertion["alg"], "ES256");
  EXPECT_EQ(assertion["sub"], kReportId);
  EXPECT_TRUE(assertion["iss"].is_null()) << assertion.dump();
}

// `binding: subject` for Entra tokens (§8.2): a v2 token names the client app by its GUID
// (azp) and its service principal by object id (sub), never by SPIFFE ID, so the target
// maps the app GUID to the workload with `client_ids`. The egress sidecar's token (FIC
// exchange of budget-report's JWT-SVID, §8.1) passes on budget-report's mTLS identity; the
// same token presented by budget-approval (another SVID, admitted by layers 1 and 2) is
// 403 token_not_bound, as is a token of an app GUID that is not budget-report's.
TEST_F(EntraInteropTest, SubjectBindingMapsTheEntraClientIdToTheCallersSpiffeId) {
  startJwtSvidIssuer();
  startTenant(reportFic());
  startAgent();
  const std::string binding = "  binding: subject\n  binding_claim: azp\n  client_ids:\n    " +
                              kReportAppId + ": " + kReportId + "\n";
  target_ = startTarget(false, target_audit_, "", binding, {kReportId, kApprovalId});
  ASSERT_NE(target_, nullptr);
  startEgress(agent_->socket(),
              {{"budget-backend", target_->ingressEndpoint().port, kBackendId, kBackendUri}});
  ASSERT_TRUE(waitUntil([&] { return egress_->ready(); }, 15s))
      << readyz(*egress_).dump() << tenant_->log();

  // Through the egress: the tenant's token for budget-report's app, on budget-report's SVID.
  const auto res = get("budget-backend", "/budget/read");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body(res)["headers"]["x-warden-token-client-id"], kReportAppId);
  EXPECT_EQ(body(res)["headers"]["x-forwarded-spiffe-id"], kReportId);
  EXPECT_EQ(tenant_->stats()["last_issued"]["claims"]["azp"], kReportAppId);

  // A token built as the tenant builds it (same azp), held by each caller in turn.
  const std::string token = tenant_->issue(kReportAppId, kBackendUri + "/.default");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(jwtPart(token, 1)["azp"], kReportAppId);
  EXPECT_EQ(jwtPart(token, 1)["sub"], kReportObjectId) << "sub is the object id, not a SPIFFE ID";
  const auto own = callWith(*target_, token);
  EXPECT_EQ(own.status, 200) << own.body;
  const auto replayed = callAs(mesh.approval, *target_, token);
  EXPECT_EQ(replayed.status, 403) << replayed.body;
  EXPECT_EQ(body(replayed)["error"], "token_not_bound");
  EXPECT_EQ(body(replayed)["layer"], "token");

  // Another client app's token (its GUID is mapped to nobody) on budget-report's SVID.
  const auto other_app =
      callWith(*target_, tenant_->issue(kUnassignedAppId, kBackendUri + "/.default"));
  EXPECT_EQ(other_app.status, 403) << other_app.body;
  EXPECT_EQ(body(other_app)["error"], "token_not_bound");

  // Audited as such: budget-approval's request was denied at the token layer.
  ASSERT_TRUE(target_audit_.waitFor(4));
  int denied_not_bound = 0;
  for (const auto& e : target_audit_.events()) {
    if (!e.allowed && e.reason == "token_not_bound") ++denied_not_bound;
  }
  EXPECT_EQ(denied_not_bound, 2);
}

}  // namespace
}  // namespace warden::testing
