// People from an external OIDC provider: the token is verified like any access token
// (RFC 8725 via token::AccessTokenVerifier) and the role comes from the configured claim.
#include "controlplane/external_idp.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/test_pki.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

class ExternalIdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::shared_ptr<EVP_PKEY>(jose::generateP256Key().release(), EVP_PKEY_free);
    json jwk;
    ASSERT_TRUE(jose::writePublicJwk(key_.get(), jwk).ok());
    kid_ = jose::jwkThumbprint(key_.get()).value();
    jwk["kid"] = kid_;
    IdentityProviderConfig p;
    p.issuer.issuer = "https://login.example.com/tenant/v2.0";
    p.issuer.jwks_file = testing::writeFile(dir_.path(), "jwks.json", json{{"keys", {jwk}}}.dump());
    p.issuer.audiences = {"api://warden"};
    p.issuer.algorithms = {"ES256"};
    p.issuer.require_typ = "";  // Entra access tokens say "JWT"
    p.issuer.roles_claim = "groups";
    p.admin_values = {"warden-admins"};
    p.viewer_values = {"warden-viewers"};
    auto idps = ExternalIdentityProviders::create({p});
    ASSERT_TRUE(idps.ok()) << idps.error().message;
    idps_ = std::move(*idps);
    ASSERT_TRUE(idps_->waitReady(std::chrono::seconds(5)));
  }

  std::string mint(json groups, json extra = json::object()) const {
    const auto now = Clock::to_time_t(Clock::now());
    json claims{{"iss", "https://login.example.com/tenant/v2.0"}, {"sub", "alice@example.com"},
                {"aud", "api://warden"}, {"iat", now}, {"exp", now + 600}, {"groups", groups}};
    for (auto& [k, v] : extra.items()) claims[k] = v;
    return jose::signCompact(json{{"kid", kid_}, {"typ", "JWT"}}, claims, jose::Alg::kES256, key_.get()).value();
  }

  testing::TempDir dir_;
  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
  std::unique_ptr<ExternalIdentityProviders> idps_;
};

TEST_F(ExternalIdpTest, GroupsMapToRolesAdminFirst) {
  auto admin = idps_->authenticate(mint({"staff", "warden-admins", "warden-viewers"}), Clock::now());
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(admin->subject, "alice@example.com");
  EXPECT_EQ(admin->method, "oidc");
  auto viewer = idps_->authenticate(mint({"warden-viewers"}), Clock::now());
  ASSERT_TRUE(viewer.ok());
  EXPECT_EQ(viewer->role, Role::kViewer);
}

TEST_F(ExternalIdpTest, NoMappedGroupWrongAudienceExpiredOrForgedAreRefused) {
  EXPECT_FALSE(idps_->authenticate(mint({"staff"}), Clock::now()).ok());
  EXPECT_FALSE(idps_->authenticate(mint({"warden-admins"}, {{"aud", "api://other"}}), Clock::now()).ok());
  const auto now = Clock::to_time_t(Clock::now());
  EXPECT_FALSE(idps_->authenticate(mint({"warden-admins"}, {{"exp", now - 3600}}), Clock::now()).ok());
  std::string forged = mint({"warden-viewers"});
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(idps_->authenticate(forged, Clock::now()).ok());
  EXPECT_FALSE(idps_->authenticate(mint({"warden-admins"}, {{"iss", "https://evil.example"}}), Clock::now()).ok());
}

}  // namespace
}  // namespace warden::controlplane
