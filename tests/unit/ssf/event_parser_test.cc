// The sub_id and events parsers: every event type Warden reads (CAEP 1.0, RISC 1.0, SSF 1.0
// as identity-standards §9.2 lists them) and the RFC 9493 / SSF subject formats (§9.1).
#include "ssf/event_parser.h"

#include <gtest/gtest.h>

namespace warden::ssf {
namespace {

using nlohmann::json;
using governance::RiskLevel;

SubjectId subject(const json& sub_id) {
  auto parsed = parseSubjectId(sub_id);
  EXPECT_TRUE(parsed.ok()) << sub_id.dump() << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : SubjectId{};
}

void expectBadSubject(const json& sub_id) {
  EXPECT_FALSE(parseSubjectId(sub_id).ok()) << sub_id.dump();
}

SecurityEvent event(std::string_view type, const json& payload) {
  SecurityEvent out;
  const Status st = parseEvents(json{{std::string(type), payload}}, out);
  EXPECT_TRUE(st.ok()) << type << ": " << st.message();
  return out;
}

void expectBadEvent(std::string_view type, const json& payload) {
  SecurityEvent out;
  EXPECT_FALSE(parseEvents(json{{std::string(type), payload}}, out).ok())
      << type << " " << payload.dump();
}

// --- subjects ---

TEST(SubjectIdTest, IssSub) {
  const auto s =
      subject({{"format", "iss_sub"}, {"iss", "https://login.example"}, {"sub", "oid-1"}});
  EXPECT_EQ(s.format, SubjectFormat::kIssSub);
  EXPECT_EQ(s.format_name, "iss_sub");
  EXPECT_EQ(s.iss, "https://login.example");
  EXPECT_EQ(s.sub, "oid-1");
  EXPECT_TRUE(s.member.empty());
}

TEST(SubjectIdTest, UriCarriesASpiffeId) {
  const auto s = subject({{"format", "uri"}, {"uri", "spiffe://example.org/agent/a"}});
  EXPECT_EQ(s.format, SubjectFormat::kUri);
  EXPECT_EQ(s.uri, "spiffe://example.org/agent/a");
}

TEST(SubjectIdTest, EmailOpaquePhoneDidAccount) {
  EXPECT_EQ(subject({{"format", "email"}, {"email", "a@example.com"}}).email, "a@example.com");
  const auto opaque = subject({{"format", "opaque"}, {"id", "stream-7"}});
  EXPECT_EQ(opaque.format, SubjectFormat::kOpaque);
  EXPECT_EQ(opaque.id, "stream-7");
  const auto phone = subject({{"format", "phone_number"}, {"phone_number", "+12065550100"}});
  EXPECT_EQ(phone.format, SubjectFormat::kPhoneNumber);
  EXPECT_EQ(phone.phone_number, "+12065550100");
  const auto did = subject({{"format", "did"}, {"url", "did:example:123"}});
  EXPECT_EQ(did.format, SubjectFormat::kDid);
  EXPECT_EQ(did.uri, "did:example:123");
  const auto account = subject({{"format", "account"}, {"uri", "acct:a@example.com"}});
  EXPECT_EQ(account.format, SubjectFormat::kAccount);
  EXPECT_EQ(account.uri, "acct:a@example.com");
}

TEST(SubjectIdTest, KnownFormatWithoutItsMembersIsAnError) {
  expectBadSubject({{"format", "iss_sub"}, {"iss", "https://login.example"}});
  expectBadSubject({{"format", "email"}});
  expectBadSubject({{"format", "opaque"}, {"id", ""}});
  expectBadSubject({{"format", "uri"}, {"uri", 5}});
  expectBadSubject({{"uri", "spiffe://example.org/a"}});  // no format
  expectBadSubject(json("spiffe://example.org/a"));       // not an object
}

TEST(SubjectIdTest, FormatsWardenCannotMapAreOther) {
  const auto s = subject({{"format", "jwt_id"}, {"iss", "https://idp"}, {"jti", "t-1"}});
  EXPECT_EQ(s.format, SubjectFormat::kOther);
  EXPECT_EQ(s.format_name, "jwt_id");
  EXPECT_EQ(subject({{"format", "x-private"}}).format, SubjectFormat::kOther);
}

TEST(SubjectIdTest, ComplexTakesTheFirstMappableMemberInFixedOrder) {
  // user comes before device and session whatever the JSON order.
  const auto s = subject({{"format", "complex"},
                          {"session", {{"format", "opaque"}, {"id", "sess-1"}}},
                          {"device", {{"format", "uri"}, {"uri", "spiffe://example.org/dev"}}},
                          {"user", {{"format", "iss_sub"}, {"iss", "https://i"}, {"sub", "u"}}}});
  EXPECT_EQ(s.format, SubjectFormat::kIssSub);
  EXPECT_EQ(s.format_name, "complex");
  EXPECT_EQ(s.member, "user");
  EXPECT_EQ(s.sub, "u");
}

TEST(SubjectIdTest, ComplexSkipsMembersItCannotMap) {
  const auto s = subject({{"format", "complex"},
                          {"user", {{"format", "saml_assertion_id"}, {"issuer", "i"}}},
                          {"device", {{"format", "uri"}, {"uri", "spiffe://example.org/dev"}}}});
  EXPECT_EQ(s.format, SubjectFormat::kUri);
  EXPECT_EQ(s.member, "device");
  const auto session = subject({{"format", "complex"},
                                {"session", {{"format", "opaque"}, {"id", "sess-1"}}},
                                {"tenant", {{"format", "opaque"}, {"id", "t-1"}}}});
  EXPECT_EQ(session.member, "session");
  EXPECT_EQ(session.id, "sess-1");
}

TEST(SubjectIdTest, ComplexWithNothingMappableIsOther) {
  const auto s = subject({{"format", "complex"}, {"user", {{"format", "jwt_id"}}}});
  EXPECT_EQ(s.format, SubjectFormat::kOther);
  EXPECT_EQ(s.format_name, "complex");
}

TEST(SubjectIdTest, MalformedComplexIsAnError) {
  expectBadSubject({{"format", "complex"}});  // no member
  expectBadSubject({{"format", "complex"}, {"user", "alice"}});
  expectBadSubject({{"format", "complex"}, {"user", {{"format", "email"}}}});
  const json opaque = {{"format", "opaque"}, {"id", "x"}};
  expectBadSubject({{"format", "complex"}, {"user", {{"format", "complex"}, {"user", opaque}}}});
}

TEST(SubjectIdTest, AliasesTakeTheFirstMappableIdentifier) {
  const auto s = subject({{"format", "aliases"},
                          {"identifiers",
                           {{{"format", "jwt_id"}, {"iss", "i"}, {"jti", "j"}},
                            {{"format", "email"}, {"email", "a@example.com"}},
                            {{"format", "uri"}, {"uri", "spiffe://example.org/a"}}}}});
  EXPECT_EQ(s.format, SubjectFormat::kEmail);
  EXPECT_EQ(s.format_name, "aliases");
  EXPECT_EQ(s.member, "identifiers[1]");
  expectBadSubject({{"format", "aliases"}, {"identifiers", json::array()}});
  expectBadSubject({{"format", "aliases"},
                    {"identifiers", {{{"format", "aliases"}, {"identifiers", json::array()}}}}});
}

// --- events ---

TEST(EventParserTest, RiskLevelChange) {
  const auto e = event(event_type::kRiskLevelChange,
                       {{"principal", "USER"},
                        {"current_level", "HIGH"},
                        {"previous_level", "LOW"},
                        {"risk_reason", "PASSWORD_FOUND_IN_DATA_BREACH"},
                        {"event_timestamp", 1'700'000'000}});
  EXPECT_EQ(e.kind, EventKind::kRiskLevelChange);
  ASSERT_TRUE(e.risk_level_change.has_value());
  EXPECT_EQ(e.risk_level_change->principal, "USER");
  EXPECT_EQ(e.risk_level_change->current_level, RiskLevel::kHigh);
  EXPECT_EQ(e.risk_level_change->previous_level, RiskLevel::kLow);
  EXPECT_EQ(e.risk_level_change->risk_reason, "PASSWORD_FOUND_IN_DATA_BREACH");
  EXPECT_EQ(e.event_timestamp, 1'700'000'000);
}

TEST(EventParserTest, RiskLevelsMapToGovernanceLevels) {
  for (const auto& [text, level] : {std::pair{"LOW", RiskLevel::kLow},
                                    std::pair{"MEDIUM", RiskLevel::kMedium},
                                    std::pair{"HIGH", RiskLevel::kHigh},
                                    std::pair{"high", RiskLevel::kHigh}}) {
    const auto e =
        event(event_type::kRiskLevelChange, {{"principal", "USER"}, {"current_level", text}});
    ASSERT_TRUE(e.risk_level_change.has_value()) << text;
    EXPECT_EQ(e.risk_level_change->current_level, level) << text;
    EXPECT_FALSE(e.risk_level_change->previous_level.has_value());
  }
}

TEST(EventParserTest, RiskLevelChangeNeedsPrincipalAndACaepLevel) {
  expectBadEvent(event_type::kRiskLevelChange, {{"current_level", "HIGH"}});
  expectBadEvent(event_type::kRiskLevelChange, {{"principal", "USER"}});
  // CAEP has no "none" (governance's kNone is never produced by a SET).
  expectBadEvent(event_type::kRiskLevelChange, {{"principal", "USER"}, {"current_level", "NONE"}});
  expectBadEvent(event_type::kRiskLevelChange, {{"principal", "USER"}, {"current_level", 3}});
  expectBadEvent(event_type::kRiskLevelChange,
                 {{"principal", "USER"}, {"current_level", "HIGH"}, {"previous_level", "SEVERE"}});
}

TEST(EventParserTest, SessionRevokedWithCommonCaepMembers) {
  const auto e = event(event_type::kSessionRevoked,
                       {{"initiating_entity", "policy"},
                        {"reason_admin", {{"en", "Landspeed Policy Violation: C076E82F"}}},
                        {"reason_user", {{"en", "Access attempt from multiple regions."},
                                         {"es-410", "Intento de acceso desde varias regiones."}}},
                        {"event_timestamp", 1'615'304'991}});
  EXPECT_EQ(e.kind, EventKind::kSessionRevoked);
  EXPECT_EQ(e.initiating_entity, "policy");
  EXPECT_EQ(e.reason_admin.at("en"), "Landspeed Policy Violation: C076E82F");
  EXPECT_EQ(e.reason_user.size(), 2u);
  EXPECT_EQ(e.event_timestamp, 1'615'304'991);
}

TEST(EventParserTest, SessionRevokedNeedsNoMembers) {
  const auto e = event(event_type::kSessionRevoked, json::object());
  EXPECT_EQ(e.kind, EventKind::kSessionRevoked);
  EXPECT_FALSE(e.event_timestamp.has_value());
}

TEST(EventParserTest, MalformedCommonMembersAreErrors) {
  expectBadEvent(event_type::kSessionRevoked, {{"event_timestamp", "yesterday"}});
  expectBadEvent(event_type::kSessionRevoked, {{"initiating_entity", 1}});
  expectBadEvent(event_type::kSessionRevoked, {{"reason_admin", "text"}});
  expectBadEvent(event_type::kSessionRevoked, {{"reason_user", {{"en", 1}}}});
  expectBadEvent(event_type::kSessionRevoked, json::array());  // payload must be an object
}

TEST(EventParserTest, CredentialChange) {
  const auto e = event(event_type::kCredentialChange, {{"credential_type", "x509"},
                                                       {"change_type", "revoke"},
                                                       {"friendly_name", "agent cert"},
                                                       {"x509_issuer", "CN=ca"},
                                                       {"x509_serial", "0a1b"}});
  EXPECT_EQ(e.kind, EventKind::kCredentialChange);
  ASSERT_TRUE(e.credential_change.has_value());
  EXPECT_EQ(e.credential_change->credential_type, "x509");
  EXPECT_EQ(e.credential_change->change_type, ChangeType::kRevoke);
  EXPECT_EQ(e.credential_change->friendly_name, "agent cert");
  EXPECT_EQ(e.credential_change->x509_issuer, "CN=ca");
  EXPECT_EQ(e.credential_change->x509_serial, "0a1b");
  EXPECT_TRUE(e.credential_change->fido2_aaguid.empty());
  for (const char* type : {"create", "update", "delete"}) {
    const auto other =
        event(event_type::kCredentialChange, {{"credential_type", "app"}, {"change_type", type}});
    ASSERT_TRUE(other.credential_change.has_value());
    EXPECT_EQ(changeTypeName(other.credential_change->change_type), type);
  }
}

TEST(EventParserTest, CredentialChangeNeedsTypeAndAKnownChangeType) {
  expectBadEvent(event_type::kCredentialChange, {{"change_type", "revoke"}});
  expectBadEvent(event_type::kCredentialChange, {{"credential_type", "password"}});
  expectBadEvent(event_type::kCredentialChange,
                 {{"credential_type", "password"}, {"change_type", "rotate"}});
  expectBadEvent(event_type::kCredentialChange,
                 {{"credential_type", "password"}, {"change_type", "revoke"}, {"x509_serial", 5}});
}

TEST(EventParserTest, TokenClaimsChange) {
  const auto e = event(event_type::kTokenClaimsChange, {{"claims", {{"role", "ro-admin"}}}});
  EXPECT_EQ(e.kind, EventKind::kTokenClaimsChange);
  ASSERT_TRUE(e.token_claims.has_value());
  EXPECT_EQ((*e.token_claims)["role"], "ro-admin");
  expectBadEvent(event_type::kTokenClaimsChange, json::object());
  expectBadEvent(event_type::kTokenClaimsChange, {{"claims", "role=ro-admin"}});
}

TEST(EventParserTest, RiscAccountDisabled) {
  const auto e = event(event_type::kAccountDisabled, {{"reason", "hijacking"}});
  EXPECT_EQ(e.kind, EventKind::kAccountDisabled);
  ASSERT_TRUE(e.account_disabled.has_value());
  EXPECT_EQ(e.account_disabled->reason, "hijacking");
  const auto bare = event(event_type::kAccountDisabled, json::object());
  ASSERT_TRUE(bare.account_disabled.has_value());
  EXPECT_TRUE(bare.account_disabled->reason.empty());
  expectBadEvent(event_type::kAccountDisabled, {{"reason", 1}});
}

TEST(EventParserTest, RiscAccountEnabledPurgedAndCredentialCompromise) {
  EXPECT_EQ(event(event_type::kAccountEnabled, json::object()).kind, EventKind::kAccountEnabled);
  EXPECT_EQ(event(event_type::kAccountPurged, json::object()).kind, EventKind::kAccountPurged);
  const auto e = event(event_type::kCredentialCompromise, {{"credential_type", "password"}});
  EXPECT_EQ(e.kind, EventKind::kCredentialCompromise);
  ASSERT_TRUE(e.credential_compromise.has_value());
  EXPECT_EQ(e.credential_compromise->credential_type, "password");
  expectBadEvent(event_type::kCredentialCompromise, json::object());
}

TEST(EventParserTest, RiscSessionsRevokedIsSessionRevoked) {
  const auto e = event(event_type::kRiscSessionsRevoked, json::object());
  EXPECT_EQ(e.kind, EventKind::kSessionRevoked);
  EXPECT_EQ(e.event_type, event_type::kRiscSessionsRevoked);  // as sent
}

TEST(EventParserTest, SsfVerificationAndStreamUpdated) {
  const auto v = event(event_type::kVerification, {{"state", "VGhpcyBpcyBhbiBleGFtcGxl"}});
  EXPECT_EQ(v.kind, EventKind::kVerification);
  ASSERT_TRUE(v.verification.has_value());
  EXPECT_EQ(v.verification->state, "VGhpcyBpcyBhbiBleGFtcGxl");
  const auto no_state = event(event_type::kVerification, json::object());
  ASSERT_TRUE(no_state.verification.has_value());
  EXPECT_FALSE(no_state.verification->state.has_value());
  expectBadEvent(event_type::kVerification, {{"state", 5}});

  const auto u =
      event(event_type::kStreamUpdated, {{"status", "paused"}, {"reason", "maintenance"}});
  EXPECT_EQ(u.kind, EventKind::kStreamUpdated);
  ASSERT_TRUE(u.stream_updated.has_value());
  EXPECT_EQ(u.stream_updated->status, "paused");
  EXPECT_EQ(u.stream_updated->reason, "maintenance");
  expectBadEvent(event_type::kStreamUpdated, json::object());
}

TEST(EventParserTest, UnknownTypesAreIgnoredWholeEvenWithOddMembers) {
  // identity-standards §9.1: receivers ignore what they do not understand; members that
  // would be malformed on a CAEP event do not matter on an unknown one.
  const auto e = event("https://schemas.openid.net/secevent/caep/event-type/session-presented",
                       {{"event_timestamp", "not a date"}});
  EXPECT_EQ(e.kind, EventKind::kUnknown);
  EXPECT_FALSE(e.event_timestamp.has_value());
  EXPECT_EQ(e.payload["event_timestamp"], "not a date");
}

TEST(EventParserTest, OnlyAliasesMayShareASet) {
  SecurityEvent out;
  // identity-standards §9.1: exactly one event per SET, or aliases of one.
  EXPECT_FALSE(parseEvents({{std::string(event_type::kSessionRevoked), json::object()},
                            {std::string(event_type::kAccountDisabled), json::object()}},
                           out)
                   .ok());
  EXPECT_FALSE(parseEvents({{std::string(event_type::kSessionRevoked), json::object()},
                            {"https://example.com/unknown", json::object()}},
                           out)
                   .ok());
  EXPECT_FALSE(parseEvents({{"https://example.com/a", json::object()},
                            {"https://example.com/b", json::object()}},
                           out)
                   .ok());
  // Aliases of one event: whatever the order of the keys, the CAEP one is read.
  SecurityEvent aliased;
  ASSERT_TRUE(parseEvents({{std::string(event_type::kRiscSessionsRevoked), {{"x", 1}}},
                           {std::string(event_type::kSessionRevoked),
                            {{"initiating_entity", "admin"}}}},
                          aliased)
                  .ok());
  EXPECT_EQ(aliased.event_type, event_type::kSessionRevoked);
  EXPECT_EQ(aliased.initiating_entity, "admin");
}

TEST(EventKindTest, NamesAndUris) {
  EXPECT_EQ(eventKindFromUri(event_type::kRiskLevelChange), EventKind::kRiskLevelChange);
  EXPECT_EQ(eventKindFromUri("https://schemas.openid.net/secevent/caep/event-type/"),
            EventKind::kUnknown);
  EXPECT_EQ(eventKindName(EventKind::kAccountDisabled), "account-disabled");
  EXPECT_EQ(eventKindName(EventKind::kUnknown), "unknown");
}

}  // namespace
}  // namespace warden::ssf
