// Risk signals end to end (issue 5, identity-standards §10.6): a Shared Signals transmitter
// (tests/interop/ssf_transmitter.mjs: npm `jose` signs the SETs, undici's fetch POSTs them)
// pushes to `warden server`'s POST /api/v1/ssf/events; the control plane verifies,
// de-duplicates and applies them to the registry (risk, state, token revocations), and a
// real control-plane sidecar enforces the result: 403 risk_too_high / agent_disabled at
// layer 4a, 401 token_revoked at layer 3 for tokens issued before a session-revoked event.
// Refused SETs answer 400 with the RFC 8935 `err` and change nothing.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/control_plane_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kTx = "https://soc.example";            // the trusted transmitter
const std::string kTx2 = "https://idp.example";           // a second one, with a push credential
const std::string kTx2Auth = "Bearer tx2-push-credential";
const std::string kTx3 = "https://hr.example";            // a third, with its own credential
const std::string kTx3Auth = "Bearer tx3-push-credential";
const std::string kTokenIssuer = "https://token.example.org";
const std::string kTokenAudience = "api://budget-backend";
const std::string kReportId = "spiffe://example.org/budget-report";
const std::string kApprovalId = "spiffe://example.org/budget-approval";
const std::string kCaep = "https://schemas.openid.net/secevent/caep/event-type/";
const std::string kRisc = "https://schemas.openid.net/secevent/risc/event-type/";

std::string backendPolicy(const std::string& jwks_path) {
  return R"(version: "ssf"
target: spiffe://example.org/budget-backend
allow:
  - trust_domain: example.org
token:
  issuers:
    - issuer: )" + kTokenIssuer + R"(
      jwks_file: )" + jwks_path + R"(
      audiences: [)" + kTokenAudience + R"(]
      algorithms: [ES256]
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
)";
}

json uriSubject(const std::string& uri) { return {{"format", "uri"}, {"uri", uri}}; }

class SsfControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(interopDir() + "/node_modules/jose"))
        << "run npm ci --prefix tests/interop";
    const auto keygen = runToCompletion(
        {node_, interopDir() + "/ssf_transmitter.mjs", "keygen", cp.dir.path()}, cp.dir.path(), 60s);
    ASSERT_EQ(keygen.code, 0) << keygen.out << keygen.err;

    // The transmitters' keys come from a jwks_file, as an operator would pin them.
    controlplane::SsfConfig ssf;
    ssf.transmitters.push_back({kTx, "", cp.dir.file("jwks.json"), "", {"RS256"}, ""});
    ssf.transmitters.push_back({kTx2, "", cp.dir.file("jwks.json"), "", {"RS256"}, kTx2Auth});
    ssf.transmitters.push_back({kTx3, "", cp.dir.file("jwks.json"), "", {"RS256"}, kTx3Auth});
    cp.ssf = ssf;
    cp.stop();
    cp.start();
    ASSERT_NE(cp.ssfEndpoint(), nullptr);
    audience_ = cp.api().baseUrl();  // the default audience
    ASSERT_EQ(cp.ssfEndpoint()->audience(), audience_);

    // Access tokens for layer 3, signed by the test's own ES256 key.
    token_key_ = std::shared_ptr<EVP_PKEY>(jose::generateP256Key().release(), EVP_PKEY_free);
    json jwk;
    ASSERT_TRUE(jose::writePublicJwk(token_key_.get(), jwk).ok());
    kid_ = jose::jwkThumbprint(token_key_.get()).value();
    jwk["kid"] = kid_;
    jwk["use"] = "sig";
    const std::string token_jwks = writeFile(cp.dir.path(), "token-jwks.json", json{{"keys", {jwk}}}.dump());

    cp.addAgent({{"name", "budget-backend"}, {"spiffe_id", "spiffe://example.org/budget-backend"}});
    cp.addAgent({{"name", "budget-report"}, {"spiffe_id", kReportId}, {"risk", "low"},
                 {"tags", {{"team", "finance"}}}});
    cp.addAgent({{"name", "budget-approval"}, {"spiffe_id", kApprovalId}, {"risk", "low"},
                 {"tags", {{"team", "finance"}}}});
    ASSERT_EQ(cp.putDocument("policies", "budget-backend", backendPolicy(token_jwks)).status, 201);
    ASSERT_EQ(cp.putDocument("governance", "budget-backend",
                             "max_risk: medium\nrequired_tags: {team: finance}\n").status, 201);
    backend_ = cp.startSidecar(cp.sidecarConfig("budget-backend", true));
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(waitUntil([&] { return backend_->ready(); }, 10s)) << "no view reached the sidecar";
  }

  std::string mintToken(const std::string& sub, std::int64_t iat) const {
    json claims = {{"iss", kTokenIssuer}, {"sub", sub},        {"aud", kTokenAudience},
                   {"client_id", sub},    {"iat", iat},        {"exp", std::time(nullptr) + 300},
                   {"jti", sub + "-" + std::to_string(iat)}};
    json header = {{"kid", kid_}, {"typ", "at+jwt"}};
    return jose::signCompact(header, claims, jose::Alg::kES256, token_key_.get()).value();
  }

  HttpResponse callBackend(const std::string& who, const std::string& token) {
    auto c = TestConnection::tls(backend_->ingressEndpoint().port, cp.credential(who));
    EXPECT_NE(c, nullptr);
    if (!c) return {};
    EXPECT_TRUE(c->send(makeRequest("GET", "/budget/read", "Authorization: Bearer " + token + "\r\n", "")));
    auto res = c->read();
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }
  static std::string reason(const HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("error", "");
  }

  // A SET spec for ssf_transmitter.mjs; `events` is {type: payload}.
  json set(const std::string& name, const std::string& subject, const std::string& type,
           json payload = json::object()) const {
    return {{"name", name}, {"iss", kTx}, {"aud", audience_}, {"sub_id", uriSubject(subject)},
            {"events", {{type, std::move(payload)}}}};
  }

  // Pushes the SETs with node (jose + fetch); returns one result per POST.
  std::vector<json> push(const std::vector<json>& sets) {
    json options = {{"url", cp.api().baseUrl() + "/api/v1/ssf/events"},
                    {"ca", cp.bundlePath()},
                    {"server_id", kServerSpiffeId},
                    {"key_dir", cp.dir.path()},
                    {"sets", sets}};
    const std::string path = writeFile(cp.dir.path(), "push.json", options.dump());
    const auto run = runToCompletion({node_, interopDir() + "/ssf_transmitter.mjs", "push", path},
                                     cp.dir.path(), 60s);
    EXPECT_EQ(run.code, 0) << run.out << run.err;
    const json out = json::parse(run.out, nullptr, false);
    EXPECT_TRUE(out.is_object() && out.contains("results")) << run.out << run.err;
    if (!out.is_object() || !out.contains("results")) return {};
    return out["results"].get<std::vector<json>>();
  }
  json pushOne(const json& spec) {
    auto results = push({spec});
    EXPECT_EQ(results.size(), 1u);
    return results.empty() ? json::object() : results.front();
  }
  static std::string err(const json& result) {
    return json::parse(result.value("body", ""), nullptr, false).value("err", "");
  }

  std::size_t changeCount(const std::string& object_kind, const std::string& object_id) {
    auto changes = cp.store().listChanges({0, 0, 1000, object_kind, object_id});
    EXPECT_TRUE(changes.ok());
    return changes.ok() ? changes->size() : 0;
  }

  ControlPlane cp{{"budget-backend", "budget-report", "budget-approval"}};
  std::unique_ptr<proxy::Sidecar> backend_;
  std::string node_, audience_, kid_;
  std::shared_ptr<EVP_PKEY> token_key_;
};

// §10.6 S1 and S3: risk-level-change HIGH -> 202, the agent's risk is high, attributed to
// the transmitter, and the sidecar answers 403 risk_too_high; the same SET again -> 202
// and nothing applied twice. RISC account-disabled -> agent_disabled.
TEST_F(SsfControlPlaneTest, RiskAndAccountSignalsAreAppliedAndEnforced) {
  const std::int64_t now = std::time(nullptr);
  EXPECT_EQ(callBackend("budget-report", mintToken(kReportId, now)).status, 200);

  json risk = set("risk-high", kReportId, kCaep + "risk-level-change",
                  {{"principal", "USER"}, {"current_level", "HIGH"}, {"previous_level", "LOW"},
                   {"risk_reason", "impossible travel"}, {"event_timestamp", now}});
  risk["repeat"] = 2;  // the transmitter retries after a lost 202: a replayed jti
  const auto results = push({risk});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["status"], 202) << results[0].dump();
  EXPECT_EQ(results[0]["body"], "");
  EXPECT_EQ(results[1]["status"], 202) << results[1].dump();  // duplicate: 202, nothing applied
  EXPECT_EQ(results[1]["body"], "");

  const auto agent = ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"));
  EXPECT_EQ(agent["risk"], "high");
  EXPECT_EQ(agent["risk_source"], "ssf:" + kTx);
  auto changes = cp.store().listChanges({0, 0, 10, "agent", "budget-report"});
  ASSERT_TRUE(changes.ok());
  ASSERT_FALSE(changes->empty());
  EXPECT_EQ(changes->front().action, "agent.risk");
  EXPECT_EQ(changes->front().actor.subject, "ssf:" + kTx);
  EXPECT_EQ(changes->front().actor.method, "ssf");
  EXPECT_NE(changes->front().comment.find(results[0]["jti"].get<std::string>()), std::string::npos);
  const auto stats = cp.ssfEndpoint()->stats();
  EXPECT_EQ(stats.accepted, 1u);
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.duplicates, 1u);

  // Enforced by the sidecar within a few seconds (long-poll).
  ASSERT_TRUE(waitUntil([&] {
    return callBackend("budget-report", mintToken(kReportId, std::time(nullptr))).status == 403;
  }, 5s));
  EXPECT_EQ(reason(callBackend("budget-report", mintToken(kReportId, std::time(nullptr)))), "risk_too_high");

  // A replay after a restart of the server: the jti is in the store, still a duplicate.
  const std::int64_t risk_updated = agent["risk_updated"].get<std::int64_t>();
  const std::size_t agent_changes = changeCount("agent", "budget-report");
  const std::uint64_t generation = cp.store().generation();
  backend_.reset();
  cp.stop();
  cp.start();
  // Delivered from C++ this time (the harness's client), the identical compact SET is
  // not at hand; jose mints the same jti again, which is what a replay is.
  json replay = risk;
  replay.erase("repeat");
  replay["jti"] = results[0]["jti"];
  const auto again = pushOne(replay);
  EXPECT_EQ(again["status"], 202) << again.dump();
  EXPECT_EQ(ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"))["risk_updated"],
            risk_updated);
  EXPECT_EQ(changeCount("agent", "budget-report"), agent_changes);
  EXPECT_EQ(cp.store().generation(), generation);
  EXPECT_EQ(cp.ssfEndpoint()->stats().duplicates, 1u);
  EXPECT_EQ(cp.ssfEndpoint()->stats().applied, 0u);

  backend_ = cp.startSidecar(cp.sidecarConfig("budget-backend", true));
  ASSERT_NE(backend_, nullptr);
  ASSERT_TRUE(waitUntil([&] { return backend_->ready(); }, 10s));
  EXPECT_EQ(callBackend("budget-approval", mintToken(kApprovalId, std::time(nullptr))).status, 200);
  const auto disabled = pushOne(set("disable", kApprovalId, kRisc + "account-disabled",
                                    {{"reason", "hijacking"}}));
  EXPECT_EQ(disabled["status"], 202) << disabled.dump();
  EXPECT_EQ(ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-approval"))["state"], "disabled");
  ASSERT_TRUE(waitUntil([&] {
    return callBackend("budget-approval", mintToken(kApprovalId, std::time(nullptr))).status == 403;
  }, 5s));
  EXPECT_EQ(reason(callBackend("budget-approval", mintToken(kApprovalId, std::time(nullptr)))),
            "agent_disabled");
}

// §10.6 S2: each refused with its `err` (docs/ssf.md: a bad signature is invalid_key), and
// nothing reaches the registry.
TEST_F(SsfControlPlaneTest, RefusedSetsAnswer400WithTheErrCodeAndChangeNothing) {
  const std::uint64_t generation = cp.store().generation();
  const json risk = {{"principal", "USER"}, {"current_level", "HIGH"}};
  json forged = set("forged", kReportId, kCaep + "risk-level-change", risk);
  forged["forge"] = true;
  json wrong_aud = set("wrong-aud", kReportId, kCaep + "risk-level-change", risk);
  wrong_aud["aud"] = "https://someone-else.example";
  json unknown_iss = set("unknown-iss", kReportId, kCaep + "risk-level-change", risk);
  unknown_iss["iss"] = "https://not-a-transmitter.example";
  // The second transmitter pushes with its credential: none -> authentication_failed;
  // its SET with the third transmitter's credential -> access_denied.
  json tx2_no_auth = set("tx2-no-auth", kReportId, kCaep + "risk-level-change", risk);
  tx2_no_auth["iss"] = kTx2;
  json tx2_tx3_auth = tx2_no_auth;
  tx2_tx3_auth["name"] = "tx2-with-tx3-auth";
  tx2_tx3_auth["authorization"] = kTx3Auth;
  const auto results = push({forged, wrong_aud, unknown_iss, tx2_no_auth, tx2_tx3_auth});
  ASSERT_EQ(results.size(), 5u);
  const std::vector<std::string> expected = {"invalid_key", "invalid_audience", "invalid_issuer",
                                             "authentication_failed", "access_denied"};
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["status"], 400) << results[i].dump();
    EXPECT_EQ(err(results[i]), expected[i]) << results[i].dump();
    EXPECT_NE(results[i]["content_type"].get<std::string>().find("application/json"), std::string::npos);
  }
  // The right credential passes.
  json tx2_ok = tx2_no_auth;
  tx2_ok["name"] = "tx2-ok";
  tx2_ok["authorization"] = kTx2Auth;
  tx2_ok["events"] = {{kCaep + "risk-level-change", {{"principal", "USER"}, {"current_level", "MEDIUM"}}}};
  EXPECT_EQ(pushOne(tx2_ok)["status"], 202);
  EXPECT_EQ(ControlPlane::json(cp.admin("GET", "/api/v1/agents/budget-report"))["risk_source"], "ssf:" + kTx2);
  EXPECT_EQ(cp.store().generation(), generation + 1);  // the one accepted SET only

  // Delivered from C++ too: not a SET at all, and the wrong content type.
  const std::string target = "/api/v1/ssf/events";
  auto garbage = cp.call(std::nullopt, "POST", target, "not.a.set",
                         "Content-Type: application/secevent+jwt\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(json::parse(garbage.body, nullptr, false).value("err", ""), "invalid_request");
  auto wrong_type = cp.call(std::nullopt, "POST", target, "{}", "Content-Type: application/json\r\n");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(json::parse(wrong_type.body, nullptr, false).value("err", ""), "invalid_request");
  EXPECT_EQ(cp.call(std::nullopt, "GET", target).status, 405);

  // An unknown subject is accepted (a transmitter speaks about its whole tenant) and
  // nothing is written.
  const auto before = cp.store().generation();
  const auto stranger = pushOne(set("stranger", "spiffe://example.org/nobody",
                                    kCaep + "risk-level-change", risk));
  EXPECT_EQ(stranger["status"], 202);
  EXPECT_EQ(cp.store().generation(), before);
  EXPECT_EQ(cp.ssfEndpoint()->stats().unmatched, 1u);
  EXPECT_EQ(cp.ssfEndpoint()->stats().rejected, 7u);
}

// §10.6 S1: session-revoked -> 202 and the agent's tokens issued before the event are
// refused at layer 3 (401 token_revoked, RFC 6750 invalid_token); a token issued after
// passes. credential-change revokes the same way.
TEST_F(SsfControlPlaneTest, SessionRevokedDeniesTokensIssuedBefore) {
  const std::int64_t now = std::time(nullptr);
  const std::string old_token = mintToken(kReportId, now - 60);
  const std::string new_token = mintToken(kReportId, now - 5);
  EXPECT_EQ(callBackend("budget-report", old_token).status, 200);

  const auto revoked = pushOne(set("revoke", kReportId, kCaep + "session-revoked",
                                   {{"initiating_entity", "policy"},
                                    {"reason_admin", {{"en", "Landspeed policy"}}},
                                    {"event_timestamp", now - 30}}));
  EXPECT_EQ(revoked["status"], 202) << revoked.dump();
  auto active = cp.store().listRevocations(now);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().subject, kReportId);
  EXPECT_EQ(active->front().issued_before_unix, now - 30);
  EXPECT_EQ(active->front().source, "ssf:" + kTx);

  ASSERT_TRUE(waitUntil([&] { return callBackend("budget-report", old_token).status == 401; }, 5s));
  const auto denied = callBackend("budget-report", old_token);
  EXPECT_EQ(reason(denied), "token_revoked");
  EXPECT_EQ(json::parse(denied.body, nullptr, false).value("layer", ""), "token");
  EXPECT_NE(denied.header("www-authenticate").find("error=\"invalid_token\""), std::string::npos);
  EXPECT_EQ(callBackend("budget-report", new_token).status, 200);
  // Another agent's tokens are untouched.
  EXPECT_EQ(callBackend("budget-approval", mintToken(kApprovalId, now - 60)).status, 200);

  // credential-change (x509 revoke) of budget-approval, no event_timestamp: tokens issued
  // before the server received it are revoked.
  const std::int64_t approval_old = std::time(nullptr) - 10;
  const auto changed = pushOne(set("credential", kApprovalId, kCaep + "credential-change",
                                   {{"credential_type", "x509"}, {"change_type", "revoke"}}));
  EXPECT_EQ(changed["status"], 202) << changed.dump();
  ASSERT_TRUE(waitUntil([&] {
    return callBackend("budget-approval", mintToken(kApprovalId, approval_old)).status == 401;
  }, 5s));
  EXPECT_EQ(reason(callBackend("budget-approval", mintToken(kApprovalId, approval_old))), "token_revoked");
  EXPECT_EQ(callBackend("budget-report", new_token).status, 200);
}

}  // namespace
}  // namespace warden::testing
