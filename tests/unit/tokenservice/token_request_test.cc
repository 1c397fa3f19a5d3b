// Token endpoint request parsing: the form body (RFC 6749 §3.2, Appendix B) and the
// grant's parameters (RFC 6749 §4.4, RFC 7523, RFC 8693 §2.1, RFC 8707).
#include "tokenservice/token_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace warden::tokenservice {
namespace {

TEST(ParseForm, DecodesPercentEscapesAndPlus) {
  auto f = parseForm("grant_type=client_credentials&scope=api%3A%2F%2Fb%2F.default+x&a%20b=c");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->at("grant_type").front(), "client_credentials");
  EXPECT_EQ(f->at("scope").front(), "api://b/.default x");
  EXPECT_EQ(f->at("a b").front(), "c");
}

TEST(ParseForm, EmptyValuesCountAsAbsentButStillCountAsRepeats) {
  auto f = parseForm("client_id=&scope=s&flag");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_FALSE(f->contains("client_id"));
  EXPECT_FALSE(f->contains("flag"));
  EXPECT_FALSE(parseForm("client_id=&client_id=x").ok());
}

TEST(ParseForm, RefusesMalformedBodies) {
  struct Case {
    const char* body;
    const char* why;
  } cases[] = {
      {"grant_type=a&grant_type=a", "a repeated parameter, even with the same value"},
      {"client_assertion=x&client_assertion=y", "a repeated credential"},
      {"a=%zz", "a bad escape"},
      {"a=%4", "a truncated escape"},
      {"a=%", "a bare percent"},
      {"a=1&&b=2", "an empty pair"},
      {"&a=1", "a leading separator"},
      {"a=1&", "a trailing separator"},
      {"=x", "an empty name"},
      {"a=%C3%28", "invalid UTF-8"},
      {"a=%C0%AF", "an overlong UTF-8 form"},
      {"a=%ED%A0%80", "a UTF-16 surrogate"},
      {"a=x%0Ay", "a control character"},
      {"a=x%00y", "a NUL byte"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(parseForm(c.body).ok()) << c.why << ": " << c.body;
  }
  EXPECT_FALSE(parseForm(std::string(kMaxFormBytes + 1, 'a')).ok());
}

TEST(ParseForm, ResourceAndAudienceMayRepeat) {
  auto f = parseForm("resource=api%3A%2F%2Fa&resource=api%3A%2F%2Fb&audience=x&audience=y");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->at("resource").size(), 2u);
  EXPECT_EQ(f->at("audience").size(), 2u);
}

TEST(ContentType, OnlyFormUrlencodedInUtf8) {
  EXPECT_TRUE(isFormContentType("application/x-www-form-urlencoded"));
  EXPECT_TRUE(isFormContentType("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
  EXPECT_TRUE(isFormContentType("application/x-www-form-urlencoded;charset=\"utf-8\""));
  EXPECT_FALSE(isFormContentType(""));
  EXPECT_FALSE(isFormContentType("application/json"));
  EXPECT_FALSE(isFormContentType("multipart/form-data; boundary=x"));
  EXPECT_FALSE(isFormContentType("application/x-www-form-urlencoded; charset=latin1"));
  EXPECT_FALSE(isFormContentType("application/x-www-form-urlencoded; charset=utf-8; x=y"));
}

TEST(SplitScope, FollowsRfc6749Section33) {
  EXPECT_EQ(splitScope("a b").value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(splitScope("a  b").ok());
  EXPECT_FALSE(splitScope(" a").ok());
  EXPECT_FALSE(splitScope("a\"b").ok());
  EXPECT_FALSE(splitScope("a\\b").ok());
}

std::variant<TokenRequest, OAuthError> request(const std::string& body) {
  return parseTokenRequest(parseForm(body).value());
}

std::string errorOf(const std::variant<TokenRequest, OAuthError>& r) {
  const auto* e = std::get_if<OAuthError>(&r);
  return e == nullptr ? "ok" : std::string(e->name());
}

TEST(ParseTokenRequest, MapsMistakesToTheirErrorCodes) {
  struct Case {
    std::string body;
    std::string error;
  } cases[] = {
      {"", "invalid_request"},
      {"grant_type=password&username=a", "unsupported_grant_type"},
      {"grant_type=authorization_code&code=x", "unsupported_grant_type"},
      {"grant_type=client_credentials&client_assertion=x", "invalid_client"},
      {"grant_type=client_credentials&client_assertion_type=urn%3Aother&client_assertion=x",
       "invalid_client"},
      {"grant_type=client_credentials&scope=a%20%20b", "invalid_scope"},
      {"grant_type=client_credentials&subject_token=x", "invalid_request"},
      {"grant_type=client_credentials&audience=x", "invalid_request"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange", "invalid_request"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x",
       "invalid_request"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x"
       "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2",
       "invalid_request"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x"
       "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&actor_token=y",
       "invalid_request"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x"
       "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
       "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Arefresh_token",
       "invalid_request"},
      {"grant_type=client_credentials&client_id=a&unknown=ignored", "ok"},
      {"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x"
       "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"
       "&actor_token=y&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
       "&audience=api%3A%2F%2Fb",
       "ok"},
  };
  for (const auto& c : cases) EXPECT_EQ(errorOf(request(c.body)), c.error) << c.body;
}

TEST(OAuthError, StatusesBodiesAndSanitizedDescriptions) {
  EXPECT_EQ(oauthError(OAuthErrorCode::kInvalidClient, "").httpStatus(), 401u);
  EXPECT_EQ(oauthError(OAuthErrorCode::kAccessDenied, "").httpStatus(), 403u);
  EXPECT_EQ(oauthError(OAuthErrorCode::kSlowDown, "").httpStatus(), 429u);
  EXPECT_EQ(oauthError(OAuthErrorCode::kInvalidTarget, "").httpStatus(), 400u);
  EXPECT_EQ(oauthError(OAuthErrorCode::kInvalidGrant, "").httpStatus(), 400u);
  const auto body = nlohmann::json::parse(
      oauthError(OAuthErrorCode::kInvalidRequest, "sub \"x\\y\"\n\xc3\xa9").body());
  EXPECT_EQ(body["error"], "invalid_request");
  EXPECT_EQ(body["error_description"], "sub ?x?y????");
  EXPECT_EQ(sanitizeDescription(std::string(2000, 'a')).size(), 512u);
}

}  // namespace
}  // namespace warden::tokenservice
