// Warden's SSF receiver core against Security Event Tokens minted by npm `jose`, an
// independent JOSE implementation (identity-standards §10.6 S1-S4): tests/interop/
// mint_set.mjs generates an ES256 and an RSA-2048 RS256 key, writes their public JWK Set to
// a file and mints valid SETs of each event type plus the deliberately wrong ones of S2.
// token::KeySet reads that JWKS; SetVerifier and SsfReceiver decide. The HTTP endpoint that
// will carry these (S1's `fetch` POSTs) belongs to the control plane; here receive() is
// called with what that endpoint would pass it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ssf/receiver.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"
#include "token/key_set.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using ssf::Disposition;
using ssf::EventKind;
using ssf::ReceiveOutcome;
using ssf::SetErrorCode;

const std::string kInterop = interopDir();
const std::string kIssuer = "https://ssf-tx.example";
const std::string kSecondIssuer = "https://ssf-tx2.example";
const std::string kAudience = "https://warden.example/ssf";
const std::string kSpiffeId = "spiffe://example.org/agent/budget";
constexpr std::string_view kCt = ssf::kSetContentType;

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SsfInteropTest : public ::testing::Test {
 protected:
  // jose runs once for the suite: key generation and 30 signatures take a moment, and
  // every test reads the same SETs (each test gets a fresh receiver and ledger).
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    const std::string node = findOnPath("node");
    if (node.empty()) {
      setup_error_ = "node is not on PATH; run scripts/setup.sh";
      return;
    }
    if (!std::filesystem::exists(kInterop + "/node_modules/jose")) {
      setup_error_ = kInterop + "/node_modules/jose is missing; run npm ci --prefix tests/interop";
      return;
    }
    const RunResult run = runToCompletion(
        {node, kInterop + "/mint_set.mjs", dir_->path(), kIssuer, kAudience, kSpiffeId},
        dir_->path(), 60s);
    if (run.code != 0 || run.out.rfind("OK ", 0) != 0) {
      setup_error_ = "mint_set.mjs exited " + std::to_string(run.code) + ": " + run.out + run.err;
      return;
    }
    jwks_text_ = readText(dir_->file("jwks.json"));
    sets_ = Json::parse(readText(dir_->file("sets.json")), nullptr, false);
    if (!sets_.is_object()) setup_error_ = "sets.json is not a JSON object";
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    auto keys = token::KeySet::fromJwks(jwks_text_);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    ASSERT_EQ((*keys)->size(), 2u) << "jose's JWKS: every key usable";
    ASSERT_TRUE((*keys)->skipped().empty());
    keys_ = std::make_shared<token::FixedKeySetProvider>(*keys);
    const std::vector<jose::Alg> algs = {jose::Alg::kRS256, jose::Alg::kES256};
    auto verifier = ssf::SetVerifier::create({
        ssf::Transmitter{kIssuer, keys_, algs, {kAudience}},
        // A second transmitter (its own SETs are not minted here) for access_denied.
        ssf::Transmitter{kSecondIssuer, keys_, algs, {kAudience}},
    });
    ASSERT_TRUE(verifier.ok()) << verifier.error().message;
    verifier_ = std::move(*verifier);
    receiver_ = makeReceiver({});
  }

  std::unique_ptr<const ssf::SsfReceiver> makeReceiver(ssf::ReceiverOptions options) {
    auto ledger = std::make_shared<ssf::InMemoryJtiLedger>(verifier_->acceptanceWindow(), 1000);
    auto receiver = ssf::SsfReceiver::create(verifier_, ledger, std::move(options));
    EXPECT_TRUE(receiver.ok()) << receiver.error().message;
    return receiver.ok() ? std::move(*receiver) : nullptr;
  }

  static std::string set(const std::string& name) {
    const auto it = sets_.find(name);
    EXPECT_NE(it, sets_.end()) << "mint_set.mjs made no \"" << name << "\"";
    return it != sets_.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  ReceiveOutcome push(const std::string& name,
                      std::optional<std::string_view> authorization = std::nullopt) {
    return receiver_->receive(ssf::PushRequest{kCt, authorization, set(name)},
                              std::chrono::system_clock::now());
  }

  // An accepted SET: 202, empty body, the event of `kind` about the SPIFFE ID (unless the
  // case uses another subject).
  ssf::SecurityEvent expectAccepted(const std::string& name, EventKind kind) {
    SCOPED_TRACE(name);
    const ReceiveOutcome out = push(name);
    EXPECT_EQ(out.http_status, 202) << out.body;
    EXPECT_EQ(out.disposition, Disposition::kAccepted) << out.body;
    EXPECT_TRUE(out.body.empty());
    if (!out.event) return {};
    EXPECT_EQ(out.event->kind, kind);
    EXPECT_EQ(out.event->issuer, kIssuer);
    EXPECT_EQ(out.jti, out.event->jti);
    EXPECT_EQ(out.jti.rfind("jose-", 0), 0u) << out.jti;
    return *out.event;
  }

  static void expectRefused(const ReceiveOutcome& out, SetErrorCode code, const std::string& name) {
    SCOPED_TRACE(name);
    EXPECT_EQ(out.http_status, 400);
    EXPECT_EQ(out.disposition, Disposition::kRejected);
    EXPECT_FALSE(out.event.has_value());
    ASSERT_TRUE(out.error.has_value()) << "accepted; expected " << ssf::setErrorName(code);
    EXPECT_EQ(ssf::setErrorName(out.error->err), ssf::setErrorName(code))
        << out.error->description;
    // RFC 8935 §2.4 body, as a transmitter would parse it.
    const Json body = Json::parse(out.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << out.body;
    EXPECT_EQ(body.value("err", ""), ssf::setErrorName(code)) << out.body;
    EXPECT_FALSE(body.value("description", "").empty()) << out.body;
  }

  static std::unique_ptr<TempDir> dir_;
  static std::string setup_error_;
  static std::string jwks_text_;
  static Json sets_;

  std::shared_ptr<token::FixedKeySetProvider> keys_;
  std::shared_ptr<const ssf::SetVerifier> verifier_;
  std::unique_ptr<const ssf::SsfReceiver> receiver_;
};

std::unique_ptr<TempDir> SsfInteropTest::dir_;
std::string SsfInteropTest::setup_error_;
std::string SsfInteropTest::jwks_text_;
Json SsfInteropTest::sets_;

// --- S1: valid SETs are 202 and carry what the transmitter said ---

TEST_F(SsfInteropTest, S1_RiskLevelChangeHighRs256AboutASpiffeId) {
  const auto e = expectAccepted("risk_high_rs256", EventKind::kRiskLevelChange);
  EXPECT_EQ(e.subject.format, ssf::SubjectFormat::kUri);
  EXPECT_EQ(e.subject.uri, kSpiffeId);
  ASSERT_TRUE(e.risk_level_change.has_value());
  EXPECT_EQ(e.risk_level_change->current_level, governance::RiskLevel::kHigh);
  EXPECT_EQ(e.risk_level_change->previous_level, governance::RiskLevel::kLow);
  EXPECT_EQ(e.risk_level_change->principal, "USER");
  EXPECT_EQ(e.risk_level_change->risk_reason, "interop");
  EXPECT_TRUE(e.event_timestamp.has_value());
  EXPECT_TRUE(e.txn.has_value());
  EXPECT_EQ(e.audience, std::vector<std::string>{kAudience});
}

TEST_F(SsfInteropTest, S1_RiskLevelChangeMediumEs256) {
  const auto e = expectAccepted("risk_medium_es256", EventKind::kRiskLevelChange);
  ASSERT_TRUE(e.risk_level_change.has_value());
  EXPECT_EQ(e.risk_level_change->current_level, governance::RiskLevel::kMedium);
}

TEST_F(SsfInteropTest, S1_SessionRevoked) {
  const auto e = expectAccepted("session_revoked", EventKind::kSessionRevoked);
  EXPECT_EQ(e.subject.uri, kSpiffeId);
  EXPECT_EQ(e.initiating_entity, "policy");
  EXPECT_EQ(e.reason_admin.count("en"), 1u);
}

TEST_F(SsfInteropTest, S1_CredentialChangeRevoke) {
  const auto e = expectAccepted("credential_change_revoke", EventKind::kCredentialChange);
  ASSERT_TRUE(e.credential_change.has_value());
  EXPECT_EQ(e.credential_change->change_type, ssf::ChangeType::kRevoke);
  EXPECT_EQ(e.credential_change->credential_type, "x509");
  EXPECT_EQ(e.credential_change->x509_serial, "0a1b2c");
}

TEST_F(SsfInteropTest, S1_EveryOtherEventTypeWardenReads) {
  const auto claims = expectAccepted("token_claims_change", EventKind::kTokenClaimsChange);
  ASSERT_TRUE(claims.token_claims.has_value());
  EXPECT_EQ(claims.token_claims->value("role", ""), "ro-admin");
  const auto disabled = expectAccepted("account_disabled", EventKind::kAccountDisabled);
  ASSERT_TRUE(disabled.account_disabled.has_value());
  EXPECT_EQ(disabled.account_disabled->reason, "hijacking");
  expectAccepted("account_enabled", EventKind::kAccountEnabled);
  expectAccepted("account_purged", EventKind::kAccountPurged);
  const auto compromise = expectAccepted("credential_compromise", EventKind::kCredentialCompromise);
  ASSERT_TRUE(compromise.credential_compromise.has_value());
  EXPECT_EQ(compromise.credential_compromise->credential_type, "password");
  const auto updated = expectAccepted("stream_updated", EventKind::kStreamUpdated);
  ASSERT_TRUE(updated.stream_updated.has_value());
  EXPECT_EQ(updated.stream_updated->status, "paused");
  EXPECT_EQ(updated.subject.format, ssf::SubjectFormat::kOpaque);
  EXPECT_EQ(updated.subject.id, "stream-1");
}

TEST_F(SsfInteropTest, S1_SubjectFormatsAndAudienceArrays) {
  const auto complex = expectAccepted("complex_subject", EventKind::kSessionRevoked);
  EXPECT_EQ(complex.subject.format_name, "complex");
  EXPECT_EQ(complex.subject.member, "user");
  EXPECT_EQ(complex.subject.format, ssf::SubjectFormat::kIssSub);
  EXPECT_EQ(complex.subject.sub, "oid-7");
  const auto iss_sub = expectAccepted("iss_sub_subject", EventKind::kRiskLevelChange);
  EXPECT_EQ(iss_sub.subject.iss, "https://login.example");
  EXPECT_EQ(iss_sub.subject.sub, "oid-8");
  const auto array = expectAccepted("audience_array", EventKind::kRiskLevelChange);
  EXPECT_EQ(array.audience.size(), 2u);
}

// --- S2: each wrong SET is a 400 with the code §10.6 S2 names ---

TEST_F(SsfInteropTest, S2_BadSignatureIsInvalidKey) {
  // The test that must be able to fail: a SET jose signed, one claim changed afterwards.
  expectRefused(push("tampered"), SetErrorCode::kInvalidKey, "tampered");
  expectRefused(push("foreign_key"), SetErrorCode::kInvalidKey, "foreign_key");
}

TEST_F(SsfInteropTest, S2_KeyAndAlgorithmRefusals) {
  expectRefused(push("unknown_kid"), SetErrorCode::kInvalidKey, "unknown_kid");
  EXPECT_EQ(keys_->refreshRequests(), 1u) << "an unknown kid asks the key source to refetch";
  expectRefused(push("alg_none"), SetErrorCode::kInvalidKey, "alg_none");
  expectRefused(push("hs256_pubkey"), SetErrorCode::kInvalidKey, "hs256_pubkey");
}

TEST_F(SsfInteropTest, S2_WrongIssuerAndAudience) {
  expectRefused(push("wrong_issuer"), SetErrorCode::kInvalidIssuer, "wrong_issuer");
  expectRefused(push("wrong_audience"), SetErrorCode::kInvalidAudience, "wrong_audience");
}

TEST_F(SsfInteropTest, S2_NotASetIsInvalidRequest) {
  for (const char* name :
       {"typ_jwt", "typ_missing", "with_exp", "with_sub", "two_events", "no_sub_id", "too_old"}) {
    expectRefused(push(name), SetErrorCode::kInvalidRequest, name);
  }
  // And a genuine SET sent with the wrong content type.
  expectRefused(receiver_->receive("application/jwt", set("risk_high_rs256"),
                                   std::chrono::system_clock::now()),
                SetErrorCode::kInvalidRequest, "content type");
}

TEST_F(SsfInteropTest, S2_MissingOrIncorrectAuthorization) {
  ssf::ReceiverOptions options;
  options.push_authorization[kIssuer] = "Bearer one";
  options.push_authorization[kSecondIssuer] = "Bearer two";
  receiver_ = makeReceiver(std::move(options));
  expectRefused(push("session_revoked"), SetErrorCode::kAuthenticationFailed, "no header");
  expectRefused(push("session_revoked", "Bearer nobody"), SetErrorCode::kAuthenticationFailed,
                "unknown header");
  expectRefused(push("session_revoked", "Bearer two"), SetErrorCode::kAccessDenied,
                "the other transmitter's header");
  EXPECT_EQ(push("session_revoked", "Bearer one").disposition, Disposition::kAccepted);
}

// --- S3: duplicates and unknown event types are 202 and change nothing ---

TEST_F(SsfInteropTest, S3_DuplicateJtiIs202AndIdempotent) {
  ASSERT_EQ(push("risk_high_rs256").disposition, Disposition::kAccepted);
  const ReceiveOutcome again = push("risk_high_rs256");
  EXPECT_EQ(again.http_status, 202);
  EXPECT_EQ(again.disposition, Disposition::kDuplicate);
  EXPECT_FALSE(again.event.has_value()) << "no double action";
  EXPECT_TRUE(again.body.empty());
}

TEST_F(SsfInteropTest, S3_UnknownEventTypeIs202AndIgnored) {
  const ReceiveOutcome out = push("unknown_event");
  EXPECT_EQ(out.http_status, 202);
  EXPECT_EQ(out.disposition, Disposition::kIgnored);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->kind, EventKind::kUnknown);
  EXPECT_EQ(out.event->event_type, "https://example.com/event-type/party");
}

// --- S4: the verification event's state is checked ---

TEST_F(SsfInteropTest, S4_VerificationStateMismatchIsInvalidState) {
  ssf::ReceiverOptions options;
  options.verification_state_matches = [](std::string_view issuer,
                                          std::optional<std::string_view> state) {
    return issuer == kIssuer && state && *state == "state-42";
  };
  receiver_ = makeReceiver(std::move(options));
  expectRefused(push("verification_wrong_state"), SetErrorCode::kInvalidState, "wrong state");
  const auto e = expectAccepted("verification", EventKind::kVerification);
  ASSERT_TRUE(e.verification.has_value());
  EXPECT_EQ(e.verification->state, "state-42");
}

}  // namespace
}  // namespace warden::testing
