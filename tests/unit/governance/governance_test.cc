// Layers 4a/4b: parsing, validation and the canonical evaluation order (ARCHITECTURE.md §2).
#include "governance/governance.h"

#include <gtest/gtest.h>

namespace warden::governance {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDoc = R"(
version: "gov-7"
target:
  enabled: true
  max_risk: medium
  required_tags: {Team: finance}
  max_staleness: 5m
agents:
  - spiffe_id: spiffe://example.org/agent/report
    name: budget-report
    risk: low
    tags: {team: Finance}
  - spiffe_id: spiffe://example.org/agent/risky
    risk: high
    tags: {team: finance}
  - spiffe_id: spiffe://example.org/agent/off
    state: disabled
    risk: none
  - spiffe_id: spiffe://example.org/agent/jail
    state: quarantined
  - spiffe_id: spiffe://example.org/agent/menus
    risk: low
  - spiffe_id: spiffe://example.org/agent/ops
    risk: low
    tags: {team: ops}
)";

std::shared_ptr<const GovernanceSnapshot> compileText(const std::string& text) {
  auto doc = parseGovernanceYaml(text, "gov.yaml");
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
  auto snap = compileGovernance(std::move(*doc));
  EXPECT_TRUE(snap.ok()) << (snap.ok() ? "" : snap.error().message);
  return *snap;
}

std::string reasonFor(const GovernanceSnapshot& s, std::string_view id,
                      std::chrono::seconds age = 0s) {
  auto d = s.evaluate(id, age);
  return d.allowed ? "allowed" : std::string(d.reason);
}

TEST(Governance, CanonicalOrderOfLayer4aThen4b) {
  auto s = compileText(kDoc);
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/report"), "allowed");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/risky"), "risk_too_high");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/off"), "agent_disabled");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/jail"), "agent_quarantined");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/menus"), "tag_mismatch");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/ops"), "tag_mismatch");
}

TEST(Governance, LayersAndStatusesOfDenials) {
  auto s = compileText(kDoc);
  auto risk = s->evaluate("spiffe://example.org/agent/risky", 0s);
  EXPECT_EQ(risk.layer, policy::Layer::kRisk);
  EXPECT_EQ(risk.status, 403);
  auto tags = s->evaluate("spiffe://example.org/agent/menus", 0s);
  EXPECT_EQ(tags.layer, policy::Layer::kTags);
  EXPECT_EQ(tags.status, 403);
}

TEST(Governance, UnknownCallersAreGovernedWithAssumedRisk) {
  auto s = compileText(kDoc);
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/stranger"), "risk_unknown");
  auto lenient = compileText(R"(
target: {max_risk: high, required_tags: {team: finance}}
)");
  // Assumed risk high is tolerated here, but an unknown caller has no tags.
  EXPECT_EQ(reasonFor(*lenient, "spiffe://example.org/agent/stranger"), "tag_mismatch");
  auto open = compileText("target: {max_risk: high}\n");
  EXPECT_EQ(reasonFor(*open, "spiffe://example.org/agent/stranger"), "allowed");
}

TEST(Governance, StaleDataFailsClosedButStateStillDecidesFirst) {
  auto s = compileText(kDoc);
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/report", 299s), "allowed");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/report", 301s), "risk_unknown");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/agent/off", 301s), "agent_disabled");
  auto never = compileText("target: {max_risk: high}\n");
  EXPECT_EQ(reasonFor(*never, "spiffe://example.org/a", std::chrono::hours(1000)), "allowed");
}

TEST(Governance, DisabledGovernanceAllowsEveryone) {
  auto s = compileText(R"(
target: {enabled: false, max_risk: none, required_tags: {team: x}}
agents: [{spiffe_id: "spiffe://example.org/a", state: disabled}]
)");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/a"), "allowed");
}

TEST(Governance, RiskBoundaryIsInclusive) {
  auto s = compileText(R"(
target: {max_risk: low}
agents:
  - {spiffe_id: "spiffe://example.org/low", risk: low}
  - {spiffe_id: "spiffe://example.org/medium", risk: medium}
)");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/low"), "allowed");
  EXPECT_EQ(reasonFor(*s, "spiffe://example.org/medium"), "risk_too_high");
}

TEST(Governance, ParseErrorsNameTheFieldPath) {
  auto bad = [](const std::string& text) {
    auto doc = parseGovernanceYaml(text, "gov.yaml");
    return doc.ok() ? std::string("ok") : doc.error().message;
  };
  EXPECT_NE(bad("target: {max_risk: extreme}\n").find("target.max_risk"), std::string::npos);
  EXPECT_NE(bad("agents: [{spiffe_id: 'http://x/y'}]\n").find("agents[0].spiffe_id"),
            std::string::npos);
  EXPECT_NE(bad("agents: [{spiffe_id: 'spiffe://a/b', state: gone}]\n").find("agents[0].state"),
            std::string::npos);
  EXPECT_NE(bad("agents: [{spiffe_id: 'spiffe://a/b'}, {spiffe_id: 'spiffe://a/b'}]\n")
                .find("duplicate agent"),
            std::string::npos);
  EXPECT_NE(bad("target: {required_tags: {'bad key': x}}\n").find("target.required_tags"),
            std::string::npos);
  EXPECT_NE(bad("target: {colour: red}\n").find("colour"), std::string::npos);
  EXPECT_NE(bad("agents: [{spiffe_id: 'spiffe://a/b', tags: {A: 1, a: 2}}]\n").find("duplicate tag"),
            std::string::npos);
  EXPECT_EQ(bad("[1, 2]\n").find("ok"), std::string::npos);
}

TEST(Governance, JsonRoundTripKeepsEveryFact) {
  auto doc = parseGovernanceYaml(kDoc, "gov.yaml");
  ASSERT_TRUE(doc.ok());
  doc->agents[0].risk_source = "ssf:https://idp.example";
  doc->agents[0].risk_updated_unix = 1790000000;
  const std::string json = governanceToJson(*doc);
  auto again = parseGovernanceYaml(json, "gov.json");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(governanceToJson(*again), json);
  EXPECT_EQ(again->version, "gov-7");
  EXPECT_EQ(again->target.max_staleness, 300s);
  EXPECT_EQ(again->agents[0].risk_source, "ssf:https://idp.example");
  EXPECT_EQ(again->agents[0].tags.at("team"), "Finance");
  EXPECT_EQ(again->target.required_tags.at("team"), "finance");
}

TEST(Governance, TagKeysFoldCaseValuesCompareIgnoringAsciiCase) {
  EXPECT_TRUE(tagValuesEqual("Finance", "finance"));
  EXPECT_FALSE(tagValuesEqual("finance", "finances"));
  EXPECT_TRUE(validTagKey("Cost-Center.v2"));
  EXPECT_FALSE(validTagKey(""));
  EXPECT_FALSE(validTagKey("a b"));
  EXPECT_EQ(normalizeTagKey("Team"), "team");
}

}  // namespace
}  // namespace warden::governance
