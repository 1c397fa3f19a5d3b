// `control_plane.portal.sign_in_providers`: external OpenID Providers for the portal's
// sign-in (upstream_sign_in.h). Strict, defaults filled in, errors naming the field path.
#include <gtest/gtest.h>

#include "controlplane/api_config.h"

namespace warden::controlplane {
namespace {

const std::string kHead = R"(control_plane:
  listen: 127.0.0.1:8443
  tls: { svid: warden-server }
  portal:
    dir: portal/dist
    sign_in_providers:
)";

const std::string kMinimal = R"(      - name: corp-sso
        display_name: Corp SSO
        issuer: https://login.example.com/realms/corp
        client_id: warden
        client_secret_file: secrets/sso
        role_claim: groups
        admin_values: [warden-admins]
)";

Result<std::optional<ControlPlaneConfig>> parse(const std::string& providers) {
  return parseControlPlaneConfig(kHead + providers, "/etc/warden/server.yaml", "/var/lib/warden");
}

TEST(SignInProviderConfigTest, MinimalProviderGetsTheDefaults) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ((*c)->portal->sign_in_providers.size(), 1u);
  const auto& p = (*c)->portal->sign_in_providers[0];
  EXPECT_EQ(p.name, "corp-sso");
  EXPECT_EQ(p.display_name, "Corp SSO");
  EXPECT_EQ(p.issuer, "https://login.example.com/realms/corp");
  // OIDC Discovery §4: <issuer>/.well-known/openid-configuration.
  EXPECT_EQ(p.discovery, "https://login.example.com/realms/corp/.well-known/openid-configuration");
  EXPECT_EQ(p.client_secret_file, "/etc/warden/secrets/sso") << "relative to the config file";
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"openid", "profile", "email"}));
  EXPECT_EQ(p.role_claim, "groups");
  EXPECT_EQ(p.admin_values, (std::vector<std::string>{"warden-admins"}));
  EXPECT_TRUE(p.developer_values.empty());
  EXPECT_TRUE(p.subject_claim.empty()) << "preferred_username, then sub";
  EXPECT_TRUE(p.ca_file.empty());
}

TEST(SignInProviderConfigTest, EverythingSet) {
  auto c = parse(R"(      - name: entra
        display_name: Contoso (Entra ID)
        issuer: https://login.microsoftonline.com/tid/v2.0
        discovery: https://login.microsoftonline.com/tid/v2.0/.well-known/openid-configuration
        ca_file: /etc/ssl/corp.pem
        client_id: 11111111-2222-3333-4444-555555555555
        client_secret_file: /run/secrets/entra
        scopes: [openid, profile, offline_access]
        role_claim: roles
        admin_values: [Warden.Admin]
        developer_values: [Warden.Developer]
        viewer_values: [Warden.Viewer, Everyone]
        subject_claim: email
      - name: local-idp
        display_name: Local
        issuer: http://127.0.0.1:9000
        client_id: w
        client_secret_file: s
        role_claim: realm_access.roles
        viewer_values: [v]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& list = (*c)->portal->sign_in_providers;
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].ca_file, "/etc/ssl/corp.pem");
  EXPECT_EQ(list[0].scopes, (std::vector<std::string>{"openid", "profile", "offline_access"}));
  EXPECT_EQ(list[0].viewer_values, (std::vector<std::string>{"Warden.Viewer", "Everyone"}));
  EXPECT_EQ(list[0].subject_claim, "email");
  // Plain http to a loopback IP literal, as every Warden fetch allows (token/fetch_url.h).
  EXPECT_EQ(list[1].discovery, "http://127.0.0.1:9000/.well-known/openid-configuration");
  EXPECT_EQ(list[1].role_claim, "realm_access.roles");
}

TEST(SignInProviderConfigTest, InvalidValuesNameTheFieldPath) {
  const std::string p0 = "control_plane.portal.sign_in_providers[0]";
  auto with = [](const std::string& from, const std::string& to) {
    std::string out = kMinimal;
    out.replace(out.find(from), from.size(), to);
    return out;
  };
  for (const auto& [yaml, field] : std::vector<std::pair<std::string, std::string>>{
           {"      {}\n", "control_plane.portal.sign_in_providers"},
           {"      - 3\n", p0},
           {with("name: corp-sso", "name: Corp_SSO"), p0 + ".name"},
           {with("name: corp-sso", "name: a/b"), p0 + ".name"},
           {with("        display_name: Corp SSO\n", ""), p0 + ".display_name: is required"},
           {with("issuer: https://login.example.com/realms/corp",
                 "issuer: http://login.example.com"),
            p0 + ".issuer"},
           {with("issuer: https://login.example.com/realms/corp",
                 "issuer: https://login.example.com/?x=1"),
            p0 + ".issuer"},
           {with("issuer: https://login.example.com/realms/corp",
                 "issuer: https://login.example.com\n        discovery: http://10.0.0.1/d"),
            p0 + ".discovery"},
           {with("client_id: warden", "client_id: \"a b\""), p0 + ".client_id"},
           {with("        client_secret_file: secrets/sso\n", ""),
            p0 + ".client_secret_file: is required"},
           {with("        role_claim: groups\n", ""), p0 + ".role_claim: is required"},
           {with("admin_values: [warden-admins]", "admin_values: []"), p0 + ": map at least one"},
           {with("admin_values: [warden-admins]", "admin_values: [a, a]"), p0 + ".admin_values[1]"},
           {with("admin_values: [warden-admins]", "admin_values: warden-admins"),
            p0 + ".admin_values"},
           {kMinimal + "        scopes: [profile, email]\n", p0 + ".scopes: must include openid"},
           {kMinimal + "        scopes: [openid, \"a\\\"b\"]\n", p0 + ".scopes[1]"},
           {kMinimal + "        bogus: 1\n", "bogus"},
           {kMinimal + kMinimal, "control_plane.portal.sign_in_providers[1].name"},
       }) {
    auto c = parse(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find(field), std::string::npos)
        << "want " << field << " in: " << c.error().message;
  }
}

}  // namespace
}  // namespace warden::controlplane
