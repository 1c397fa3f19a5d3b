// Applying verified Shared Signals events to the registry (ssf_apply.h): subject mapping,
// risk, state and revocations, attribution to the transmitter, and the stale-risk rule;
// plus the store-backed jti ledger.
#include <gtest/gtest.h>

#include "controlplane/ssf_apply.h"
#include "controlplane/ssf_ledger.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using governance::AgentState;
using governance::RiskLevel;
using testing::kAdmin;
using testing::makeAgent;

const std::string kIss = "https://soc.example";

ssf::SubjectId uri(const std::string& u) {
  ssf::SubjectId s;
  s.format = ssf::SubjectFormat::kUri;
  s.format_name = "uri";
  s.uri = u;
  return s;
}

ssf::SecurityEvent event(ssf::EventKind kind, ssf::SubjectId subject, std::int64_t iat) {
  ssf::SecurityEvent e;
  e.issuer = kIss;
  e.jti = "jti-" + std::to_string(iat);
  e.iat = iat;
  e.subject = std::move(subject);
  e.kind = kind;
  return e;
}

ssf::SecurityEvent risk(RiskLevel level, ssf::SubjectId subject, std::int64_t iat) {
  auto e = event(ssf::EventKind::kRiskLevelChange, std::move(subject), iat);
  e.risk_level_change = ssf::RiskLevelChange{"USER", level, std::nullopt, "impossible travel"};
  return e;
}

class SsfApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::openStore(dir_.db(), clock_);
    ASSERT_TRUE(store_);
    auto report = makeAgent("report");  // spiffe://example.org/agent/report
    ASSERT_TRUE(store_->createAgent(report, kAdmin).ok());
    auto app = makeAgent("billing");
    app.spiffe_id.clear();
    app.client_id = "billing-app";
    app.federated_credentials.push_back({"entra", "https://login.example/tenant", "oid-42", "", "api://x"});
    ASSERT_TRUE(store_->createAgent(app, kAdmin).ok());
  }
  std::int64_t now() const { return clock_.nowUnix(); }

  testing::StoreDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(SsfApplyTest, SubjectsMapToAgents) {
  auto by = [&](ssf::SubjectId s) {
    auto m = findAgentForSubject(*store_, s);
    EXPECT_TRUE(m.ok());
    return m->agent ? m->agent->name + "/" + m->rule : "-/" + m->rule;
  };
  EXPECT_EQ(by(uri("spiffe://example.org/agent/report")), "report/spiffe_id");
  EXPECT_EQ(by(uri("billing-app")), "billing/client_id");
  EXPECT_EQ(by(uri("spiffe://example.org/agent/nobody")).substr(0, 2), "-/");
  ssf::SubjectId iss_sub;
  iss_sub.format = ssf::SubjectFormat::kIssSub;
  iss_sub.iss = "https://login.example/tenant";
  iss_sub.sub = "oid-42";
  EXPECT_EQ(by(iss_sub), "billing/federated_credential");
  iss_sub.iss = "https://elsewhere.example";  // the federated credential is per issuer
  EXPECT_EQ(by(iss_sub).substr(0, 2), "-/");
  iss_sub.sub = "report";
  EXPECT_EQ(by(iss_sub), "report/name");
  ssf::SubjectId opaque;
  opaque.format = ssf::SubjectFormat::kOpaque;
  opaque.id = "billing-app";
  EXPECT_EQ(by(opaque), "billing/client_id");
  opaque.id = "billing";
  EXPECT_EQ(by(opaque), "billing/name");
  ssf::SubjectId email;
  email.format = ssf::SubjectFormat::kEmail;
  email.email = "billing-app";
  EXPECT_EQ(by(email), "billing/client_id");
  ssf::SubjectId phone;
  phone.format = ssf::SubjectFormat::kPhoneNumber;
  phone.format_name = "phone_number";
  phone.phone_number = "+1555";
  EXPECT_NE(by(phone).find("phone_number is not mapped"), std::string::npos);
  // A client id registered twice is ambiguous: never applied to a guess.
  auto twin = makeAgent("twin");
  twin.client_id = "billing-app";
  ASSERT_TRUE(store_->createAgent(twin, kAdmin).ok());
  opaque.id = "billing-app";
  EXPECT_NE(by(opaque).find("ambiguous"), std::string::npos);
}

TEST_F(SsfApplyTest, RiskLevelChangeSetsRiskAttributedToTheTransmitter) {
  auto r = applySecurityEvent(*store_, risk(RiskLevel::kHigh, uri("spiffe://example.org/agent/report"), now()), now());
  EXPECT_EQ(r.outcome, ApplyOutcome::kApplied) << r.detail;
  EXPECT_EQ(r.agent, "report");
  auto agent = store_->getAgent("report");
  EXPECT_EQ(agent->risk, RiskLevel::kHigh);
  EXPECT_EQ(agent->risk_source, "ssf:" + kIss);
  auto changes = store_->listChanges({0, 0, 10, "agent", "report"});
  ASSERT_TRUE(changes.ok());
  ASSERT_FALSE(changes->empty());
  EXPECT_EQ(changes->front().action, "agent.risk");
  EXPECT_EQ(changes->front().actor, (Actor{"ssf:" + kIss, "ssf"}));
  EXPECT_NE(changes->front().comment.find("risk-level-change jti jti-"), std::string::npos);
  EXPECT_NE(changes->front().comment.find("impossible travel"), std::string::npos);
}

TEST_F(SsfApplyTest, AnOlderEventDoesNotLowerANewerRisk) {
  const auto subject = uri("spiffe://example.org/agent/report");
  ASSERT_TRUE(store_->setRisk("report", RiskLevel::kHigh, "admin", kAdmin).ok());
  clock_.advanceSeconds(100);
  auto stale = applySecurityEvent(*store_, risk(RiskLevel::kLow, subject, now() - 200), now());
  EXPECT_EQ(stale.outcome, ApplyOutcome::kStale) << stale.detail;
  EXPECT_EQ(store_->getAgent("report")->risk, RiskLevel::kHigh);
  // Raising is never stale; a newer lowering applies.
  auto newer = applySecurityEvent(*store_, risk(RiskLevel::kLow, subject, now()), now());
  EXPECT_EQ(newer.outcome, ApplyOutcome::kApplied);
  EXPECT_EQ(store_->getAgent("report")->risk, RiskLevel::kLow);
  clock_.advanceSeconds(100);
  auto raise = applySecurityEvent(*store_, risk(RiskLevel::kMedium, subject, now() - 500), now());
  EXPECT_EQ(raise.outcome, ApplyOutcome::kApplied);
  EXPECT_EQ(store_->getAgent("report")->risk, RiskLevel::kMedium);
}

TEST_F(SsfApplyTest, AccountDisabledDisablesOnce) {
  auto e = event(ssf::EventKind::kAccountDisabled, uri("billing-app"), now());
  e.account_disabled = ssf::AccountDisabled{"hijacking"};
  auto r = applySecurityEvent(*store_, e, now());
  EXPECT_EQ(r.outcome, ApplyOutcome::kApplied);
  EXPECT_EQ(store_->getAgent("billing")->state, AgentState::kDisabled);
  const auto revision = store_->getAgent("billing")->revision;
  EXPECT_EQ(applySecurityEvent(*store_, e, now()).outcome, ApplyOutcome::kUnchanged);
  EXPECT_EQ(store_->getAgent("billing")->revision, revision);
}

TEST_F(SsfApplyTest, SessionRevokedAndCredentialChangeRevokeTheAgentsTokens) {
  auto e = event(ssf::EventKind::kSessionRevoked, uri("spiffe://example.org/agent/report"), now());
  e.event_timestamp = now() - 30;
  auto r = applySecurityEvent(*store_, e, now(), ApplyOptions{3600});
  EXPECT_EQ(r.outcome, ApplyOutcome::kApplied) << r.detail;
  auto active = store_->listRevocations(now());
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().subject, "spiffe://example.org/agent/report");
  EXPECT_EQ(active->front().issued_before_unix, now() - 30);
  EXPECT_EQ(active->front().expires_unix, now() - 30 + 3600);
  EXPECT_EQ(active->front().source, "ssf:" + kIss);
  EXPECT_EQ(active->front().reason, "session-revoked");

  // No timestamp: now. A timestamp in the future: now (it cannot revoke tokens not yet issued).
  auto c = event(ssf::EventKind::kCredentialChange, uri("billing-app"), now());
  c.credential_change = ssf::CredentialChange{"x509", ssf::ChangeType::kRevoke, "", "", "", ""};
  c.event_timestamp = now() + 3600;
  EXPECT_EQ(applySecurityEvent(*store_, c, now()).outcome, ApplyOutcome::kApplied);
  active = store_->listRevocations(now());
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ(active->back().subject, "billing-app");  // no SPIFFE ID: the client id
  EXPECT_EQ(active->back().issued_before_unix, now());
  EXPECT_EQ(active->back().reason, "credential-change revoke x509");
  auto changes = store_->listChanges({0, 0, 10, "revocation", ""});
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ(changes->front().actor, (Actor{"ssf:" + kIss, "ssf"}));
}

TEST_F(SsfApplyTest, UnmatchedAndUnactionableEventsWriteNothing) {
  const auto before = store_->generation();
  auto r = applySecurityEvent(
      *store_, risk(RiskLevel::kHigh, uri("spiffe://example.org/agent/nobody"), now()), now());
  EXPECT_EQ(r.outcome, ApplyOutcome::kUnmatched);
  EXPECT_NE(r.detail.find("no registered agent is spiffe://example.org/agent/nobody"), std::string::npos);
  for (auto kind : {ssf::EventKind::kAccountEnabled, ssf::EventKind::kTokenClaimsChange,
                    ssf::EventKind::kVerification, ssf::EventKind::kStreamUpdated}) {
    EXPECT_EQ(applySecurityEvent(*store_, event(kind, uri("spiffe://example.org/agent/report"), now()), now()).outcome,
              ApplyOutcome::kNotApplied);
  }
  EXPECT_EQ(store_->generation(), before);
}

TEST_F(SsfApplyTest, StoreLedgerRemembersForgetsAndSurvivesRestarts) {
  StoreJtiLedger ledger(*store_, std::chrono::seconds(300));
  EXPECT_TRUE(ledger.remember(kIss, "a", now()));
  EXPECT_FALSE(ledger.remember(kIss, "a", now() + 1));
  EXPECT_TRUE(ledger.remember("https://other.example", "a", now() + 1));
  ledger.forget(kIss, "a");
  EXPECT_TRUE(ledger.remember(kIss, "a", now() + 2));  // a retry after a failed apply
  EXPECT_TRUE(ledger.remember(kIss, "a", now() + 303));  // expired
  store_.reset();
  store_ = testing::openStore(dir_.db(), clock_);
  StoreJtiLedger reopened(*store_, std::chrono::seconds(300));
  EXPECT_FALSE(reopened.remember(kIss, "a", now() + 304));
  EXPECT_EQ(reopened.storeFailures(), 0u);
}

}  // namespace
}  // namespace warden::controlplane
