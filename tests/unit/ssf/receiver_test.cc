// SsfReceiver: the RFC 8935 push rules around the verifier (content type, Authorization,
// de-duplication, 202/400 and the §2.4 body), identity-standards §9.3 and §10.6 S1-S4.
#include "ssf/receiver.h"

#include <gtest/gtest.h>

#include "ssf_test_util.h"

namespace warden::ssf {
namespace {

using testing::at;
using testing::es256;
using testing::json;
using testing::kIssuer;
using testing::kNow;
using testing::kOtherIssuer;
using testing::mint;
using testing::setClaims;

constexpr std::string_view kCt = kSetContentType;

class ReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_shared<token::FixedKeySetProvider>(testing::keySet({es256("ec-1")}));
    other_keys_ = std::make_shared<token::FixedKeySetProvider>(
        testing::keySet({es256("ec-9", "p256-other")}));
    auto verifier = SetVerifier::create(
        {testing::transmitter(keys_), testing::transmitter(other_keys_, kOtherIssuer)});
    ASSERT_TRUE(verifier.ok()) << verifier.error().message;
    verifier_ = std::move(*verifier);
    ledger_ = std::make_shared<InMemoryJtiLedger>(verifier_->acceptanceWindow(), 1000);
    receiver_ = make();
  }

  std::unique_ptr<const SsfReceiver> make(ReceiverOptions options = {}) {
    auto r = SsfReceiver::create(verifier_, ledger_, std::move(options));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : nullptr;
  }

  std::string otherSet(const std::string& jti = "other-1") {
    json claims = setClaims();
    claims["iss"] = kOtherIssuer;
    claims["jti"] = jti;
    return mint(es256("ec-9", "p256-other"), claims);
  }

  std::shared_ptr<token::FixedKeySetProvider> keys_, other_keys_;
  std::shared_ptr<const SetVerifier> verifier_;
  std::shared_ptr<InMemoryJtiLedger> ledger_;
  std::unique_ptr<const SsfReceiver> receiver_;
};

void expectRejected(const ReceiveOutcome& out, SetErrorCode code) {
  EXPECT_EQ(out.http_status, 400);
  EXPECT_EQ(out.disposition, Disposition::kRejected);
  ASSERT_TRUE(out.error.has_value());
  EXPECT_EQ(setErrorName(out.error->err), setErrorName(code)) << out.error->description;
  EXPECT_FALSE(out.event.has_value());
  // RFC 8935 §2.4: the body is {"err": ..., "description": ...}.
  const json body = json::parse(out.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << out.body;
  EXPECT_EQ(body.size(), 2u) << out.body;
  EXPECT_EQ(body.value("err", ""), setErrorName(code));
  EXPECT_EQ(body.value("description", ""), out.error->description);
}

TEST_F(ReceiverTest, Section10_6_S1_ValidSetIs202WithTheEventAndAnEmptyBody) {
  const auto out = receiver_->receive(kCt, mint(es256(), setClaims()), at(kNow));
  EXPECT_EQ(out.http_status, 202);
  EXPECT_EQ(out.disposition, Disposition::kAccepted);
  EXPECT_TRUE(out.body.empty());  // RFC 8935 §2.2
  EXPECT_FALSE(out.error.has_value());
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->kind, EventKind::kRiskLevelChange);
  EXPECT_EQ(out.event->subject.uri, testing::kSpiffeId);
  EXPECT_EQ(out.issuer, kIssuer);
  EXPECT_EQ(out.jti, "set-1");
}

TEST_F(ReceiverTest, Rfc8935_2_ContentTypeMustBeSeceventJwt) {
  const std::string set = mint(es256(), setClaims());
  for (const char* ct : {"", "application/jwt", "application/json", "text/plain",
                         "application/secevent+jwt-x"}) {
    SCOPED_TRACE(ct);
    expectRejected(receiver_->receive(ct, set, at(kNow)), SetErrorCode::kInvalidRequest);
  }
  // A rejected request does not use up the jti: the same SET, correctly labelled, passes.
  EXPECT_EQ(receiver_->receive(" Application/SecEvent+JWT ; charset=utf-8", set, at(kNow))
                .disposition,
            Disposition::kAccepted);
}

TEST_F(ReceiverTest, Section10_6_S3_DuplicateJtiIs202WithNothingToApply) {
  const std::string set = mint(es256(), setClaims());
  ASSERT_EQ(receiver_->receive(kCt, set, at(kNow)).disposition, Disposition::kAccepted);
  const auto again = receiver_->receive(kCt, set, at(kNow + 30));
  EXPECT_EQ(again.http_status, 202);
  EXPECT_EQ(again.disposition, Disposition::kDuplicate);
  EXPECT_FALSE(again.event.has_value());  // no double action
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.issuer, kIssuer);
  EXPECT_EQ(again.jti, "set-1");
  // A different SET reusing the jti is a duplicate too: the ledger keys on (iss, jti).
  json changed = setClaims();
  changed["events"] = testing::riskEvent("LOW");
  EXPECT_EQ(receiver_->receive(kCt, mint(es256(), changed), at(kNow + 31)).disposition,
            Disposition::kDuplicate);
}

TEST_F(ReceiverTest, SameJtiFromAnotherIssuerIsNotADuplicate) {
  ASSERT_EQ(receiver_->receive(kCt, mint(es256(), setClaims()), at(kNow)).disposition,
            Disposition::kAccepted);
  EXPECT_EQ(receiver_->receive(kCt, otherSet("set-1"), at(kNow)).disposition,
            Disposition::kAccepted);
}

TEST_F(ReceiverTest, AForgedSetNeverUsesUpAJti) {
  // Signed by an attacker under the transmitter's kid, with the jti the genuine SET uses.
  const auto forged = receiver_->receive(kCt, mint(es256("ec-1", "p256-attacker"), setClaims()),
                                         at(kNow));
  expectRejected(forged, SetErrorCode::kInvalidKey);
  EXPECT_EQ(receiver_->receive(kCt, mint(es256(), setClaims()), at(kNow)).disposition,
            Disposition::kAccepted);
}

TEST_F(ReceiverTest, Section10_6_S3_UnknownEventTypeIs202AndIgnored) {
  const json events = {{"https://example.com/event-type/unknown", json::object()}};
  const auto out = receiver_->receive(kCt, mint(es256(), setClaims(kNow - 5, events)), at(kNow));
  EXPECT_EQ(out.http_status, 202);
  EXPECT_EQ(out.disposition, Disposition::kIgnored);
  ASSERT_TRUE(out.event.has_value());  // for the audit log; nothing to apply
  EXPECT_EQ(out.event->kind, EventKind::kUnknown);
}

TEST_F(ReceiverTest, EachVerifierErrorIsA400WithItsCode) {
  json wrong_iss = setClaims();
  wrong_iss["iss"] = "https://nobody.example";
  json wrong_aud = setClaims();
  wrong_aud["aud"] = "https://nobody.example";
  json with_exp = setClaims();
  with_exp["exp"] = kNow + 60;
  expectRejected(receiver_->receive(kCt, "garbage", at(kNow)), SetErrorCode::kInvalidRequest);
  expectRejected(receiver_->receive(kCt, mint(es256(), with_exp), at(kNow)),
                 SetErrorCode::kInvalidRequest);
  expectRejected(receiver_->receive(kCt, mint(es256("ec-7"), setClaims()), at(kNow)),
                 SetErrorCode::kInvalidKey);
  expectRejected(receiver_->receive(kCt, mint(es256(), wrong_iss), at(kNow)),
                 SetErrorCode::kInvalidIssuer);
  expectRejected(receiver_->receive(kCt, mint(es256(), wrong_aud), at(kNow)),
                 SetErrorCode::kInvalidAudience);
  expectRejected(receiver_->receive(kCt, mint(es256(), setClaims(kNow - 90'000)), at(kNow)),
                 SetErrorCode::kInvalidRequest);
}

TEST_F(ReceiverTest, SurroundingWhitespaceInTheBodyIsTolerated) {
  const auto out = receiver_->receive(kCt, mint(es256(), setClaims()) + "\r\n", at(kNow));
  EXPECT_EQ(out.disposition, Disposition::kAccepted);
}

// --- Authorization (identity-standards §9.3 authorization_header, §10.6 S2) ---

class ReceiverAuthTest : public ReceiverTest {
 protected:
  void SetUp() override {
    ReceiverTest::SetUp();
    ReceiverOptions options;
    options.push_authorization[kIssuer] = "Bearer tx-one-secret";
    options.push_authorization[kOtherIssuer] = "Bearer tx-two-secret";
    receiver_ = make(std::move(options));
  }

  ReceiveOutcome push(const std::string& set, std::optional<std::string_view> authorization) {
    return receiver_->receive(PushRequest{kCt, authorization, set}, at(kNow));
  }
};

TEST_F(ReceiverAuthTest, CorrectAuthorizationIsAccepted) {
  EXPECT_EQ(push(mint(es256(), setClaims()), "Bearer tx-one-secret").disposition,
            Disposition::kAccepted);
  EXPECT_EQ(push(otherSet(), " Bearer tx-two-secret ").disposition, Disposition::kAccepted);
}

TEST_F(ReceiverAuthTest, Section10_6_S2_MissingAuthorizationIsAuthenticationFailed) {
  expectRejected(push(mint(es256(), setClaims()), std::nullopt),
                 SetErrorCode::kAuthenticationFailed);
  // The two-argument receive() sends none.
  expectRejected(receiver_->receive(kCt, mint(es256(), setClaims()), at(kNow)),
                 SetErrorCode::kAuthenticationFailed);
}

TEST_F(ReceiverAuthTest, Section10_6_S2_UnknownAuthorizationIsAuthenticationFailed) {
  for (const char* value : {"Bearer wrong", "Bearer tx-one-secreT", "", "Basic dHg6b25l"}) {
    SCOPED_TRACE(value);
    expectRejected(push(mint(es256(), setClaims()), value), SetErrorCode::kAuthenticationFailed);
  }
  // Refused before the SET is looked at: even garbage gets authentication_failed.
  expectRejected(push("garbage", "Bearer wrong"), SetErrorCode::kAuthenticationFailed);
}

TEST_F(ReceiverAuthTest, Section10_6_S2_AnotherTransmittersAuthorizationIsAccessDenied) {
  expectRejected(push(mint(es256(), setClaims()), "Bearer tx-two-secret"),
                 SetErrorCode::kAccessDenied);
  expectRejected(push(otherSet(), "Bearer tx-one-secret"), SetErrorCode::kAccessDenied);
}

TEST_F(ReceiverTest, IssuersWithoutACredentialPushWithoutOne) {
  ReceiverOptions options;
  options.push_authorization[kOtherIssuer] = "Bearer tx-two-secret";
  receiver_ = make(std::move(options));
  EXPECT_EQ(receiver_->receive(kCt, mint(es256(), setClaims()), at(kNow)).disposition,
            Disposition::kAccepted);
  expectRejected(receiver_->receive(kCt, otherSet(), at(kNow)),
                 SetErrorCode::kAuthenticationFailed);
  EXPECT_EQ(receiver_->receive(PushRequest{kCt, "Bearer tx-two-secret", otherSet()}, at(kNow))
                .disposition,
            Disposition::kAccepted);
}

// --- SSF verification events (identity-standards §9.2, §10.6 S4) ---

TEST_F(ReceiverTest, Section10_6_S4_VerificationStateIsChecked) {
  ReceiverOptions options;
  options.verification_state_matches = [](std::string_view issuer,
                                          std::optional<std::string_view> state) {
    return issuer == kIssuer && state == std::optional<std::string_view>("state-42");
  };
  receiver_ = make(std::move(options));
  auto verification = [](const std::string& jti, const json& payload) {
    json claims = setClaims(kNow - 5, {{std::string(event_type::kVerification), payload}});
    claims["jti"] = jti;
    claims["sub_id"] = {{"format", "opaque"}, {"id", "stream-1"}};
    return mint(es256(), claims);
  };
  expectRejected(receiver_->receive(kCt, verification("v-1", {{"state", "state-41"}}), at(kNow)),
                 SetErrorCode::kInvalidState);
  expectRejected(receiver_->receive(kCt, verification("v-2", json::object()), at(kNow)),
                 SetErrorCode::kInvalidState);
  // A refused verification does not use up its jti.
  const auto ok = receiver_->receive(kCt, verification("v-1", {{"state", "state-42"}}), at(kNow));
  EXPECT_EQ(ok.disposition, Disposition::kAccepted);
  ASSERT_TRUE(ok.event.has_value());
  EXPECT_EQ(ok.event->kind, EventKind::kVerification);
}

TEST_F(ReceiverTest, VerificationEventsPassWithoutAStateCheck) {
  json claims = setClaims(kNow - 5, {{std::string(event_type::kVerification), {{"state", "s"}}}});
  EXPECT_EQ(receiver_->receive(kCt, mint(es256(), claims), at(kNow)).disposition,
            Disposition::kAccepted);
}

// --- the error body and configuration ---

TEST(SetErrorTest, Rfc8935_2_4_BodyShapeAndCodes) {
  EXPECT_EQ(renderErrorBody({SetErrorCode::kInvalidKey, "kid \"x\" unknown"}),
            R"({"err":"invalid_key","description":"kid \"x\" unknown"})");
  const std::vector<std::pair<SetErrorCode, std::string_view>> codes = {
      {SetErrorCode::kInvalidRequest, "invalid_request"},
      {SetErrorCode::kInvalidKey, "invalid_key"},
      {SetErrorCode::kInvalidIssuer, "invalid_issuer"},
      {SetErrorCode::kInvalidAudience, "invalid_audience"},
      {SetErrorCode::kAuthenticationFailed, "authentication_failed"},
      {SetErrorCode::kAccessDenied, "access_denied"},
      {SetErrorCode::kInvalidState, "invalid_state"}};
  for (const auto& [code, name] : codes) {
    EXPECT_EQ(setErrorName(code), name);
    const json body = json::parse(renderErrorBody({code, "d"}));
    EXPECT_EQ(body["err"], name);
  }
  // Control characters and invalid UTF-8 never break the JSON.
  const json odd = json::parse(renderErrorBody({SetErrorCode::kInvalidRequest, "a\n\x01\xff"}),
                               nullptr, false);
  EXPECT_TRUE(odd.is_object());
}

TEST_F(ReceiverTest, CreateRefusesBadConfiguration) {
  EXPECT_FALSE(SsfReceiver::create(nullptr, ledger_).ok());
  EXPECT_FALSE(SsfReceiver::create(verifier_, nullptr).ok());
  ReceiverOptions unknown;
  unknown.push_authorization["https://nobody.example"] = "Bearer x";
  EXPECT_FALSE(SsfReceiver::create(verifier_, ledger_, unknown).ok());
  ReceiverOptions empty;
  empty.push_authorization[kIssuer] = "  ";
  EXPECT_FALSE(SsfReceiver::create(verifier_, ledger_, empty).ok());
}

TEST(DispositionTest, Names) {
  EXPECT_EQ(dispositionName(Disposition::kAccepted), "accepted");
  EXPECT_EQ(dispositionName(Disposition::kDuplicate), "duplicate");
  EXPECT_EQ(dispositionName(Disposition::kIgnored), "ignored");
  EXPECT_EQ(dispositionName(Disposition::kRejected), "rejected");
}

}  // namespace
}  // namespace warden::ssf
