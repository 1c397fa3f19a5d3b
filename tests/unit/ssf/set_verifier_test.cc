// SetVerifier against RFC 8417 as SSF 1.0 profiles it (identity-standards §9.1), the RFC
// 8935 §2.4 error codes as §9.3 and §10.6 S2 assign them, and RFC 8725's key rules.
// Each test names the rule it holds to.
#include "ssf/set_verifier.h"

#include <gtest/gtest.h>

#include "ssf_test_util.h"
#include "token/access_token.h"

namespace warden::ssf {
namespace {

using testing::at;
using testing::es256;
using testing::json;
using testing::kAudience;
using testing::kIssuer;
using testing::kNow;
using testing::mint;
using testing::ps256;
using testing::rs256;
using testing::setClaims;
using testing::setHeader;

class SetVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_shared<token::FixedKeySetProvider>(
        testing::keySet({es256("ec-1"), rs256("rsa-1"), es256("ec-2", "p256-b")}));
    ASSERT_NE(keys_->current(), nullptr);
  }

  std::unique_ptr<const SetVerifier> make(std::vector<Transmitter> transmitters = {},
                                          SetVerifierOptions options = {}) {
    if (transmitters.empty()) transmitters.push_back(testing::transmitter(keys_));
    auto v = SetVerifier::create(std::move(transmitters), options);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? std::move(*v) : nullptr;
  }

  VerifyResult check(const std::string& set, std::int64_t now = kNow) {
    if (!verifier_) verifier_ = make();
    return verifier_->verify(set, at(now));
  }

  std::shared_ptr<token::FixedKeySetProvider> keys_;
  std::unique_ptr<const SetVerifier> verifier_;
};

void expectRefused(const VerifyResult& r, SetErrorCode code) {
  ASSERT_FALSE(r.ok()) << "accepted; expected " << setErrorName(code);
  EXPECT_EQ(setErrorName(r.error().err), setErrorName(code)) << r.error().description;
  EXPECT_FALSE(r.error().description.empty());
}

TEST_F(SetVerifierTest, ValidEs256SetVerifiesAndCarriesTheEnvelope) {
  const auto r = check(mint(es256(), setClaims()));
  ASSERT_TRUE(r.ok()) << r.error().description;
  EXPECT_EQ(r->issuer, kIssuer);
  EXPECT_EQ(r->jti, "set-1");
  EXPECT_EQ(r->iat, kNow - 5);
  EXPECT_EQ(r->audience, std::vector<std::string>{kAudience});
  EXPECT_EQ(r->txn, "txn-1");
  EXPECT_EQ(r->subject.format, SubjectFormat::kUri);
  EXPECT_EQ(r->subject.uri, testing::kSpiffeId);
  EXPECT_EQ(r->kind, EventKind::kRiskLevelChange);
  EXPECT_EQ(r->event_type, event_type::kRiskLevelChange);
  ASSERT_TRUE(r->risk_level_change.has_value());
  EXPECT_EQ(r->risk_level_change->current_level, governance::RiskLevel::kHigh);
}

TEST_F(SetVerifierTest, Rs256AndPs256Verify) {
  EXPECT_TRUE(check(mint(rs256(), setClaims())).ok());
  EXPECT_TRUE(check(mint(ps256(), setClaims())).ok());
}

// --- typ (RFC 8417 §2.3; identity-standards §9.1 "must have typ secevent+jwt", §10.6 S2) ---

TEST_F(SetVerifierTest, Section9_1_TypIsRequired) {
  expectRefused(check(mint(es256(), setClaims(), json::object())), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Section10_6_S2_TypOtherThanSeceventJwtIsInvalidRequest) {
  for (const char* typ : {"JWT", "at+jwt", "application/at+jwt", "secevent", "jwt+secevent"}) {
    expectRefused(check(mint(es256(), setClaims(), {{"typ", typ}})), SetErrorCode::kInvalidRequest);
  }
}

TEST_F(SetVerifierTest, Rfc7515_4_1_9_TypMediaTypeFormAndCaseAreAccepted) {
  for (const char* typ : {"application/secevent+jwt", "SECEVENT+JWT", "Application/SecEvent+JWT"}) {
    const auto r = check(mint(es256(), setClaims(), {{"typ", typ}}));
    EXPECT_TRUE(r.ok()) << typ << ": " << r.error().description;
  }
}

// --- a SET is not an access token, and an access token is not a SET (RFC 8417 §2.3) ---

TEST_F(SetVerifierTest, Section9_1_SubClaimIsInvalidRequest) {
  json claims = setClaims();
  claims["sub"] = testing::kSpiffeId;
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Section9_1_ExpClaimIsInvalidRequest) {
  json claims = setClaims();
  claims["exp"] = kNow + 600;
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Rfc8417_2_3_AccessTokenIsNotTakenForASet) {
  // An RFC 9068 access token from the same issuer and key, even one carrying every SET
  // claim (events, sub_id) besides its own.
  json claims = setClaims();
  claims["sub"] = "client-1";
  claims["exp"] = kNow + 600;
  claims["client_id"] = "c1";
  expectRefused(check(mint(es256(), claims, {{"typ", "at+jwt"}})), SetErrorCode::kInvalidRequest);
  // The typ alone does not make it a SET: sub and exp still refuse it, each on its own.
  for (const char* name : {"sub", "exp"}) {
    json one = claims;
    one.erase(name);
    const auto r = check(mint(es256(), one));
    expectRefused(r, SetErrorCode::kInvalidRequest);
    EXPECT_NE(r.error().description.find(name == std::string("sub") ? "exp" : "sub"),
              std::string::npos)
        << r.error().description;
  }
}

TEST_F(SetVerifierTest, Rfc8417_2_3_SetIsNotTakenForAnAccessToken) {
  token::TokenIssuerConfig config;
  config.issuer = kIssuer;
  config.jwks_url = kIssuer + "/jwks";
  config.audiences = {kAudience};
  token::TokenRequirements requirements;
  requirements.issuers = {kIssuer};
  auto at_verifier =
      token::AccessTokenVerifier::create(requirements, {token::IssuerKeys{config, keys_}});
  ASSERT_TRUE(at_verifier.ok()) << at_verifier.error().message;
  const std::string set = mint(es256(), setClaims());
  ASSERT_TRUE(check(set).ok());
  const auto verdict = (*at_verifier)->verify(set, token::CallerBinding{}, at(kNow));
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, token::reason::kWrongTokenType) << verdict.detail;
  // Even an issuer that checks no typ refuses it: a SET has no exp.
  config.require_typ.clear();
  auto lax = token::AccessTokenVerifier::create(requirements, {token::IssuerKeys{config, keys_}});
  ASSERT_TRUE(lax.ok());
  const auto lax_verdict = (*lax)->verify(set, token::CallerBinding{}, at(kNow));
  EXPECT_FALSE(lax_verdict.ok);
  EXPECT_EQ(lax_verdict.reason, token::reason::kInvalidToken) << lax_verdict.detail;
}

// --- algorithms and keys (RFC 8725 §3.1, §3.2, §3.10; §10.6 S2) ---

TEST_F(SetVerifierTest, Rfc8725_3_2_AlgNoneIsInvalidKey) {
  json header = setHeader();
  header["alg"] = "none";
  expectRefused(check(testing::rawJws(header, setClaims(), "")), SetErrorCode::kInvalidKey);
  header["alg"] = "NONE";
  expectRefused(check(testing::rawJws(header, setClaims(), "x")), SetErrorCode::kInvalidKey);
}

TEST_F(SetVerifierTest, Rfc8725_3_1_HmacIsRefusedEvenWithThePublicKeyAsSecret) {
  json header = setHeader();
  header["alg"] = "HS256";
  header["kid"] = "ec-1";
  expectRefused(check(testing::hs256(header, setClaims(), "a shared secret of 32 bytes!!!!")),
                SetErrorCode::kInvalidKey);
  // The classic confusion: the verification key's public JWK text used as the HMAC secret.
  expectRefused(check(testing::hs256(header, setClaims(), es256().jwk().dump())),
                SetErrorCode::kInvalidKey);
}

TEST_F(SetVerifierTest, AlgNotAllowedForTheTransmitterIsInvalidKey) {
  verifier_ = make({testing::transmitter(keys_, kIssuer, {jose::Alg::kRS256})});
  expectRefused(check(mint(es256(), setClaims())), SetErrorCode::kInvalidKey);
  EXPECT_TRUE(check(mint(rs256(), setClaims())).ok());
}

TEST_F(SetVerifierTest, UnknownKidIsInvalidKeyAndAsksForARefresh) {
  const auto before = keys_->refreshRequests();
  expectRefused(check(mint(es256("ec-unknown"), setClaims())), SetErrorCode::kInvalidKey);
  EXPECT_EQ(keys_->refreshRequests(), before + 1);
}

TEST_F(SetVerifierTest, OverlongKidIsInvalidKeyWithoutARefresh) {
  const auto before = keys_->refreshRequests();
  expectRefused(check(mint(es256(std::string(token::kMaxKidBytes + 1, 'k')), setClaims())),
                SetErrorCode::kInvalidKey);
  EXPECT_EQ(keys_->refreshRequests(), before);
}

TEST_F(SetVerifierTest, MissingKidIsInvalidKey) {
  json header = setHeader();
  header["kid"] = nullptr;  // mint() drops it
  expectRefused(check(mint(es256(), setClaims(), header)), SetErrorCode::kInvalidKey);
}

TEST_F(SetVerifierTest, NoKeysYetIsInvalidKeyAndAsksForThem) {
  auto empty = std::make_shared<token::FixedKeySetProvider>();
  verifier_ = make({testing::transmitter(empty)});
  expectRefused(check(mint(es256(), setClaims())), SetErrorCode::kInvalidKey);
  EXPECT_EQ(empty->refreshRequests(), 1u);
}

TEST_F(SetVerifierTest, KeyOfAnotherTypeThanTheAlgIsInvalidKey) {
  // RS256 named in the header, kid of an EC key.
  json header = setHeader();
  header["kid"] = "ec-1";
  expectRefused(check(mint(rs256(), setClaims(), header)), SetErrorCode::kInvalidKey);
}

TEST_F(SetVerifierTest, Section10_6_S2_BadSignatureIsInvalidKey) {
  // Signed by a key the transmitter never published, under a kid it did.
  expectRefused(check(mint(es256("ec-1", "p256-attacker"), setClaims())),
                SetErrorCode::kInvalidKey);
  // A genuine SET whose payload was changed after signing.
  const std::string genuine = mint(es256(), setClaims());
  const std::size_t dot1 = genuine.find('.');
  const std::size_t dot2 = genuine.find('.', dot1 + 1);
  json changed = setClaims();
  changed["events"] = testing::riskEvent("LOW");
  const std::string tampered = genuine.substr(0, dot1 + 1) + testing::b64(changed.dump()) +
                               genuine.substr(dot2);
  expectRefused(check(tampered), SetErrorCode::kInvalidKey);
}

TEST_F(SetVerifierTest, Rfc8725_3_10_HeaderKeyLocatorsAreRefused) {
  for (const char* name : {"jku", "x5u", "jwk"}) {
    json header = setHeader();
    header[name] = name == std::string("jwk") ? es256().jwk() : json("https://evil.example/k");
    expectRefused(check(mint(es256(), setClaims(), header)), SetErrorCode::kInvalidRequest);
  }
  json nested = setHeader();
  nested["cty"] = "JWT";
  expectRefused(check(mint(es256(), setClaims(), nested)), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Rfc7515_4_1_11_CritIsInvalidRequest) {
  json header = setHeader();
  header["crit"] = json::array({"exp"});
  expectRefused(check(mint(es256(), setClaims(), header)), SetErrorCode::kInvalidRequest);
}

// --- issuer and audience ---

TEST_F(SetVerifierTest, UnknownIssuerIsInvalidIssuer) {
  json claims = setClaims();
  claims["iss"] = "https://tx.example.com/";  // exact match only: no slash normalisation
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidIssuer);
  claims["iss"] = testing::kOtherIssuer;
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidIssuer);
}

TEST_F(SetVerifierTest, MissingOrNonStringIssIsInvalidRequest) {
  json claims = setClaims();
  claims.erase("iss");
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
  claims["iss"] = 42;
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, KeysOfOneTransmitterDoNotVerifyAnother) {
  auto other_keys =
      std::make_shared<token::FixedKeySetProvider>(testing::keySet({es256("ec-1", "p256-other")}));
  verifier_ = make({testing::transmitter(keys_),
                    testing::transmitter(other_keys, testing::kOtherIssuer)});
  json claims = setClaims();
  claims["iss"] = testing::kOtherIssuer;
  // Signed with the first transmitter's key under a kid the second also uses.
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidKey);
  EXPECT_TRUE(check(mint(es256("ec-1", "p256-other"), claims)).ok());
}

TEST_F(SetVerifierTest, WrongAudienceIsInvalidAudience) {
  json claims = setClaims();
  claims["aud"] = "https://someone-else.example.com";
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidAudience);
  claims["aud"] = json::array({"https://a.example", "https://b.example"});
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidAudience);
}

TEST_F(SetVerifierTest, AudienceArrayHoldingOursIsAccepted) {
  json claims = setClaims();
  claims["aud"] = json::array({"https://a.example", kAudience});
  const auto r = check(mint(es256(), claims));
  ASSERT_TRUE(r.ok()) << r.error().description;
  EXPECT_EQ(r->audience.size(), 2u);
}

TEST_F(SetVerifierTest, MalformedAudienceIsInvalidRequest) {
  for (const json& aud : {json(), json::array(), json::array({kAudience, 3}), json(7)}) {
    json claims = setClaims();
    if (aud.is_null()) {
      claims.erase("aud");
    } else {
      claims["aud"] = aud;
    }
    expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
  }
}

// --- required claims (RFC 8417 §2.2, identity-standards §9.1) ---

TEST_F(SetVerifierTest, Section9_1_EachRequiredClaimMissingIsInvalidRequest) {
  for (const char* name : {"jti", "iat", "aud", "events", "sub_id"}) {
    json claims = setClaims();
    claims.erase(name);
    expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
  }
}

TEST_F(SetVerifierTest, MalformedJtiIatTxnToeAreInvalidRequest) {
  const std::vector<std::pair<const char*, json>> cases = {
      {"jti", ""}, {"jti", 5}, {"jti", std::string(kMaxJtiBytes + 1, 'j')},
      {"iat", "yesterday"}, {"iat", 1e300}, {"txn", 5}, {"toe", "now"}};
  for (const auto& [name, value] : cases) {
    json claims = setClaims();
    claims[name] = value;
    SCOPED_TRACE(std::string(name) + "=" + value.dump().substr(0, 40));
    expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
  }
}

TEST_F(SetVerifierTest, ToeIsRead) {
  json claims = setClaims();
  claims["toe"] = kNow - 30;
  const auto r = check(mint(es256(), claims));
  ASSERT_TRUE(r.ok()) << r.error().description;
  EXPECT_EQ(r->toe, kNow - 30);
}

// --- iat bounds ---

TEST_F(SetVerifierTest, IatInTheFutureBeyondTheSkewIsInvalidRequest) {
  EXPECT_TRUE(check(mint(es256(), setClaims(kNow + 60))).ok());
  expectRefused(check(mint(es256(), setClaims(kNow + 61))), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, IatOlderThanMaxAgeIsInvalidRequest) {
  SetVerifierOptions options;
  options.max_age = std::chrono::hours(2);
  verifier_ = make({}, options);
  EXPECT_TRUE(check(mint(es256(), setClaims(kNow - 7200))).ok());
  expectRefused(check(mint(es256(), setClaims(kNow - 7201))), SetErrorCode::kInvalidRequest);
  EXPECT_EQ(verifier_->acceptanceWindow(), std::chrono::seconds(7200 + 60));
}

TEST_F(SetVerifierTest, DefaultMaxAgeIsOneDay) {
  EXPECT_TRUE(check(mint(es256(), setClaims(kNow - 86400))).ok());
  expectRefused(check(mint(es256(), setClaims(kNow - 86401))), SetErrorCode::kInvalidRequest);
}

// --- events (identity-standards §9.1: one event; aliases of one allowed) ---

TEST_F(SetVerifierTest, Section9_1_TwoUnrelatedEventsAreInvalidRequest) {
  json events = testing::riskEvent();
  events[std::string(event_type::kSessionRevoked)] = json::object();
  expectRefused(check(mint(es256(), setClaims(kNow - 5, events))), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Section9_1_AliasesOfOneEventAreOneEvent) {
  const json events = {{std::string(event_type::kSessionRevoked), json::object()},
                       {std::string(event_type::kRiscSessionsRevoked), json::object()}};
  const auto r = check(mint(es256(), setClaims(kNow - 5, events)));
  ASSERT_TRUE(r.ok()) << r.error().description;
  EXPECT_EQ(r->kind, EventKind::kSessionRevoked);
  EXPECT_EQ(r->event_type, event_type::kSessionRevoked);  // the CAEP name is kept
}

TEST_F(SetVerifierTest, EmptyEventsIsInvalidRequest) {
  expectRefused(check(mint(es256(), setClaims(kNow - 5, json::object()))),
                SetErrorCode::kInvalidRequest);
  expectRefused(check(mint(es256(), setClaims(kNow - 5, json::array()))),
                SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, Section9_1_UnknownEventTypeVerifiesAsUnknown) {
  const json events = {{"https://example.com/event-type/party", {{"cake", true}}}};
  const auto r = check(mint(es256(), setClaims(kNow - 5, events)));
  ASSERT_TRUE(r.ok()) << r.error().description;
  EXPECT_EQ(r->kind, EventKind::kUnknown);
  EXPECT_EQ(r->event_type, "https://example.com/event-type/party");
  EXPECT_EQ(r->payload, json({{"cake", true}}));
}

TEST_F(SetVerifierTest, NonConformingEventPayloadIsInvalidRequest) {
  // RFC 8935 §2.4 invalid_request: "the Event Payload ... does not conform".
  const json events = {{std::string(event_type::kRiskLevelChange), {{"principal", "USER"}}}};
  expectRefused(check(mint(es256(), setClaims(kNow - 5, events))), SetErrorCode::kInvalidRequest);
}

// --- malformed input ---

TEST_F(SetVerifierTest, MalformedInputIsInvalidRequest) {
  for (const std::string& body :
       {std::string(), std::string("not a jws"), std::string("a.b"), std::string("a.b.c.d"),
        testing::b64("[1]") + "." + testing::b64("{}") + ".c2ln",
        testing::b64(R"({"alg":"ES256","alg":"RS256","typ":"secevent+jwt"})") + "." +
            testing::b64(setClaims().dump()) + ".c2ln"}) {
    SCOPED_TRACE(body);
    expectRefused(check(body), SetErrorCode::kInvalidRequest);
  }
}

TEST_F(SetVerifierTest, OversizedSetIsInvalidRequest) {
  json claims = setClaims();
  claims["padding"] = std::string(kMaxSetBytes, 'p');
  expectRefused(check(mint(es256(), claims)), SetErrorCode::kInvalidRequest);
}

TEST_F(SetVerifierTest, DescriptionsNeverEchoRawAttackerText) {
  json claims = setClaims();
  claims["iss"] = std::string("https://evil\"\n\x01") + std::string(200, 'x');
  const auto r = check(mint(es256(), claims));
  expectRefused(r, SetErrorCode::kInvalidIssuer);
  EXPECT_EQ(r.error().description.find('\n'), std::string::npos);
  EXPECT_EQ(r.error().description.find('"' + std::string("https://evil\"")), std::string::npos);
  EXPECT_LT(r.error().description.size(), 160u);
}

// --- configuration ---

TEST(SetVerifierCreateTest, RefusesIncompleteConfiguration) {
  auto keys = std::make_shared<token::FixedKeySetProvider>(testing::keySet({es256()}));
  auto ok = testing::transmitter(keys);
  EXPECT_TRUE(SetVerifier::create({ok}).ok());
  EXPECT_FALSE(SetVerifier::create({}).ok());
  auto t = ok;
  t.issuer.clear();
  EXPECT_FALSE(SetVerifier::create({t}).ok());
  t = ok;
  t.keys = nullptr;
  EXPECT_FALSE(SetVerifier::create({t}).ok());
  t = ok;
  t.algorithms.clear();
  EXPECT_FALSE(SetVerifier::create({t}).ok());
  t = ok;
  t.audiences.clear();
  EXPECT_FALSE(SetVerifier::create({t}).ok());
  t = ok;
  t.audiences = {""};
  EXPECT_FALSE(SetVerifier::create({t}).ok());
  EXPECT_FALSE(SetVerifier::create({ok, ok}).ok());  // one issuer twice
  SetVerifierOptions options;
  options.max_age = std::chrono::seconds(0);
  EXPECT_FALSE(SetVerifier::create({ok}, options).ok());
  options = {};
  options.clock_skew = std::chrono::seconds(-1);
  EXPECT_FALSE(SetVerifier::create({ok}, options).ok());
}

}  // namespace
}  // namespace warden::ssf
