// Warden's token service against independent peers (identity-standards §10.5, O2-O6): the
// service runs with the embedded issuer on 127.0.0.1 (its TLS certificate is an X509-SVID),
// and node processes act as clients: openid-client 6 (discovery, client credentials with
// PrivateKeyJwt / a JWT-SVID / TlsClientAuth, token exchange), jose (good and bad client
// assertions), and a jose-based fake GitHub Actions issuer serving discovery and JWKS
// over HTTPS. openssl computes the certificate thumbprint that cnf.x5t#S256 must equal.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "issuer/identity_server.h"
#include "issuer/key_store.h"
#include "jose/base64url.h"
#include "support/oidc_issuer_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"
#include "tokenservice/token_service.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using tokenservice::TokenService;

const std::string kInterop = std::string(WARDEN_SOURCE_DIR) + "/tests/interop";
const std::string kTd = "example.org";
const std::string kReport = "spiffe://example.org/budget-report";
const std::string kApproval = "spiffe://example.org/budget-approval";
const std::string kServerId = "spiffe://example.org/token-service";
const std::string kBackend = "api://budget-backend";
const std::string kExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
const std::string kJwt = "urn:ietf:params:oauth:token-type:jwt";
const std::string kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const std::string kFicAudience = "api://AzureADTokenExchange";
const std::string kProdSubject = "repo:octo/app:environment:prod";

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/openid-client"))
        << kInterop << "/node_modules is missing; run scripts/setup.sh";

    // The fake GitHub issuer's HTTPS certificate, from a test Web PKI.
    LeafOptions web;
    web.uri_san = false;
    web.ips = {"127.0.0.1"};
    auto web_leaf = web_ca_.issue("spiffe://web.test/unused", web);
    web_ca_file_ = writeFile(dir_.path(), "web-ca.pem", web_ca_.certPem());
    web_cert_ = writeFile(dir_.path(), "web.pem", web_leaf.certPem());
    web_key_ = writeFile(dir_.path(), "web.key", web_leaf.keyPem());
    github_ = std::make_unique<FakeOidcIssuer>(node_, dir_, "github", web_cert_, web_key_);
    ASSERT_FALSE(github_->issuer().empty()) << github_->log();
    // Serves a discovery document that names another issuer (the mix-up guard).
    liar_ = std::make_unique<FakeOidcIssuer>(node_, dir_, "liar", web_cert_, web_key_,
                                         "https://token.actions.githubusercontent.com");
    ASSERT_FALSE(liar_->issuer().empty()) << liar_->log();

    issuer::IdentityServerConfig identity;
    identity.trust_domain = kTd;
    identity.state_dir = dir_.file("state");
    for (const char* name : {"token-service", "budget-report", "budget-approval", "rogue"}) {
      issuer::RegistrationEntry e;
      e.name = name;
      e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + std::string(name)).value();
      e.socket_path = dir_.file(std::string(name) + ".sock");
      identity.entries.push_back(e);
    }
    entries_ = identity.entries;
    issuer::IdentityServerTuning tuning;
    tuning.rotation_tick = 100ms;
    auto server = issuer::IdentityServer::start(identity, tuning);
    ASSERT_TRUE(server.ok()) << server.error().message;
    identity_ = std::move(*server);

    // Clients trust the trust domain's bundle and check the server's SPIFFE ID.
    std::string bundle;
    const auto bundles = identity_->issuer().x509Bundles();
    for (const auto& c : bundles.at(kTd)) bundle += issuer::certificatePem(c.get());
    bundle_file_ = writeFile(dir_.path(), "bundle.pem", bundle);
    startService(serviceConfig());
  }

  tokenservice::TokenServiceConfig serviceConfig() {
    tokenservice::TokenServiceConfig c;
    c.tls_svid_entry = "token-service";
    c.failed_auth.burst = 1000;
    auto& p = c.policy;
    p.audiences = {{kBackend, std::nullopt, std::nullopt}, {"api://ledger", std::nullopt, std::nullopt}};
    p.external_issuers = {{github_->issuer(), web_ca_file_, {jose::Alg::kRS256}},
                          {liar_->issuer(), web_ca_file_, {jose::Alg::kRS256}}};
    tokenservice::AgentConfig report;
    report.name = "budget-report";
    report.spiffe_id = kReport;
    report.roles[kBackend] = {"Budget.Read"};
    tokenservice::AgentConfig approval;
    approval.name = "budget-approval";
    approval.spiffe_id = kApproval;
    approval.client_id = "budget-approval";
    approval.roles[kBackend] = {"Budget.Read", "Budget.Submit"};
    approval.federated_credentials = {
        {"gha-prod", github_->issuer(), kProdSubject, "", kFicAudience},
        {"liar-prod", liar_->issuer(), kProdSubject, "", kFicAudience}};
    p.agents = {report, approval};
    return c;
  }

  void startService(const tokenservice::TokenServiceConfig& config) {
    service_.reset();
    tokenservice::TokenServiceTuning tuning;
    tuning.rotation_tick = 100ms;
    tuning.external_keys.cooldown = 100ms;
    auto service = TokenService::start(config, identity_->issuer(), entries_, dir_.file("state"), tuning);
    ASSERT_TRUE(service.ok()) << service.error().message;
    service_ = std::move(*service);
  }

  // Runs oauth_client.mjs and returns its JSON output.
  Json client(const std::string& command, Json opts) {
    opts["issuer"] = service_->issuerIdentifier();
    opts["ca"] = bundle_file_;
    opts["server_id"] = kServerId;
    opts["mint_ca"] = web_ca_file_;
    const auto path = writeFile(dir_.path(), "opts-" + std::to_string(++runs_) + ".json", opts.dump());
    auto r = runToCompletion({node_, kInterop + "/oauth_client.mjs", command, path}, dir_.path(), 60s);
    Json out = lastJsonLine(r.out);
    EXPECT_FALSE(out.is_discarded()) << r.out << r.err;
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return out;
  }

  // Writes the SVID of a registration entry as PEM files; returns {cert, key}.
  std::pair<std::string, std::string> svidFiles(const std::string& entry) {
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == entry; });
    auto state = identity_->issuer().x509State({std::make_shared<const issuer::RegistrationEntry>(*it)});
    EXPECT_TRUE(state.ok());
    const auto& svid = state->svids.front().svid;
    std::string chain;
    for (const auto& c : svid->chain) chain += issuer::certificatePem(c.get());
    return {writeFile(dir_.path(), entry + ".pem", chain),
            writeFile(dir_.path(), entry + ".key", issuer::privateKeyPem(svid->key.get()))};
  }

  // The trust domain's active JWT-SVID key (the issuer's own file, 0600): jose signs
  // assertions with it, as a workload's JWT-SVIDs are signed.
  std::string jwtKeyFile() const { return dir_.file("state") + "/jwt/" + jwtKid() + ".key"; }
  std::string jwtKid() const { return identity_->issuer().jwtAuthority().activeKid(); }
  std::string jwtPublicFile() {
    std::string pem;
    for (const auto& k : identity_->issuer().jwtAuthority().publishedKeys()) {
      BIO* bio = BIO_new(BIO_s_mem());
      PEM_write_bio_PUBKEY(bio, k.key.get());
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<std::size_t>(len));
      BIO_free(bio);
    }
    return writeFile(dir_.path(), "jwt-public.pem", pem);
  }

  std::string jwtSvid(const std::string& entry, const std::string& audience) {
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == entry; });
    auto out = identity_->issuer().mintJwtSvids({std::make_shared<const issuer::RegistrationEntry>(*it)},
                                                {audience}, "");
    return std::get<std::vector<issuer::Issuer::JwtSvidOut>>(out).front().token;
  }

  Json joseAssertion(Json claims, Json extra = Json::object()) {
    Json spec = {{"key_file", jwtKeyFile()}, {"kid", jwtKid()}, {"claims", std::move(claims)}};
    spec.update(extra);
    return {{"jose", spec}};
  }
  Json clientClaims(const std::string& id) {
    return {{"iss", id}, {"sub", id}, {"aud", service_->issuerIdentifier()}};
  }
  static Json assertionCase(const std::string& name, Json recipe, int repeat = 0) {
    Json c = {{"name", name},
              {"form", {{"grant_type", "client_credentials"},
                        {"client_assertion_type", kAssertionType},
                        {"scope", kBackend + "/.default"}}},
              {"tokens", {{"client_assertion", std::move(recipe)}}}};
    if (repeat > 0) c["repeat"] = repeat;
    return c;
  }
  Json mint(const FakeOidcIssuer& from, Json body = Json::object()) {
    return {{"mint", {{"url", from.issuer()}, {"body", std::move(body)}}}};
  }
  Json exchangeCase(const std::string& name, Json subject, Json extra_form = Json::object()) {
    Json form = {{"grant_type", kExchange}, {"subject_token_type", kJwt}, {"audience", kBackend}};
    form.update(extra_form);
    return {{"name", name}, {"form", form}, {"tokens", {{"subject_token", std::move(subject)}}}};
  }
  Json ficCase(const std::string& name, Json assertion) {
    return {{"name", name},
            {"form", {{"grant_type", "client_credentials"}, {"client_id", "budget-approval"},
                      {"client_assertion_type", kAssertionType}, {"scope", kBackend + "/.default"}}},
            {"tokens", {{"client_assertion", std::move(assertion)}}}};
  }
  Json runCases(const Json& cases, Json opts = Json::object()) {
    opts["cases"] = cases;
    // The fake issuer's mint endpoint is reached with the same fetch: trust its CA too.
    return client("run", opts);
  }

  TempDir dir_;
  std::string node_;
  TestCa web_ca_{"web.test"};
  std::string web_ca_file_, web_cert_, web_key_, bundle_file_;
  std::unique_ptr<FakeOidcIssuer> github_, liar_;
  std::vector<issuer::RegistrationEntry> entries_;
  std::unique_ptr<issuer::IdentityServer> identity_;
  std::unique_ptr<TokenService> service_;
  int runs_ = 0;
};

// O2: openid-client's discovery() succeeds (issuer equality) at the OIDC and RFC 8414
// locations, over TLS with the server's X509-SVID.
TEST_F(TokenServiceTest, DiscoveryWithOpenidClient) {
  auto out = client("discover", Json::object());
  ASSERT_EQ(out["issuer"], service_->issuerIdentifier()) << out.dump();
  const auto& m = out["metadata"];
  EXPECT_EQ(m["token_endpoint"], service_->issuerIdentifier() + "/token");
  EXPECT_EQ(m["jwks_uri"], service_->issuerIdentifier() + "/jwks");
  EXPECT_EQ(m["token_endpoint_auth_methods_supported"], Json({"private_key_jwt", "tls_client_auth"}));
  EXPECT_EQ(m["tls_client_certificate_bound_access_tokens"], true);
  EXPECT_EQ(m["grant_types_supported"], Json({"client_credentials", kExchange}));
  EXPECT_EQ(out["oauth_metadata"], m);
  const auto& keys = out["jwks"]["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["kid"], service_->signingKeys().activeKid());
  EXPECT_EQ(keys[0]["alg"], "ES256");
}

// O2: clientCredentialsGrant with openid-client's own PrivateKeyJwt, signing with the trust
// domain's JWT-SVID key: Warden validates it as a JWT-SVID under RFC 7523's rules.
TEST_F(TokenServiceTest, ClientCredentialsWithPrivateKeyJwt) {
  auto out = client("client-credentials", {{"client_id", kReport}, {"auth", "private_key_jwt"},
                                           {"key_file", jwtKeyFile()}, {"kid", jwtKid()},
                                           {"params", {{"scope", kBackend + "/.default"}}}});
  ASSERT_EQ(out["status"], 200) << out.dump();
  EXPECT_EQ(out["verified"], true) << out.dump();
  EXPECT_EQ(out["header"]["typ"], "at+jwt");
  EXPECT_EQ(out["claims"]["sub"], kReport);
  EXPECT_EQ(out["claims"]["aud"], kBackend);
  EXPECT_EQ(out["claims"]["client_id"], kReport);
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read"}));
  EXPECT_EQ(out["response"]["token_type"], "bearer") << "openid-client lowercases it";
  EXPECT_EQ(out["response"]["expires_in"], 300);
  EXPECT_FALSE(out["claims"].contains("cnf"));
}

// The Workload API path: a JWT-SVID minted by Warden's issuer (no iss, a jti) is the
// assertion, sent by openid-client as a ready-made client assertion. Single use.
TEST_F(TokenServiceTest, ClientCredentialsWithAJwtSvidFromTheIssuer) {
  const auto svid = jwtSvid("budget-approval", service_->issuerIdentifier());
  Json opts = {{"client_id", "budget-approval"}, {"auth", "assertion"}, {"assertion", svid},
               {"params", {{"resource", kBackend}}}};
  auto out = client("client-credentials", opts);
  ASSERT_EQ(out["status"], 200) << out.dump();
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read", "Budget.Submit"}));
  EXPECT_EQ(out["claims"]["client_id"], "budget-approval");
  auto replay = client("client-credentials", opts);
  EXPECT_EQ(replay["status"], 401) << replay.dump();
  EXPECT_EQ(replay["error"], "invalid_client");
}

// O2 + O4 (first half): TlsClientAuth over mTLS with the agent's X509-SVID; the token is
// bound to that certificate, and cnf.x5t#S256 equals openssl's thumbprint of it.
TEST_F(TokenServiceTest, TlsClientAuthIssuesCertificateBoundTokens) {
  const auto [cert, key] = svidFiles("budget-approval");
  auto out = client("client-credentials", {{"client_id", "budget-approval"}, {"auth", "tls_client_auth"},
                                           {"cert", cert}, {"key", key},
                                           {"params", {{"scope", kBackend + "/.default"}}}});
  ASSERT_EQ(out["status"], 200) << out.dump();
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read", "Budget.Submit"}));
  auto thumb = runToCompletion(
      {"/bin/sh", "-c",
       "openssl x509 -in '" + cert + "' -outform DER | openssl dgst -sha256 -binary | "
       "basenc --base64url | tr -d '=\\n'"},
      dir_.path());
  ASSERT_EQ(thumb.code, 0) << thumb.err;
  ASSERT_EQ(thumb.out.size(), 43u) << thumb.out;
  EXPECT_EQ(out["claims"]["cnf"]["x5t#S256"], thumb.out);

  // Another agent's SVID does not authenticate budget-approval; nor does a certificate
  // from a CA outside the trust bundles.
  const auto [rogue_cert, rogue_key] = svidFiles("rogue");
  TestCa stranger("example.org");
  auto forged = stranger.issue(kApproval);
  const auto forged_cert = writeFile(dir_.path(), "forged.pem", forged.certPem());
  const auto forged_key = writeFile(dir_.path(), "forged.key", forged.keyPem());
  Json form = {{"grant_type", "client_credentials"}, {"client_id", "budget-approval"},
               {"scope", kBackend + "/.default"}};
  auto res = runCases(Json::array({
      {{"name", "rogue"}, {"form", form}, {"cert", rogue_cert}, {"key", rogue_key}},
      {{"name", "forged"}, {"form", form}, {"cert", forged_cert}, {"key", forged_key}},
      {{"name", "no-cert"}, {"form", form}},
  }));
  for (const char* name : {"rogue", "forged", "no-cert"}) {
    EXPECT_EQ(res[name]["status"], 401) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_client") << name;
  }
}

// O3: jose-minted client assertions. Good -> 200; every listed defect -> 401 invalid_client.
TEST_F(TokenServiceTest, JoseMintedClientAssertions) {
  const auto good = clientClaims(kReport);
  auto with = [&](Json changes) {
    Json c = good;
    c.update(changes);
    return c;
  };
  Json cases = Json::array({
      assertionCase("good", joseAssertion(good)),
      assertionCase("replayed", joseAssertion(good), 2),
      assertionCase("missing-jti", joseAssertion(good, {{"omit", {"jti"}}})),
      assertionCase("aud-other-server", joseAssertion(with({{"aud", "https://other.example"}}))),
      assertionCase("aud-array-extra",
                    joseAssertion(with({{"aud", {service_->issuerIdentifier(), "https://other.example"}}}))),
      assertionCase("expired", joseAssertion(good, {{"exp_in", -600}})),
      assertionCase("alg-none", {{"none", {{"claims", good}}}}),
      assertionCase("hs256-public-key",
                    {{"hs256_public", {{"public_file", jwtPublicFile()}, {"kid", jwtKid()}, {"claims", good}}}}),
      assertionCase("iss-not-sub", joseAssertion(with({{"iss", kApproval}}))),
      assertionCase("unknown-kid", joseAssertion(good, {{"kid", "not-a-published-kid"}})),
      assertionCase("token-endpoint-aud",
                    joseAssertion(with({{"aud", service_->issuerIdentifier() + "/token"}}))),
  });
  auto res = runCases(cases);
  EXPECT_EQ(res["good"]["status"], 200) << res["good"].dump();
  EXPECT_EQ(res["good"]["claims"]["roles"], Json({"Budget.Read"}));
  EXPECT_EQ(res["token-endpoint-aud"]["status"], 200) << "accepted for compatibility";
  EXPECT_EQ(res["replayed"][0]["status"], 200);
  EXPECT_EQ(res["replayed"][1]["status"], 401);
  EXPECT_EQ(res["replayed"][1]["body"]["error"], "invalid_client");
  for (const char* name : {"missing-jti", "aud-other-server", "aud-array-extra", "expired", "alg-none",
                           "hs256-public-key", "iss-not-sub", "unknown-kid"}) {
    EXPECT_EQ(res[name]["status"], 401) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_client") << name;
    EXPECT_EQ(res[name]["headers"]["cache-control"], "no-store") << name;
  }
}

// Strict HTTP and form handling on the wire (RFC 6749 §3.2, §5.2).
TEST_F(TokenServiceTest, RequestParsingOverTheWire) {
  const std::string good = "grant_type=client_credentials&client_id=budget-approval";
  auto res = runCases(Json::array({
      {{"name", "get"}, {"method", "GET"}, {"path", "/token"}},
      {{"name", "duplicate"}, {"body", "grant_type=client_credentials&grant_type=client_credentials"}},
      {{"name", "json"}, {"body", "{}"}, {"headers", {{"content-type", "application/json"}}}},
      {{"name", "query"}, {"path", "/token?client_id=x"}, {"body", good}},
      {{"name", "basic"}, {"body", good},
       {"headers", {{"content-type", "application/x-www-form-urlencoded"}, {"authorization", "Basic YTpi"}}}},
      {{"name", "password"}, {"body", "grant_type=password&username=a&password=b"}},
      {{"name", "bad-escape"}, {"body", "grant_type=client%ZZcredentials"}},
      {{"name", "unknown-path"}, {"method", "GET"}, {"path", "/authorize"}},
  }));
  EXPECT_EQ(res["get"]["status"], 405);
  EXPECT_EQ(res["get"]["headers"]["allow"], "POST");
  for (const char* name : {"duplicate", "json", "query", "bad-escape"}) {
    EXPECT_EQ(res[name]["status"], 400) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_request") << name;
  }
  EXPECT_EQ(res["basic"]["status"], 401);
  EXPECT_EQ(res["basic"]["body"]["error"], "invalid_client");
  EXPECT_EQ(res["basic"]["headers"]["www-authenticate"], "Basic realm=\"warden-token-service\"");
  EXPECT_EQ(res["password"]["status"], 400);
  EXPECT_EQ(res["password"]["body"]["error"], "unsupported_grant_type");
  EXPECT_EQ(res["unknown-path"]["status"], 404);
}

// O5/O6 through RFC 8693: openid-client's genericGrantRequest exchanges a GitHub-shaped
// token that matches the federated credential; a subject token that does not is 400
// invalid_request, an unknown audience 400 invalid_target.
TEST_F(TokenServiceTest, TokenExchangeOfGitHubTokens) {
  // openid-client always sends a client_id; here it names the agent whose federated
  // credentials apply (no client authentication: the subject token is the credential).
  auto out = client("exchange", {{"client_id", "budget-approval"},
                                 {"params", {{"subject_token", mint(*github_)},
                                             {"subject_token_type", kJwt},
                                             {"audience", kBackend}}}});
  ASSERT_EQ(out["status"], 200) << out.dump();
  EXPECT_EQ(out["response"]["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(out["response"]["token_type"], "bearer") << "openid-client lowercases it";
  EXPECT_EQ(out["response"]["expires_in"], 300);
  EXPECT_EQ(out["claims"]["sub"], kApproval);
  EXPECT_FALSE(out["claims"].contains("act"));
  EXPECT_EQ(out["verified"], true);

  const std::string sub_other_branch = "repo:octo/app:ref:refs/heads/feature";
  auto res = runCases(Json::array({
      exchangeCase("exact", mint(*github_)),
      exchangeCase("other-branch", mint(*github_, {{"claims", {{"sub", sub_other_branch}}}})),
      exchangeCase("other-case", mint(*github_, {{"claims", {{"sub", "repo:octo/app:environment:Prod"}}}})),
      exchangeCase("iss-trailing-slash", mint(*github_, {{"claims", {{"iss", github_->issuer() + "/"}}}})),
      exchangeCase("other-aud", mint(*github_, {{"claims", {{"aud", "https://github.com/octo"}}}})),
      exchangeCase("expired", mint(*github_, {{"claims", {{"exp", 1000000000}}}})),
      exchangeCase("rogue-key", mint(*github_, {{"rogue", true}})),
      exchangeCase("rogue-kid", mint(*github_, {{"rogue", true}, {"kid", "rogue-1"}})),
      exchangeCase("lying-discovery", mint(*liar_)),
      exchangeCase("garbage", {{"text", "not-a-token"}}),
      exchangeCase("bad-audience", mint(*github_), {{"audience", "api://nowhere"}}),
  }));
  EXPECT_EQ(res["exact"]["status"], 200) << res["exact"].dump();
  EXPECT_EQ(res["exact"]["body"]["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(res["exact"]["body"]["token_type"], "Bearer");
  EXPECT_EQ(res["exact"]["body"]["expires_in"], 300);
  EXPECT_EQ(res["exact"]["claims"]["sub"], kApproval);
  for (const char* name : {"other-branch", "other-case", "iss-trailing-slash", "other-aud", "expired",
                           "rogue-key", "rogue-kid", "lying-discovery", "garbage"}) {
    EXPECT_EQ(res[name]["status"], 400) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_request") << name;
  }
  EXPECT_NE(res["lying-discovery"]["body"]["error_description"].get<std::string>().find(
                "discovery document names issuer"),
            std::string::npos)
      << res["lying-discovery"].dump();
  EXPECT_EQ(res["bad-audience"]["status"], 400);
  EXPECT_EQ(res["bad-audience"]["body"]["error"], "invalid_target");
}

// O5 with openid-client's genericGrantRequest: a JWT-SVID subject and a JWT-SVID actor;
// the issued token records act and carries the roles both hold.
TEST_F(TokenServiceTest, TokenExchangeWithOpenidClientAndAnActor) {
  const auto iss = service_->issuerIdentifier();
  // client_id names the acting agent (the one making the request).
  auto out = client("exchange", {{"client_id", kReport},
                                 {"params", {{"subject_token", jwtSvid("budget-approval", iss)},
                                             {"subject_token_type", kJwt},
                                             {"actor_token", jwtSvid("budget-report", iss)},
                                             {"actor_token_type", kJwt},
                                             {"audience", kBackend}}}});
  ASSERT_EQ(out["status"], 200) << out.dump();
  EXPECT_EQ(out["response"]["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(out["claims"]["sub"], kApproval);
  EXPECT_EQ(out["claims"]["act"]["sub"], kReport);
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read"}));
  EXPECT_EQ(out["verified"], true);

  auto bad = client("exchange", {{"client_id", kReport},
                                 {"params", {{"subject_token", "garbage"},
                                             {"subject_token_type", kJwt},
                                             {"audience", kBackend}}}});
  EXPECT_EQ(bad["status"], 400) << bad.dump();
  EXPECT_EQ(bad["error"], "invalid_request");
  auto target = client("exchange", {{"client_id", "budget-approval"},
                                    {"params", {{"subject_token", jwtSvid("budget-approval", iss)},
                                                {"subject_token_type", kJwt},
                                                {"audience", "api://nowhere"}}}});
  EXPECT_EQ(target["status"], 400) << target.dump();
  EXPECT_EQ(target["error"], "invalid_target");
}

// O6 with Entra's FIC contract (client_credentials, client_id, the external token as the
// client assertion): exact match -> 200; anything else -> 401 invalid_client.
TEST_F(TokenServiceTest, FederatedCredentialClientAssertions) {
  auto res = runCases(Json::array({
      ficCase("exact", mint(*github_)),
      ficCase("other-branch", mint(*github_, {{"claims", {{"sub", "repo:octo/app:ref:refs/heads/main"}}}})),
      ficCase("other-case", mint(*github_, {{"claims", {{"sub", "repo:Octo/app:environment:prod"}}}})),
      ficCase("iss-trailing-slash", mint(*github_, {{"claims", {{"iss", github_->issuer() + "/"}}}})),
      ficCase("other-aud", mint(*github_, {{"claims", {{"aud", "api://Other"}}}})),
      ficCase("expired", mint(*github_, {{"claims", {{"exp", 1000000000}}}})),
      ficCase("rogue-key", mint(*github_, {{"rogue", true}})),
      ficCase("lying-discovery", mint(*liar_)),
  }));
  EXPECT_EQ(res["exact"]["status"], 200) << res["exact"].dump();
  EXPECT_EQ(res["exact"]["claims"]["sub"], kApproval);
  EXPECT_EQ(res["exact"]["claims"]["roles"], Json({"Budget.Read", "Budget.Submit"}));
  for (const char* name : {"other-branch", "other-case", "iss-trailing-slash", "other-aud", "expired",
                           "rogue-key", "lying-discovery"}) {
    EXPECT_EQ(res[name]["status"], 401) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_client") << name;
  }
}

// Token-time governance: disabled and too-risky agents get 403 access_denied, and a policy
// swap takes effect for the next request.
TEST_F(TokenServiceTest, GovernanceAtTokenTime) {
  auto config = serviceConfig();
  config.policy.agents[0].state = tokenservice::AgentState::kDisabled;
  config.policy.agents[1].risk = tokenservice::RiskLevel::kHigh;
  ASSERT_TRUE(service_->replacePolicy(config.policy).ok());
  auto res = runCases(Json::array({
      assertionCase("disabled", joseAssertion(clientClaims(kReport))),
      assertionCase("risky", joseAssertion(clientClaims(kApproval))),
  }));
  EXPECT_EQ(res["disabled"]["status"], 403) << res["disabled"].dump();
  EXPECT_EQ(res["disabled"]["body"]["error"], "access_denied");
  EXPECT_EQ(res["disabled"]["body"]["error_description"], "agent_disabled: agent budget-report is disabled");
  EXPECT_EQ(res["risky"]["status"], 403);
  EXPECT_NE(res["risky"]["body"]["error_description"].get<std::string>().find("risk_too_high"),
            std::string::npos);
  ASSERT_TRUE(service_->replacePolicy(serviceConfig().policy).ok());
  auto again = runCases(Json::array({assertionCase("enabled", joseAssertion(clientClaims(kReport)))}));
  EXPECT_EQ(again["enabled"]["status"], 200) << again["enabled"].dump();
}

// Failed client authentication is limited per source and client: 429 with Retry-After,
// even for a good assertion once the bucket is empty.
TEST_F(TokenServiceTest, FailedAuthenticationIsRateLimited) {
  auto config = serviceConfig();
  config.failed_auth.burst = 3;
  config.failed_auth.refill_every = std::chrono::minutes(1);
  startService(config);
  Json cases = Json::array();
  for (int i = 0; i < 3; ++i) {
    cases.push_back(assertionCase("bad" + std::to_string(i), joseAssertion(clientClaims(kReport), {{"exp_in", -600}})));
  }
  cases.push_back(assertionCase("good-but-limited", joseAssertion(clientClaims(kReport))));
  auto res = runCases(cases);
  EXPECT_EQ(res["bad2"]["status"], 401);
  EXPECT_EQ(res["good-but-limited"]["status"], 429) << res["good-but-limited"].dump();
  EXPECT_EQ(res["good-but-limited"]["body"]["error"], "slow_down");
  EXPECT_FALSE(res["good-but-limited"]["headers"]["retry-after"].is_null());
}

// Rotation with overlap: a prepared key is in the JWKS before it signs; after activation
// new tokens use it and the old key stays published.
TEST_F(TokenServiceTest, SigningKeyRotationPublishesBeforeSigning) {
  auto& keys = service_->signingKeys();
  const auto old_kid = keys.activeKid();
  ASSERT_TRUE(keys.prepareNext().ok());
  auto before = client("client-credentials", {{"client_id", kReport}, {"auth", "private_key_jwt"},
                                              {"key_file", jwtKeyFile()}, {"kid", jwtKid()},
                                              {"params", {{"resource", kBackend}}}});
  ASSERT_EQ(before["status"], 200) << before.dump();
  EXPECT_EQ(before["header"]["kid"], old_kid);
  auto discovered = client("discover", Json::object());
  EXPECT_EQ(discovered["jwks"]["keys"].size(), 2u) << "the next key is published first";
  ASSERT_TRUE(keys.activatePrepared().ok());
  auto after = client("client-credentials", {{"client_id", kReport}, {"auth", "private_key_jwt"},
                                             {"key_file", jwtKeyFile()}, {"kid", jwtKid()},
                                             {"params", {{"resource", kBackend}}}});
  ASSERT_EQ(after["status"], 200) << after.dump();
  EXPECT_NE(after["header"]["kid"], old_kid);
  EXPECT_EQ(after["verified"], true);
  bool old_published = false;
  const auto rediscovered = client("discover", Json::object());
  for (const auto& k : rediscovered["jwks"]["keys"]) {
    old_published = old_published || k["kid"] == old_kid;
  }
  EXPECT_TRUE(old_published);
}

// `warden server` with a token_service: section, as an operator runs it: --check, then
// openid-client discovery and a PrivateKeyJwt grant against the running binary.
TEST(TokenServiceBinaryTest, WardenServerServesTheTokenService) {
  const std::string node = findOnPath("node");
  ASSERT_FALSE(node.empty());
  TempDir dir;
  const std::string config = writeFile(dir.path(), "server.yaml", R"(trust_domain: example.org
state_dir: state
entries:
  - name: token-service
    spiffe_id: spiffe://example.org/token-service
    socket: token-service.sock
  - name: budget-report
    spiffe_id: spiffe://example.org/budget-report
    socket: budget-report.sock
token_service:
  listen: 127.0.0.1:0
  tls:
    svid: token-service
  audiences: [api://budget-backend]
  agents:
    - name: budget-report
      spiffe_id: spiffe://example.org/budget-report
      roles:
        api://budget-backend: [Budget.Read]
)");
  auto check = runToCompletion({WARDEN_BINARY, "server", "--config", config, "--check"}, dir.path());
  EXPECT_EQ(check.code, 0) << check.out << check.err;

  ChildProcess server({WARDEN_BINARY, "server", "--config", config}, dir.path());
  ASSERT_TRUE(server.waitForOutput("warden server ready", 20s)) << server.out() << server.err();
  std::smatch m;
  const std::string log = server.out() + server.err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("token service: issuer (https://127\\.0\\.0\\.1:[0-9]+)")))
      << log;
  const std::string issuer_url = m[1];

  // The state directory holds the issuer's keys; the bundle is the CA certificate.
  const std::string state = dir.file("state");
  std::string kid;
  for (const auto& entry : std::filesystem::directory_iterator(state + "/jwt")) {
    if (entry.path().extension() == ".key") kid = entry.path().stem();
  }
  ASSERT_FALSE(kid.empty());
  std::string ca_file;
  for (const auto& entry : std::filesystem::directory_iterator(state + "/x509")) {
    if (entry.path().filename() == "active.pem") ca_file = entry.path();
  }
  ASSERT_FALSE(ca_file.empty());
  Json opts = {{"issuer", issuer_url}, {"ca", ca_file}, {"server_id", kServerId}};
  auto discover = runToCompletion({node, kInterop + "/oauth_client.mjs", "discover",
                                   writeFile(dir.path(), "d.json", opts.dump())},
                                  dir.path(), 60s);
  EXPECT_EQ(lastJsonLine(discover.out)["issuer"], issuer_url) << discover.out << discover.err;
  opts.update({{"client_id", kReport}, {"auth", "private_key_jwt"},
               {"key_file", state + "/jwt/" + kid + ".key"}, {"kid", kid},
               {"params", {{"scope", kBackend + "/.default"}}}});
  auto grant = runToCompletion({node, kInterop + "/oauth_client.mjs", "client-credentials",
                                writeFile(dir.path(), "g.json", opts.dump())},
                               dir.path(), 60s);
  const auto out = lastJsonLine(grant.out);
  EXPECT_EQ(out["status"], 200) << grant.out << grant.err;
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read"}));
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0);
}

// `warden server` with `jwt_issuer` set (Entra FIC issuer, docs/identity.md): every JWT-SVID
// its issuer mints carries iss = jwt_issuer and sub = the SPIFFE ID. A workload fetches
// one from its Workload API socket for the token service's audience and trades it, as a
// private_key_jwt client assertion (RFC 7523 §2.2) and as an RFC 8693 subject token: the
// service recognises its own issuer's JWT-SVIDs (keys: the trust domain's JWT authorities).
// Fail closed: an assertion signed by the very same key under any other `iss` is an
// external issuer's token, and no such issuer is configured: 401 invalid_client
// (RFC 7523 §3.1, RFC 6749 §5.2).
TEST(TokenServiceBinaryTest, WardenServerWithJwtIssuerAcceptsItsOwnJwtSvids) {
  const std::string node = findOnPath("node");
  ASSERT_FALSE(node.empty());
  const std::string jwt_issuer = "https://oidc.example.org/warden";
  TempDir dir;
  const std::string config = writeFile(dir.path(), "server.yaml", R"(trust_domain: example.org
state_dir: state
jwt_issuer: )" + jwt_issuer + R"(
entries:
  - name: token-service
    spiffe_id: spiffe://example.org/token-service
    socket: token-service.sock
  - name: budget-report
    spiffe_id: spiffe://example.org/budget-report
    socket: budget-report.sock
token_service:
  listen: 127.0.0.1:0
  tls:
    svid: token-service
  audiences: [api://budget-backend]
  agents:
    - name: budget-report
      spiffe_id: spiffe://example.org/budget-report
      roles:
        api://budget-backend: [Budget.Read]
)");
  ChildProcess server({WARDEN_BINARY, "server", "--config", config}, dir.path());
  ASSERT_TRUE(server.waitForOutput("warden server ready", 20s)) << server.out() << server.err();
  std::smatch m;
  const std::string log = server.out() + server.err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("token service: issuer (https://127\\.0\\.0\\.1:[0-9]+)")))
      << log;
  const std::string issuer_url = m[1];

  // The workload's JWT-SVIDs, from its Workload API socket, for the token service.
  workload::WorkloadClient workload(
      workload::parseEndpointAddress("unix://" + dir.file("budget-report.sock")).value());
  const auto fetchSvid = [&]() -> std::string {
    auto svids = workload.fetchJwtSvids({issuer_url}, kReport);
    EXPECT_TRUE(svids.ok()) << svids.error().message;
    return svids.ok() && !svids->empty() ? svids->front().token : std::string();
  };
  const std::string svid = fetchSvid();
  ASSERT_FALSE(svid.empty());
  const auto part = [](const std::string& jwt, int index) {
    std::size_t begin = 0;
    for (int i = 0; i < index; ++i) begin = jwt.find('.', begin) + 1;
    const auto end = jwt.find('.', begin);
    return Json::parse(jose::base64UrlDecode(jwt.substr(begin, end - begin)).value());
  };
  const Json svid_claims = part(svid, 1);
  ASSERT_EQ(svid_claims["iss"], jwt_issuer) << svid_claims.dump();
  ASSERT_EQ(svid_claims["sub"], kReport);
  const std::string kid = part(svid, 0)["kid"];

  std::string ca_file;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("state") + "/x509")) {
    if (entry.path().filename() == "active.pem") ca_file = entry.path();
  }
  ASSERT_FALSE(ca_file.empty());
  int runs = 0;
  const auto oauthClient = [&](const std::string& command, Json opts) {
    opts.update({{"issuer", issuer_url}, {"ca", ca_file}, {"server_id", kServerId}});
    const auto path =
        writeFile(dir.path(), "opts-" + std::to_string(++runs) + ".json", opts.dump());
    auto r =
        runToCompletion({node, kInterop + "/oauth_client.mjs", command, path}, dir.path(), 60s);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return lastJsonLine(r.out);
  };

  // private_key_jwt: openid-client sends the JWT-SVID as the client assertion.
  auto out = oauthClient("client-credentials", {{"client_id", kReport}, {"auth", "assertion"},
                                                {"assertion", svid},
                                                {"params", {{"scope", kBackend + "/.default"}}}});
  ASSERT_EQ(out["status"], 200) << out.dump() << server.out() << server.err();
  EXPECT_EQ(out["verified"], true);
  EXPECT_EQ(out["claims"]["sub"], kReport);
  EXPECT_EQ(out["claims"]["client_id"], kReport);
  EXPECT_EQ(out["claims"]["roles"], Json({"Budget.Read"}));

  // Raw requests: a second JWT-SVID as an RFC 8693 subject token, and assertions that jose
  // signs with the trust domain's active JWT-SVID key (the issuer's own key file) under
  // iss = jwt_issuer (accepted) and under other issuers (refused).
  const std::string key_file = dir.file("state") + "/jwt/" + kid + ".key";
  const auto assertion = [&](const std::string& name, const std::string& iss) {
    return Json{{"name", name},
                {"form", {{"grant_type", "client_credentials"},
                          {"client_assertion_type", kAssertionType},
                          {"scope", kBackend + "/.default"}}},
                {"tokens", {{"client_assertion",
                             {{"jose", {{"key_file", key_file}, {"kid", kid},
                                        {"claims", {{"iss", iss}, {"sub", kReport},
                                                    {"aud", issuer_url}}}}}}}}}};
  };
  const Json cases = Json::array({
      {{"name", "exchange"},
       {"form", {{"grant_type", kExchange}, {"subject_token_type", kJwt}, {"audience", kBackend}}},
       {"tokens", {{"subject_token", {{"text", fetchSvid()}}}}}},
      assertion("own-issuer", jwt_issuer),
      assertion("iss-sub", kReport),
      assertion("other-path", jwt_issuer + "/other"),
      assertion("trailing-slash", jwt_issuer + "/"),
      assertion("other-issuer", "https://attacker.example"),
  });
  auto res = oauthClient("run", {{"cases", cases}});
  EXPECT_EQ(res["exchange"]["status"], 200) << res["exchange"].dump();
  EXPECT_EQ(res["exchange"]["claims"]["sub"], kReport);
  EXPECT_EQ(res["own-issuer"]["status"], 200) << res["own-issuer"].dump();
  EXPECT_EQ(res["iss-sub"]["status"], 200) << res["iss-sub"].dump();
  for (const char* name : {"other-path", "trailing-slash", "other-issuer"}) {
    EXPECT_EQ(res[name]["status"], 401) << name << ": " << res[name].dump();
    EXPECT_EQ(res[name]["body"]["error"], "invalid_client") << name;
    const std::string why = res[name]["body"].value("error_description", "");
    EXPECT_NE(why.find("not a trusted external issuer"), std::string::npos)
        << name << ": " << res[name].dump();
  }
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0);
}

// An external issuer named like the server's own jwt_issuer would never be consulted (its
// JWT-SVIDs are JWT-SVIDs): `warden server --check` refuses it, naming the entry.
TEST(TokenServiceBinaryTest, JwtIssuerCannotAlsoBeAnExternalIssuer) {
  TempDir dir;
  const std::string config = writeFile(dir.path(), "server.yaml", R"(trust_domain: example.org
state_dir: state
jwt_issuer: https://oidc.example.org
entries:
  - name: token-service
    spiffe_id: spiffe://example.org/token-service
    socket: token-service.sock
token_service:
  listen: 127.0.0.1:0
  tls:
    svid: token-service
  audiences: [api://budget-backend]
  external_issuers:
    - issuer: https://oidc.example.org
  agents:
    - name: budget-report
      spiffe_id: spiffe://example.org/budget-report
      roles:
        api://budget-backend: [Budget.Read]
)");
  auto check = runToCompletion({WARDEN_BINARY, "server", "--config", config, "--check"}, dir.path());
  EXPECT_NE(check.code, 0) << check.out << check.err;
  EXPECT_NE(check.err.find("token_service.external_issuers[0].issuer: https://oidc.example.org is "
                           "this server's jwt_issuer"),
            std::string::npos)
      << check.out << check.err;
}

}  // namespace
}  // namespace warden::testing
