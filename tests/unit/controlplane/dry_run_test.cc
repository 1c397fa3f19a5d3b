// Policy dry-run (dry_run.h): the strict body, the recorded-tags reader, the store's
// selection of recorded requests, and the replay against live and candidate documents.
#include "controlplane/dry_run.h"

#include <gtest/gtest.h>

#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

constexpr const char* kBackend = "spiffe://example.org/backend";
constexpr const char* kReport = "spiffe://example.org/report";
constexpr const char* kMenus = "spiffe://example.org/menus";

std::string bodyError(const json& body) {
  auto r = parseDryRunRequest(body);
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(DryRunRequestTest, DocumentIsRequiredAndLimitDefaultsTo200) {
  auto r = parseDryRunRequest(json{{"document", "x: 1\n"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->document, "x: 1\n");
  EXPECT_EQ(r->limit, 200u);
  r = parseDryRunRequest(json{{"document", ""}, {"limit", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 1u);
  r = parseDryRunRequest(json{{"document", ""}, {"limit", 1000}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, 1000u);
}

TEST(DryRunRequestTest, StrictMembersAndLimitBounds) {
  EXPECT_EQ(bodyError(json::object()), "document: expected the candidate document's text");
  EXPECT_EQ(bodyError(json{{"document", 5}}), "document: expected the candidate document's text");
  EXPECT_EQ(bodyError(json{{"content", "x"}}), "content: unknown member (expected document and limit)");
  EXPECT_EQ(bodyError(json{{"document", "x"}, {"limit", 10}, {"target", "b"}}),
            "target: unknown member (expected document and limit)");
  for (const json& bad : {json(0), json(1001), json(-1), json(1.5), json(2.0), json("10"), json(true),
                          json(nullptr), json(18446744073709551615ULL)}) {
    EXPECT_EQ(bodyError(json{{"document", "x"}, {"limit", bad}}),
              "limit: expected an integer from 1 to 1000, got " + bad.dump());
  }
}

TEST(DryRunRequestTest, RecordedTagsKeepCommasInsideValues) {
  EXPECT_EQ(parseRecordedTags(""), governance::Tags{});
  EXPECT_EQ(parseRecordedTags("team=finance"), (governance::Tags{{"team", "finance"}}));
  EXPECT_EQ(parseRecordedTags("env=prod,team=finance"),
            (governance::Tags{{"env", "prod"}, {"team", "finance"}}));
  // "a,b" is one value: ",b" is not followed by "key=".
  EXPECT_EQ(parseRecordedTags("owners=a,b,team=finance"),
            (governance::Tags{{"owners", "a,b"}, {"team", "finance"}}));
  EXPECT_EQ(parseRecordedTags("empty=,team=x=y"), (governance::Tags{{"empty", ""}, {"team", "x=y"}}));
}

// A line shaped like audit::toJsonLine's.
json event(std::int64_t second, const std::string& caller, const std::string& method,
           const std::string& path, bool allow, const std::string& layer, const std::string& reason) {
  return json{{"time", "2026-01-01T00:00:" + std::string(second < 10 ? "0" : "") +
                           std::to_string(second) + ".000000Z"},
              {"event", "request"},
              {"direction", "ingress"},
              {"decision", allow ? "allow" : "deny"},
              {"layer", layer},
              {"reason", reason},
              {"status", allow ? 200 : 403},
              {"request_id", "r" + std::to_string(second)},
              {"caller", caller},
              {"target", kBackend},
              {"method", method},
              {"path", path},
              {"rule_id", allow ? "report-read" : ""}};
}

TEST(DryRunStoreTest, OnlyTheTargetsIngressRequestsNewestFirst) {
  testing::StoreDir dir;
  testing::FakeClock clock;
  auto store = testing::openStore(dir.db(), clock);
  ASSERT_TRUE(store);
  json handshake = event(1, kReport, "", "", false, "transport", "peer_not_allowed");
  handshake["event"] = "handshake";
  handshake.erase("method");
  handshake.erase("path");
  json egress = event(2, kReport, "GET", "/x", true, "rbac", "allowed");
  egress["direction"] = "egress";
  json other = event(3, kReport, "GET", "/x", true, "rbac", "allowed");
  other["target"] = kMenus;
  // A sender that writes neither `event` nor `direction` (the AuditEvent names).
  json bare = event(4, kReport, "GET", "/bare", true, "rbac", "allowed");
  bare.erase("event");
  bare.erase("direction");
  std::vector<AuditLine> lines = {
      {1, handshake.dump()},
      {2, egress.dump()},
      {3, other.dump()},
      {4, bare.dump()},
      // Shipped late: an older event with a higher id comes after newer ones.
      {5, event(9, kReport, "GET", "/nine", true, "rbac", "allowed").dump()},
      {6, event(7, kReport, "GET", "/seven", true, "rbac", "allowed").dump()},
      {7, "{\"target\":\"" + std::string(kBackend) + "\", broken"},
  };
  ASSERT_TRUE(store->insertAuditEvents("spiffe://example.org/sidecar", lines).ok());
  auto rows = store->recentIngressRequests(kBackend, 10);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  std::vector<std::string> paths;
  for (const auto& row : *rows) paths.push_back(json::parse(row.json_line)["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{"/nine", "/seven", "/bare"}));
  rows = store->recentIngressRequests(kBackend, 1);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(json::parse(rows->front().json_line)["path"], "/nine");
  EXPECT_EQ(store->recentIngressRequests(kBackend, 0).error().kind, StoreErrorKind::kInvalid);
  EXPECT_EQ(store->recentIngressRequests(kBackend, 1001).error().kind, StoreErrorKind::kInvalid);
}

std::shared_ptr<const policy::PolicySnapshot> compile(const std::string& yaml) {
  auto parsed = policy::parsePolicyYaml(yaml, "test");
  EXPECT_TRUE(parsed) << parsed.error().message;
  auto compiled = policy::compilePolicy(std::move(*parsed));
  EXPECT_TRUE(compiled) << compiled.error().message;
  return *compiled;
}

const char* const kPolicy = R"(version: "p"
allow:
  - trust_domain: example.org
callers:
  - match: { id: spiffe://example.org/report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
      - id: report-write
        methods: [POST]
        path: { exact: /budget/write }
        action: allow
        roles: [budget.write]
token:
  issuers:
    - issuer: https://127.0.0.1:1
      jwks_url: https://127.0.0.1:1/jwks
      audiences: [api://backend]
)";

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    live_ = compile(kPolicy);
    // The candidate drops report-read.
    std::string candidate = kPolicy;
    const std::string rule =
        "      - id: report-read\n        methods: [GET]\n        path: { exact: /budget/read }\n"
        "        action: allow\n";
    candidate.erase(candidate.find(rule), rule.size());
    candidate_ = compile(candidate);
    in_.live_policy = live_.get();
    in_.candidate_policy = candidate_.get();
    in_.live_governance.max_risk = governance::RiskLevel::kMedium;
    in_.candidate_governance = in_.live_governance;
    governance::AgentFacts report;
    report.spiffe_id = kReport;
    report.name = "report";
    report.risk = governance::RiskLevel::kLow;
    in_.registry[kReport] = report;
  }
  json replay(const json& e) {
    auto out = replayRecordedRequests(in_, {AuditRow{1, "sidecar", e.dump()}});
    EXPECT_EQ(out.results.size(), 1u);
    return out.results.empty() ? json() : out.results[0];
  }

  std::shared_ptr<const policy::PolicySnapshot> live_;
  std::shared_ptr<const policy::PolicySnapshot> candidate_;
  DryRunInputs in_;
};

TEST_F(ReplayTest, RemovingAnAllowRuleChangesTheDecision) {
  const json r = replay(event(5, kReport, "GET", "/budget/read", true, "rbac", "allowed"));
  EXPECT_EQ(r["live"], (json{{"decision", "allow"}, {"layer", "rbac"}, {"reason", "allowed"},
                             {"rule_id", "report-read"}}));
  EXPECT_EQ(r["candidate"]["decision"], "deny");
  EXPECT_EQ(r["candidate"]["layer"], "rbac");
  EXPECT_EQ(r["candidate"]["reason"], "no_matching_rule");
  EXPECT_EQ(r["changed"], true);
  EXPECT_EQ(r["recorded"], (json{{"decision", "allow"}, {"layer", "rbac"}, {"reason", "allowed"},
                                 {"rule_id", "report-read"}}));
  EXPECT_EQ(r["time_unix_us"], 1'767'225'605'000'000);
  EXPECT_EQ(r["request_id"], "r5");
  EXPECT_EQ(r["caller_id"], kReport);
  EXPECT_EQ(r["caller_name"], "report");
  EXPECT_EQ(r["caller_facts"], "registry") << "the event recorded no governance facts";
  EXPECT_EQ(r["method"], "GET");
  EXPECT_EQ(r["path"], "/budget/read");
}

TEST_F(ReplayTest, UnaffectedRequestsAreUnchangedAndCountedSo) {
  auto out = replayRecordedRequests(
      in_, {AuditRow{2, "s", event(7, kReport, "POST", "/budget/write", true, "rbac", "allowed").dump()},
            AuditRow{1, "s", event(5, kReport, "GET", "/budget/read", true, "rbac", "allowed").dump()},
            AuditRow{3, "s", "not json"}});
  ASSERT_EQ(out.results.size(), 2u) << "a line that is not JSON is skipped";
  EXPECT_EQ(out.changed, 1u);
  EXPECT_EQ(out.results[0]["changed"], false);
  EXPECT_EQ(out.results[0]["path"], "/budget/write");
  EXPECT_EQ(out.results[1]["changed"], true);
}

TEST_F(ReplayTest, RecordedTokenRolesAreChecked) {
  json e = event(8, kReport, "POST", "/budget/write", true, "rbac", "allowed");
  // No token recorded: the token layer cannot deny.
  EXPECT_EQ(replay(e)["live"]["decision"], "allow");
  e["token"] = {{"present", true}, {"roles", "budget.read"}};
  json r = replay(e);
  EXPECT_EQ(r["live"]["decision"], "deny");
  EXPECT_EQ(r["live"]["layer"], "token");
  EXPECT_EQ(r["live"]["reason"], "insufficient_roles");
  e["token"]["roles"] = "budget.read,budget.write";
  EXPECT_EQ(replay(e)["live"]["decision"], "allow");
}

TEST_F(ReplayTest, GovernanceUsesTheFactsTheEventRecorded) {
  json e = event(9, kReport, "GET", "/budget/read", true, "rbac", "allowed");
  // The registry says low risk; the sidecar saw high risk when the request was made.
  e["governance"] = {{"risk", "high"}, {"state", "enabled"}, {"agent", "report-then"}};
  json r = replay(e);
  EXPECT_EQ(r["caller_facts"], "recorded");
  EXPECT_EQ(r["caller_name"], "report-then");
  EXPECT_EQ(r["live"]["reason"], "risk_too_high");
  // A candidate governance block that tolerates high risk and requires a tag the caller had.
  in_.candidate_policy = in_.live_policy;
  in_.candidate_governance.max_risk = governance::RiskLevel::kHigh;
  in_.candidate_governance.required_tags = {{"team", "finance"}};
  e["governance"]["tags"] = "owners=a,b,team=Finance";
  r = replay(e);
  EXPECT_EQ(r["live"]["reason"], "risk_too_high");
  EXPECT_EQ(r["candidate"]["decision"], "allow") << r.dump();
  EXPECT_EQ(r["changed"], true);
  // Recorded as unregistered: unknown callers are assumed high risk (live max medium).
  e["governance"] = {{"risk", "unknown"}};
  in_.candidate_governance = in_.live_governance;
  r = replay(e);
  EXPECT_EQ(r["live"]["reason"], "risk_unknown");
  EXPECT_EQ(r["caller_facts"], "recorded");
  EXPECT_EQ(r["caller_name"], "report") << "the name still comes from the registry";
  // A quarantined caller at the time.
  e["governance"] = {{"risk", "low"}, {"state", "quarantined"}};
  EXPECT_EQ(replay(e)["live"]["reason"], "agent_quarantined");
}

TEST_F(ReplayTest, NoLivePolicyRefusesAtTheTransportLayer) {
  in_.live_policy = nullptr;
  const json r = replay(event(5, kReport, "GET", "/budget/read", true, "rbac", "allowed"));
  EXPECT_EQ(r["live"]["layer"], "transport");
  EXPECT_EQ(r["live"]["reason"], "peer_not_allowed");
  EXPECT_EQ(r["candidate"]["decision"], "deny");
  EXPECT_EQ(r["candidate"]["layer"], "rbac");
  EXPECT_EQ(r["changed"], true);
}

}  // namespace
}  // namespace warden::controlplane
