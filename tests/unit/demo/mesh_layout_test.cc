// The generated configuration of a demo mesh is what the real parsers accept: the same
// loaders `warden server` and `warden proxy` run at start.
#include "demo/mesh_layout.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "issuer/server_config.h"
#include "proxy/sidecar_config.h"
#include "tokenservice/config.h"

namespace warden::demo {
namespace {

namespace fs = std::filesystem;
const std::string kExample = std::string(WARDEN_SOURCE_DIR) + "/examples/budget/mesh.yaml";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class MeshLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = loadMeshConfig(kExample);
    ASSERT_TRUE(c.ok()) << c.error().message;
    config = *c;
    char tmpl[] = "/tmp/warden-layout-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { fs::remove_all(dir); }
  MeshConfig config;
  std::string dir;
};

TEST_F(MeshLayoutTest, PortsAreBasePlusFixedOffsetsAndDistinct) {
  auto l = planMesh(config, dir);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->api_port, 47100);
  EXPECT_EQ(l->token_port, 47101);
  EXPECT_EQ(l->oidc_port, 47102);
  EXPECT_EQ(l->bundle_ports.at("example.org"), 47103);
  EXPECT_EQ(l->bundle_ports.at("gcp.example"), 47104);
  EXPECT_EQ(l->agents[0].app, 47110);
  EXPECT_EQ(l->agents[1].egress, 47122);
  std::set<std::uint16_t> seen;
  for (const auto& p : l->ports(config)) EXPECT_TRUE(seen.insert(p.port).second) << p.what;
  EXPECT_EQ(l->apiUrl(config), "https://127.0.0.1:47100");
}

TEST_F(MeshLayoutTest, ARunDirectoryTooLongForSocketsIsRefused) {
  auto l = planMesh(config, "/tmp/" + std::string(120, 'x'));
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("too long for Unix socket paths"), std::string::npos) << l.error().message;
}

TEST_F(MeshLayoutTest, GeneratedConfigsLoadWithTheComponentsOwnParsers) {
  auto l = planMesh(config, dir);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(writeMeshFiles(config, *l).ok());

  for (const auto& td : config.trust_domains) {
    auto server = issuer::loadIdentityServerConfig(l->serverConfigPath(td));
    ASSERT_TRUE(server.ok()) << server.error().message;
    EXPECT_EQ(server->trust_domain, td);
    ASSERT_EQ(server->federation.size(), 1u) << "each domain federates with the other";
    EXPECT_NE(server->federation[0].trust_domain, td);
  }
  auto tokens = tokenservice::loadTokenServiceConfig(l->serverConfigPath("example.org"));
  ASSERT_TRUE(tokens.ok()) << tokens.error().message;
  ASSERT_TRUE(tokens->has_value());
  EXPECT_EQ((*tokens)->issuer, l->tokenIssuer(config));
  EXPECT_FALSE(tokenservice::loadTokenServiceConfig(l->serverConfigPath("gcp.example"))->has_value())
      << "the federated domain runs an issuer only";

  for (const auto& a : config.agents) {
    auto sidecar = proxy::loadSidecarConfig(l->sidecarConfigPath(a.name));
    ASSERT_TRUE(sidecar.ok()) << a.name << ": " << sidecar.error().message;
    EXPECT_EQ(sidecar->ingress.has_value(), a.ingress) << a.name;
    EXPECT_EQ(sidecar->control_plane.has_value(), a.trust_domain == "example.org") << a.name;
  }
}

TEST_F(MeshLayoutTest, TheSeedGetsTheStandInCredentialAndConcretePolicies) {
  auto l = planMesh(config, dir);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(writeMeshFiles(config, *l).ok());
  const auto seed = YAML::LoadFile(dir + "/seed.yaml");
  bool found = false;
  for (const auto& a : seed["agents"]) {
    if (a["name"].as<std::string>() != "github-budget-reader") continue;
    found = true;
    const auto cred = a["federated_credentials"][0];
    EXPECT_EQ(cred["issuer"].as<std::string>(), l->oidcIssuer(config));
    EXPECT_EQ(cred["subject"].as<std::string>(), "repo:acme/budget-tools:ref:refs/heads/main");
  }
  EXPECT_TRUE(found);
  for (const auto& kv : seed["policies"]) {
    const auto text = slurp(kv.second.as<std::string>());
    EXPECT_EQ(text.find("${"), std::string::npos) << kv.first.as<std::string>();
    EXPECT_NE(text.find(l->tokenIssuer(config) + "/.well-known/openid-configuration"), std::string::npos);
  }
  const auto mesh = slurp(l->meshJsonPath());
  EXPECT_NE(mesh.find("\"admin_socket\""), std::string::npos);
}

}  // namespace
}  // namespace warden::demo
