// People from an external OpenID Connect provider call the API with its access tokens
// (issue 5: "a bearer token ... from a configured external IdP; roles admin and viewer").
// Tokens are minted by the test's own provider key (ES256, a jwks_file), shaped like
// Entra's (typ JWT, groups claim).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/control_plane_harness.h"

namespace warden::testing {
namespace {

using nlohmann::json;

class ControlPlaneOidcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::shared_ptr<EVP_PKEY>(jose::generateP256Key().release(), EVP_PKEY_free);
    json jwk;
    ASSERT_TRUE(jose::writePublicJwk(key_.get(), jwk).ok());
    kid_ = jose::jwkThumbprint(key_.get()).value();
    jwk["kid"] = kid_;
    controlplane::IdentityProviderConfig idp;
    idp.issuer.issuer = "https://login.example.com/tenant/v2.0";
    idp.issuer.jwks_file = writeFile(cp.dir.path(), "idp-jwks.json", json{{"keys", {jwk}}}.dump());
    idp.issuer.audiences = {"api://warden"};
    idp.issuer.algorithms = {"ES256"};
    idp.issuer.require_typ = "";
    idp.issuer.roles_claim = "groups";
    idp.admin_values = {"warden-admins"};
    idp.viewer_values = {"warden-viewers"};
    cp.identity_providers = {idp};
    cp.stop();
    cp.start();
  }

  std::string mint(const std::string& sub, json groups) const {
    const auto now = std::time(nullptr);
    json claims{{"iss", "https://login.example.com/tenant/v2.0"}, {"sub", sub}, {"aud", "api://warden"},
                {"iat", now}, {"exp", now + 600}, {"groups", groups}};
    return jose::signCompact(json{{"kid", kid_}, {"typ", "JWT"}}, claims, jose::Alg::kES256, key_.get()).value();
  }
  HttpResponse as(const std::string& token, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return cp.call(std::nullopt, method, target, body, "Authorization: Bearer " + token + "\r\n");
  }

  ControlPlane cp;
  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
};

TEST_F(ControlPlaneOidcTest, GroupsDecideTheRoleAndChangesNameThePerson) {
  const auto alice = mint("alice@example.com", {"warden-admins"});
  const auto who = ControlPlane::json(as(alice, "GET", "/api/v1/whoami"));
  EXPECT_EQ(who["role"], "admin");
  EXPECT_EQ(who["method"], "oidc");
  EXPECT_EQ(who["subject"], "alice@example.com");
  ASSERT_EQ(as(alice, "POST", "/api/v1/agents",
               R"({"name":"budget-report","spiffe_id":"spiffe://example.org/budget-report"})").status, 201);
  const auto changes = ControlPlane::json(cp.admin("GET", "/api/v1/changes?kind=agent"));
  ASSERT_FALSE(changes["changes"].empty());
  EXPECT_EQ(changes["changes"][0]["actor"]["subject"], "alice@example.com");
  EXPECT_EQ(changes["changes"][0]["actor"]["method"], "oidc");

  const auto bob = mint("bob@example.com", {"warden-viewers"});
  EXPECT_EQ(as(bob, "GET", "/api/v1/agents").status, 200);
  EXPECT_EQ(as(bob, "PUT", "/api/v1/agents/budget-report/risk", R"({"risk":"high"})").status, 403);
  // A person in no mapped group has no role at all.
  EXPECT_EQ(as(mint("eve@example.com", {"staff"}), "GET", "/api/v1/agents").status, 401);
}

}  // namespace
}  // namespace warden::testing
