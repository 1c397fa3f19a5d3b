// `control_plane.portal:` in the server configuration: optional, strict, field-path errors.
#include <gtest/gtest.h>

#include "controlplane/api_config.h"

namespace warden::controlplane {
namespace {

const std::string kHead = R"(control_plane:
  listen: 127.0.0.1:8443
  tls: { svid: warden-server }
)";

Result<std::optional<ControlPlaneConfig>> parse(const std::string& portal) {
  return parseControlPlaneConfig(kHead + portal, "/etc/warden/server.yaml", "/var/lib/warden");
}

TEST(PortalConfigTest, AbsentMeansNoPortal) {
  auto c = parse("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE((*c)->portal.has_value());
}

TEST(PortalConfigTest, DirResolvesAgainstTheFileAndRedirectUrisAreKept) {
  auto c = parse(R"(  portal:
    dir: portal/dist
    redirect_uris: [http://localhost:5173/callback, https://dev.example/callback]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->portal.has_value());
  EXPECT_EQ((*c)->portal->dir, "/etc/warden/portal/dist");
  EXPECT_EQ(
      (*c)->portal->redirect_uris,
      (std::vector<std::string>{"http://localhost:5173/callback", "https://dev.example/callback"}));
}

TEST(PortalConfigTest, InvalidValuesNameTheField) {
  for (const auto& [yaml, field] : std::vector<std::pair<std::string, std::string>>{
           {"  portal: {}\n", "control_plane.portal.dir"},
           {"  portal: { dir: x, bogus: 1 }\n", "bogus"},
           {"  portal: { dir: x, redirect_uris: [http://evil.example/cb] }\n",
            "control_plane.portal.redirect_uris[0]"},
           {"  portal: { dir: x, redirect_uris: [\"https://a.example/cb#f\"] }\n",
            "control_plane.portal.redirect_uris[0]"},
       }) {
    auto c = parse(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find(field), std::string::npos) << c.error().message;
  }
}

TEST(PortalConfigTest, PublicUrlIsAnHttpsOriginOnly) {
  auto c = parse("  public_url: https://localhost:8443\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->public_url, "https://localhost:8443");
  EXPECT_TRUE(parse("")->value().public_url.empty()) << "default: https://<listen>";
  for (const char* bad : {"http://localhost:8443", "https://localhost:8443/", "https://localhost/x",
                          "https://LOCALHOST", "localhost:8443"}) {
    auto e = parse(std::string("  public_url: ") + bad + "\n");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().message.find("control_plane.public_url"), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace warden::controlplane
