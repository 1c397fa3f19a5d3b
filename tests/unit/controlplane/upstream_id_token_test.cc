// The ID token checks of the portal's sign-in at external providers beyond the signature
// verifier's (upstream_id_token.h, OIDC Core §3.1.3.7), the subject and the role mapping.
#include <gtest/gtest.h>

#include "controlplane/upstream_id_token.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;

token::VerifiedToken verified(json claims, std::string alg = "ES256") {
  token::VerifiedToken t;
  t.alg = std::move(alg);
  t.issuer = "https://idp.example";
  t.subject = claims.value("sub", "");
  if (claims.contains("aud")) {
    if (claims["aud"].is_string()) {
      t.audiences = {claims["aud"].get<std::string>()};
    } else {
      for (const auto& a : claims["aud"])
        t.audiences.push_back(a.get<std::string>());
    }
  }
  if (claims.contains("groups")) {
    for (const auto& g : claims["groups"])
      t.roles.push_back(g.get<std::string>());
  }
  t.claims = std::move(claims);
  return t;
}

json good() {
  return {{"iss", "https://idp.example"},
          {"sub", "u-1"},
          {"aud", "warden"},
          {"iat", kNow - 5},
          {"exp", kNow + 300},
          {"nonce", "nonce-123"},
          {"preferred_username", "alice"}};
}

IdTokenExpectations expected() {
  IdTokenExpectations e;
  e.client_id = "warden";
  e.nonce = "nonce-123";
  e.algorithms = {"RS256", "ES256"};
  e.now = kNow;
  return e;
}

std::string checkError(const json& claims, const IdTokenExpectations& e = expected(),
                       const std::string& alg = "ES256") {
  const Status s = checkIdToken(verified(claims, alg), e);
  return s.ok() ? std::string() : s.message();
}

TEST(UpstreamIdTokenTest, AGoodTokenPasses) {
  EXPECT_EQ(checkError(good()), "");
}

// Item 7: the provider's advertised id_token_signing_alg_values_supported.
TEST(UpstreamIdTokenTest, AlgMustBeAdvertised) {
  EXPECT_NE(checkError(good(), expected(), "PS256").find("PS256"), std::string::npos);
  EXPECT_EQ(checkError(good(), expected(), "RS256"), "");
}

// Items 3-5: aud holds the client_id; several audiences need azp; azp names us.
TEST(UpstreamIdTokenTest, AudienceAndAuthorizedParty) {
  auto other = good();
  other["aud"] = "someone-else";
  EXPECT_NE(checkError(other).find("aud"), std::string::npos);
  auto several = good();
  several["aud"] = json::array({"warden", "other-api"});
  EXPECT_NE(checkError(several).find("azp"), std::string::npos);
  several["azp"] = "warden";
  EXPECT_EQ(checkError(several), "");
  auto foreign_azp = good();
  foreign_azp["azp"] = "other-client";
  EXPECT_NE(checkError(foreign_azp).find("azp"), std::string::npos);
}

// Item 10: iat is required and must be recent; OIDC Core §2: sub is required.
TEST(UpstreamIdTokenTest, IatAndSubAreRequired) {
  auto no_iat = good();
  no_iat.erase("iat");
  EXPECT_NE(checkError(no_iat).find("iat"), std::string::npos);
  auto old = good();
  old["iat"] = kNow - 3600;
  EXPECT_NE(checkError(old).find("iat"), std::string::npos);
  auto edge = good();
  edge["iat"] = kNow - 600 - 60;  // max_age plus skew
  EXPECT_EQ(checkError(edge), "");
  auto no_sub = good();
  no_sub.erase("sub");
  EXPECT_NE(checkError(no_sub).find("sub"), std::string::npos);
}

// Item 11: the nonce sent with this sign-in, so a token from another one cannot be injected.
TEST(UpstreamIdTokenTest, NonceMustEqualTheOneSent) {
  auto none = good();
  none.erase("nonce");
  EXPECT_NE(checkError(none).find("nonce missing"), std::string::npos);
  auto other = good();
  other["nonce"] = "nonce-124";
  EXPECT_NE(checkError(other).find("nonce does not match"), std::string::npos);
  auto longer = good();
  longer["nonce"] = "nonce-1234";
  EXPECT_NE(checkError(longer).find("nonce does not match"), std::string::npos);
  auto not_string = good();
  not_string["nonce"] = 123;
  EXPECT_FALSE(checkError(not_string).empty());
}

SignInProviderConfig provider() {
  SignInProviderConfig p;
  p.name = "corp";
  p.role_claim = "groups";
  p.admin_values = {"warden-admins"};
  p.developer_values = {"devs"};
  p.viewer_values = {"staff"};
  return p;
}

TEST(UpstreamIdTokenTest, SubjectIsPrefixedAndFallsBackToSub) {
  EXPECT_EQ(*upstreamSubject(good(), provider()), "corp:alice");
  auto no_name = good();
  no_name.erase("preferred_username");
  EXPECT_EQ(*upstreamSubject(no_name, provider()), "corp:u-1");
  auto empty_name = good();
  empty_name["preferred_username"] = "";
  EXPECT_EQ(*upstreamSubject(empty_name, provider()), "corp:u-1");
  auto p = provider();
  p.subject_claim = "email";
  auto with_email = good();
  with_email["email"] = "alice@example.com";
  EXPECT_EQ(*upstreamSubject(with_email, p), "corp:alice@example.com");
  // A configured claim does not fall back: the subject must be the one asked for.
  EXPECT_FALSE(upstreamSubject(good(), p).ok());
  auto control = good();
  control["preferred_username"] = "al\nice";
  EXPECT_FALSE(upstreamSubject(control, provider()).ok());
  auto huge = good();
  huge["preferred_username"] = std::string(300, 'a');
  EXPECT_FALSE(upstreamSubject(huge, provider()).ok());
}

TEST(UpstreamIdTokenTest, RoleMappingAdminWinsOverDeveloperOverViewer) {
  auto with_groups = [](json groups) {
    auto c = good();
    c["groups"] = std::move(groups);
    return verified(c);
  };
  EXPECT_EQ(upstreamRole(with_groups({"staff", "warden-admins", "devs"}), provider()),
            Role::kAdmin);
  EXPECT_EQ(upstreamRole(with_groups({"staff", "devs"}), provider()), Role::kDeveloper);
  EXPECT_EQ(upstreamRole(with_groups({"staff"}), provider()), Role::kViewer);
  EXPECT_EQ(upstreamRole(with_groups({"Warden-Admins", "other"}), provider()), Role::kNone)
      << "values compare exactly";
  EXPECT_EQ(upstreamRole(with_groups(json::array()), provider()), Role::kNone);
}

}  // namespace
}  // namespace warden::controlplane
